import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES, type NetEvent } from './event.js';
import { rfc3339Nano, toJsonLine, toJsonObject } from './encode.js';
import { eventJsonSchemas, jsonSchemaDocument } from './json-schema.js';
import { repoRoot } from '../paths.js';
import { connectEvent } from '../../test/helpers/events.js';

test('RFC 3339 with nanoseconds', () => {
  assert.equal(rfc3339Nano(1_763_766_123_456_789_012n), '2025-11-21T23:02:03.456789012Z');
  assert.equal(rfc3339Nano(1_000_000_000n), '1970-01-01T00:00:01.000000000Z');
});

test('JSON form: type first, schema_version, snake_case, bigint as string, hostile strings escaped', () => {
  const e = connectEvent({
    comm: 'a"b\\c\n\t\u0001\ufffd',
    timeUnixNano: 1_763_766_123_456_789_012n,
    attributes: { 'k8s.pod.name': 'web-1' },
  });
  const line = toJsonLine(e);
  assert.ok(!line.includes('\n'));
  assert.ok(line.startsWith('{"type":"soconnect","schema_version":1,"time":"2025-11-21T23:02:03.456789012Z"'));
  const back = JSON.parse(line) as Record<string, unknown>;
  assert.equal(back.comm, 'a"b\\c\n\t\u0001\ufffd');
  assert.equal(back.time_unix_nano, '1763766123456789012');
  assert.equal(back.cgroup_id, 1);
  assert.equal(back.latency_ns, 120000);
  assert.equal(back.non_blocking, true);
  assert.deepEqual(back.attributes, { 'k8s.pod.name': 'web-1' });
});

const samples: NetEvent[] = [
  connectEvent(),
  {
    type: 'udpconnect',
    timeUnixNano: 1n,
    pid: 1,
    tid: 1,
    comm: 'dig',
    cgroupId: 0,
    family: 'ipv6',
    saddr: '::1',
    sport: 5000,
    daddr: '::1',
    dport: 53,
    result: 'OK',
    latencyNs: 900,
  },
  {
    type: 'tcpretrans',
    timeUnixNano: 1n,
    pid: 0,
    tid: 0,
    comm: 'swapper/0',
    cgroupId: 0,
    family: 'ipv4',
    saddr: '10.0.0.1',
    sport: 1,
    daddr: '10.0.0.2',
    dport: 2,
    state: 'SYN_SENT',
    kind: 'rto',
  },
  {
    type: 'gethostlatency',
    timeUnixNano: 1n,
    pid: 9,
    tid: 10,
    comm: 'curl',
    cgroupId: 5,
    func: 'getaddrinfo',
    host: 'payments.test',
    latencyNs: 40_000_000,
    result: 'OK',
    addresses: ['10.0.3.7', 'fd00::7'],
  },
  {
    type: 'skbdrop',
    timeUnixNano: 1n,
    pid: 0,
    tid: 0,
    comm: 'swapper/1',
    cgroupId: 0,
    reason: 'NETFILTER_DROP',
    protocol: 'IPv4',
    location: 'nf_hook_slow+0x9e',
    stack: ['kfree_skb_reason+0x1', 'nf_hook_slow+0x9e'],
    family: 'ipv4',
    saddr: '10.0.0.1',
    daddr: '10.0.0.2',
    l4Protocol: 'TCP',
    sport: 1,
    dport: 2,
  },
];

test('every event type encodes to JSON that its published schema accepts', () => {
  for (const e of samples) {
    const r = eventJsonSchemas[e.type].safeParse(toJsonObject(e));
    assert.ok(r.success, `${e.type}: ${JSON.stringify(!r.success && r.error.issues)}`);
  }
  const bad = eventJsonSchemas.soconnect.safeParse({ ...toJsonObject(samples[0]!), extra: 1 });
  assert.equal(bad.success, false);
});

test('schema/events/*.schema.json are current (regenerate with `npm run schemas`)', () => {
  for (const t of EVENT_TYPES) {
    const file = JSON.parse(readFileSync(join(repoRoot(), 'schema/events', `${t}.schema.json`), 'utf8')) as unknown;
    assert.deepEqual(file, JSON.parse(JSON.stringify(jsonSchemaDocument(t))), `${t}.schema.json is stale`);
  }
});

