import { z } from 'zod';

const action = (dflt: 'hash' | 'drop' | 'keep', what: string) =>
  z
    .enum(['hash', 'drop', 'keep'])
    .default(dflt)
    .describe(
      `${what} hash: replaced by a truncated hex HMAC-SHA256 (SHA-256 without a key), the same value always giving the same text; drop: removed (required event fields become "", DNS answers []); keep: unchanged.`,
    );

export const redactConfigSchema = z
  .strictObject({
    addresses: action(
      'hash',
      'IP addresses: saddr, daddr, DNS answers (addresses), and the attributes network.peer.address, network.local.address, source.address, destination.address, client.address, host.ip, dns.answers.',
    ),
    host_names: action(
      'hash',
      'Host names: the looked-up name of gethostlatency (host) and the attributes server.address, dns.question.name.',
    ),
    comm: action('keep', 'Command names: comm and the attributes process.command, process.executable.name.'),
    command_line: action('drop', 'Command lines: the attributes process.command_line, process.command_args.'),
    hmac_key: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Secret key for HMAC-SHA256 hashing (write ${env:VAR} to keep it out of the file). Without a key (and without hmac_key_env), plain SHA-256 is used, which can be reversed by trying every IPv4 address: set a key in production.',
      ),
    hmac_key_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional()
      .describe(
        'Name of an environment variable holding the HMAC key, read at start; netspan refuses to start when it is unset or empty.',
      ),
    cache_size: z
      .int()
      .min(0)
      .max(1_000_000)
      .default(16_384)
      .describe(
        'Pseudonyms remembered per processor (value → hash), so recurring addresses and names are hashed once; 0 disables the cache. About 150 bytes each.',
      ),
    hash_length: z.int().min(8).max(64).default(16).describe('Hex characters kept from the hash (16 = 64 bits).'),
  })
  .superRefine((c, ctx) => {
    if (c.hmac_key !== undefined && c.hmac_key_env !== undefined)
      ctx.addIssue({ code: 'custom', path: ['hmac_key_env'], message: 'set hmac_key or hmac_key_env, not both' });
  })
  .prefault({})
  .describe(
    'Pseudonymises or removes addresses, host names, command names and command lines. Returns a copy; the original event (shared with other pipelines) is untouched.',
  );

export type RedactConfig = z.infer<typeof redactConfigSchema>;
export type RedactAction = RedactConfig['addresses'];
