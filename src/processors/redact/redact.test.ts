import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import type { NetEvent } from '../../core/event.js';
import { toJsonLine } from '../../core/encode.js';
import {
  frozen,
  gethostlatency,
  k8s,
  processorContext,
  skbdrop,
  soconnect,
  tcpretrans,
  udpconnect,
} from '../../../test/helpers/more-events.js';
import { redactProcessorFactory } from './factory.js';
import type { RedactProcessor } from './redact.js';

function redactor(config: unknown, env: Record<string, string> = {}): RedactProcessor {
  return redactProcessorFactory.create(
    redactProcessorFactory.configSchema.parse(config),
    processorContext('redact/t', env),
  ) as RedactProcessor;
}

const CMDLINE = '/usr/bin/wget --header=Authorization:hunter2 https://api.example.com/v1';
const SECRETS = [
  '10.244.1.5',
  '10.96.0.20',
  'fd00:10::5',
  'fd00:96::20',
  '192.168.1.9',
  '203.0.113.7',
  '198.51.100.4',
  'api.example.com',
  'db.internal.example',
  'wget',
  'hunter2',
  CMDLINE,
];

const attrs = {
  ...k8s('shop', 'web-0'),
  'network.peer.address': '203.0.113.7',
  'server.address': 'db.internal.example',
  'process.command': 'wget',
  'process.executable.name': 'wget',
  'process.command_line': CMDLINE,
  'process.command_args': ['/usr/bin/wget', '--header=Authorization:hunter2'],
  'host.ip': ['198.51.100.4'],
};

const sensitive: NetEvent[] = [
  soconnect({ comm: 'wget', saddr: '10.244.1.5', daddr: '10.96.0.20', attributes: attrs }),
  soconnect({ comm: 'wget', family: 'ipv6', saddr: 'fd00:10::5', daddr: 'fd00:96::20' }),
  soconnect({ comm: 'wget', family: 'ipv6', saddr: '::ffff:10.244.1.5', daddr: '::ffff:10.96.0.20' }),
  udpconnect({ comm: 'wget', saddr: '10.244.1.5', daddr: '192.168.1.9', attributes: attrs }),
  tcpretrans({ comm: 'wget', saddr: '10.244.1.5', daddr: '10.96.0.20' }),
  gethostlatency({
    comm: 'wget',
    host: 'api.example.com',
    addresses: ['10.96.0.20', 'fd00:96::20', '203.0.113.7'],
    attributes: attrs,
  }),
  skbdrop({ comm: 'wget', saddr: '192.168.1.9', daddr: '10.244.1.5', attributes: attrs }),
].map(frozen);