test('toJsonLine is JSON.stringify(toJsonObject(e)) byte for byte (all types, attributes, hostile strings, odd numbers)', () => {
  const hostile = 'a"b\\c\n\t\u0001\u2028\ud800 é';
  const extra: NetEvent[] = [
    connectEvent({ comm: hostile, attributes: { 'k8s.pod.name': hostile, n: 1.5, ok: true, list: ['x', hostile] } }),
    connectEvent({ latencyNs: Number.NaN, sport: -0 }),
    // values the attribute writer does not write itself: JSON.stringify of the whole object
    connectEvent({ attributes: { a: 'x', b: null, c: { d: 1 }, e: undefined, f: [1, 'y'] } as never }),
    connectEvent({ attributes: { a: undefined, b: Number.POSITIVE_INFINITY, c: -0, d: [] } as never }),
    connectEvent({ attributes: {} }),
    { ...samples[4]!, saddr: undefined, daddr: undefined, family: undefined } as NetEvent,
  ];
  for (const e of [...samples, ...extra]) assert.equal(toJsonLine(e), JSON.stringify(toJsonObject(e)));
});

test('rfc3339Nano agrees with the Date-based conversion across second boundaries and out of order', () => {
  const slow = (n: bigint): string => {
    const iso = new Date(Number(n / 1_000_000n)).toISOString();
    return `${iso.slice(0, 23)}${String(Number(n % 1_000_000n)).padStart(6, '0')}Z`;
  };
  const base = 1_763_766_123_000_000_000n;
  const values = [
    base - 1n,
    base,
    base + 1n,
    base + 999_999_999n,
    base + 1_000_000_000n,
    base - 1n,
    0n,
    999n,
    base + 86_400_000_000_000n,
  ];
  for (let i = 0; i < 2000; i++) values.push(base + BigInt(Math.floor(Math.random() * 5e9)));
  for (const v of values) assert.equal(rfc3339Nano(v), slow(v), String(v));
});

test('toJsonLine writes the keys in schema order whatever the order of the event object, and only schema keys', () => {
  const withAttrs = samples.map((e) => ({ ...e, attributes: { 'k8s.pod.name': 'p', n: 2 } }));
  for (const e of [...samples, ...withAttrs]) {
    // the same event with its keys in reverse order, plus a key the schema does not have
    const reversed = Object.fromEntries([...Object.entries(e).reverse(), ['notInSchema', 1]]) as unknown as NetEvent;
    const line = toJsonLine(reversed);
    assert.equal(line, toJsonLine(e));
    const back = JSON.parse(line) as Record<string, unknown>;
    const expected = toJsonObject(e);
    assert.deepEqual(back, expected);
    const order = Object.keys(eventJsonSchemas[e.type].shape).filter((k) => k in expected);
    assert.deepEqual(Object.keys(back), order, e.type);
  }
});

test('toJsonLine = JSON.stringify(toJsonObject(e)) for arbitrary strings, numbers and times (property)', () => {
  const str = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constant(''));
  const num = fc.oneof(
    fc.integer({ min: 0, max: 0x7fffffff }),
    fc.integer(),
    fc.double(),
    fc.constantFrom(2 ** 31, 2 ** 53, -0, 1e21, Number.NaN, Number.POSITIVE_INFINITY),
  );
  const time = fc.oneof(
    fc.bigInt({ min: 0n, max: 2_000_000_000n }),
    fc.bigInt({ min: 1_700_000_000_000_000_000n, max: 1_900_000_000_000_000_000n }),
    fc.bigInt({ min: -5_000_000_000n, max: -1n }),
  );
  const attrs = fc.option(fc.dictionary(str, fc.oneof(str, num, fc.boolean(), fc.array(str, { maxLength: 3 }))), {
    nil: undefined,
  });
  const event = fc
    .record({ time, pid: num, comm: str, a: str, b: str, n: num, list: fc.array(str, { maxLength: 4 }), attrs })
    .chain(({ time: t, pid, comm, a, b, n, list, attrs: at }) =>
      fc.constantFrom<NetEvent[]>([
        { ...samples[0]!, timeUnixNano: t, pid, comm, saddr: a, result: b, latencyNs: n, attributes: at },
        { ...samples[3]!, timeUnixNano: t, tid: pid, host: a, func: b, latencyNs: n, addresses: list },
        { ...samples[4]!, timeUnixNano: t, cgroupId: n, reason: a, stack: list, saddr: b, sport: pid },
      ] as NetEvent[]),
    );
  fc.assert(
    fc.property(event, (es) => {
      for (const e of es) {
        if (e.attributes === undefined) delete e.attributes;
        assert.equal(toJsonLine(e), JSON.stringify(toJsonObject(e)));
      }
    }),
    { seed: 3, numRuns: 5_000 },
  );
});
