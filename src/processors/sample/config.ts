import { z } from 'zod';

export const sampleConfigSchema = z
  .strictObject({
    ratio: z
      .number()
      .refine((r) => r >= 0 && r <= 1, 'must be between 0 and 1')
      .describe('Share of sampling units to keep, between 0 (none) and 1 (all).'),
    key: z
      .enum(['peer', 'connection'])
      .default('peer')
      .describe(
        'Sampling unit. peer: the remote address — a connection, its retransmits and the DNS lookup that resolved its address are kept or dropped together (all traffic to one address shares the decision). connection: the 4-tuple — finer, each connection on its own with its retransmits and packet drops, but DNS lookups are sampled separately (by pid and host name).',
      ),
    hash_seed: z
      .int()
      .min(0)
      .max(0xffffffff)
      .default(0)
      .describe(
        'Seed of the sampling hash. Instances with the same seed and ratio make the same decisions (across pipelines, restarts and nodes); use different seeds for independent layers of sampling.',
      ),
  })
  .describe(
    'Deterministic sampling: hashes a key of each event and keeps it when the hash falls below ratio. Stateless, so the decision for a connection is the same in every pipeline and on every node. Discards are counted as netspan_events_discarded_total{reason="sampled_out"}.',
  );

export type SampleConfig = z.infer<typeof sampleConfigSchema>;