for (const [name, config] of [
  ['hash everything (SHA-256)', { comm: 'hash', command_line: 'hash' }],
  ['hash everything (HMAC key)', { comm: 'hash', command_line: 'hash', hmac_key: 's3cret' }],
  ['drop everything', { addresses: 'drop', host_names: 'drop', comm: 'drop', command_line: 'drop' }],
  ['defaults + hash comm', { comm: 'hash' }],
] as const) {
  test(`redact: ${name} — no original value anywhere in the output JSON`, () => {
    const p = redactor(config);
    for (const e of sensitive) {
      const before = toJsonLine(e);
      const out = p.process(e);
      assert.notEqual(out, e, 'returns a copy');
      assert.equal(toJsonLine(e), before, 'input untouched');
      const json = toJsonLine(out);
      for (const s of SECRETS) assert.ok(!json.includes(s), `${e.type} leaks ${s}: ${json}`);
      assert.ok(json.includes('"k8s.pod.name":"web-0"') || !e.attributes, 'other attributes survive');
    }
  });
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
const hmac = (s: string, n = 16) => createHmac('sha256', 'k3y').update(s).digest('hex').slice(0, n);

const exact: [
  name: string,
  config: unknown,
  env: Record<string, string>,
  input: NetEvent,
  want: Record<string, unknown>,
][] = [
  [
    'default: addresses and host names hashed, comm kept, command line dropped',
    {},
    {},
    soconnect({
      saddr: '10.244.1.5',
      daddr: '10.96.0.20',
      attributes: { 'process.command_line': CMDLINE, 'k8s.pod.name': 'web-0' },
    }),
    { saddr: sha('10.244.1.5'), daddr: sha('10.96.0.20'), comm: 'curl', attributes: { 'k8s.pod.name': 'web-0' } },
  ],
  [
    'HMAC with a key from the environment, 32 hex characters',
    { hmac_key_env: 'NETSPAN_REDACT_KEY', hash_length: 32 },
    { NETSPAN_REDACT_KEY: 'k3y' },
    gethostlatency({ host: 'api.example.com', addresses: ['10.96.0.20'] }),
    { host: hmac('api.example.com', 32), addresses: [hmac('10.96.0.20', 32)] },
  ],
  [
    'HMAC key in the config; IPv4-mapped addresses hash like IPv4',
    { hmac_key: 'k3y' },
    {},
    soconnect({ family: 'ipv6', saddr: '::ffff:10.244.1.5', daddr: '::ffff:10.96.0.20' }),
    { saddr: hmac('10.244.1.5'), daddr: hmac('10.96.0.20') },
  ],
  [
    'drop: required fields become "", optional ones disappear',
    { addresses: 'drop', host_names: 'drop', comm: 'drop' },
    {},
    skbdrop({ saddr: '192.168.1.9', daddr: '10.244.1.5' }),
    { comm: '', saddr: undefined, daddr: undefined, sport: 40000 },
  ],
  [
    'drop: DNS answers become an empty list, host ""',
    { addresses: 'drop', host_names: 'drop' },
    {},
    gethostlatency({ host: 'api.example.com', addresses: ['10.96.0.20'] }),
    { host: '', addresses: [] },
  ],
  [
    'keep: nothing changes',
    { addresses: 'keep', host_names: 'keep', comm: 'keep', command_line: 'keep' },
    {},
    udpconnect({ saddr: '10.244.1.5', attributes: { 'server.address': 'dns.local', 'process.command_line': 'x' } }),
    { saddr: '10.244.1.5', attributes: { 'server.address': 'dns.local', 'process.command_line': 'x' } },
  ],
  [
    'attributes: strings and string lists are hashed per element',
    { comm: 'hash', command_line: 'hash' },
    {},
    tcpretrans({
      comm: 'swapper/0',
      saddr: '10.244.1.5',
      daddr: '10.96.0.20',
      attributes: {
        'network.peer.address': '203.0.113.7',
        'dns.answers': ['10.0.0.1', '10.0.0.2'],
        'process.command_args': ['a'],
        'process.command': 'x',
      },
    }),
    {
      comm: sha('swapper/0'),
      saddr: sha('10.244.1.5'),
      daddr: sha('10.96.0.20'),
      attributes: {
        'network.peer.address': sha('203.0.113.7'),
        'dns.answers': [sha('10.0.0.1'), sha('10.0.0.2')],
        'process.command_args': [sha('a')],
        'process.command': sha('x'),
      },
    },
  ],
];

for (const [name, config, env, input, want] of exact) {
  test(`redact: ${name}`, () => {
    const e = frozen(input);
    const out = redactor(config, env).process(e) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) assert.deepEqual(out[k], v, k);
    // Every field not named in `want` is the input's.
    for (const [k, v] of Object.entries(e)) if (!(k in want)) assert.deepEqual(out[k], v, k);
  });
}

for (const cache_size of [16_384, 100, 0]) {
  test(`redact: the same value always gets the same pseudonym, distinct values distinct ones (cache_size ${cache_size})`, () => {
    const p = redactor({ hmac_key: 'k3y', cache_size });
    const seen = new Map<string, string>();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i++) {
        const v = `10.${i >> 8}.0.${i & 255}`;
        const h = p.hash(v);
        assert.equal(h, hmac(v));
        if (round === 1) assert.equal(seen.get(v), h);
        seen.set(v, h);
      }
    }
    assert.equal(new Set(seen.values()).size, 3000);
  });
}

test('redact: an unset hmac_key_env refuses to start instead of falling back to plain SHA-256', () => {
  assert.throws(
    () => redactor({ hmac_key_env: 'NETSPAN_REDACT_KEY' }, {}),
    /environment variable NETSPAN_REDACT_KEY \(hmac_key_env\) is not set or empty/,
  );
  assert.throws(() => redactor({ hmac_key_env: 'NETSPAN_REDACT_KEY' }, { NETSPAN_REDACT_KEY: '' }), /not set or empty/);
});
