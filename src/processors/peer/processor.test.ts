import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GetHostLatencyEvent, NetEvent } from '../../core/event.js';
import { repoRoot } from '../../paths.js';
import { connectEvent } from '../../../test/helpers/events.js';
import { testContext } from '../../../test/helpers/enrich.js';
import { normalizeAddress } from '../../enrich/dns-cache.js';
import { peerConfigSchema } from './config.js';
import { peerProcessorFactory } from './factory.js';
import type { PeerProcessor } from './processor.js';

const T0 = 1_763_000_000_000_000_000n;
const MS = 1_000_000n;

function lookup(over: Partial<GetHostLatencyEvent> = {}): GetHostLatencyEvent {
  return {
    type: 'gethostlatency',
    timeUnixNano: T0,
    pid: 4711,
    tid: 4711,
    comm: 'curl',
    cgroupId: 1,
    func: 'getaddrinfo',
    host: 'api.example.com',
    latencyNs: 2_000_000,
    result: 'OK',
    addresses: ['203.0.113.10', '2001:db8::10'],
    ...over,
  };
}

function make(over: Record<string, unknown> = {}): PeerProcessor {
  return peerProcessorFactory.create(
    peerConfigSchema.parse({ kubernetes: false, dns_window_ms: 1_000, ...over }),
    testContext(),
  ) as PeerProcessor;
}

test('config defaults', () => {
  const c = peerConfigSchema.parse({});
  assert.equal(c.kubernetes, true);
  assert.equal(c.watch_all_pods, false);
  assert.equal(c.dns_window_ms, 30_000);
  assert.equal(c.dns_max_entries, 16_384);
  assert.equal(peerConfigSchema.safeParse({ dns_window: 5 }).success, false);
});

test('peer: DNS name attached to a later connect of the same pid; lookup event passed on unchanged', () => {
  const p = make();
  const l = lookup();
  assert.equal(p.process(l), l);
  const c = connectEvent({ pid: 4711, daddr: '203.0.113.10', timeUnixNano: T0 + 5n * MS });
  const out = p.process(c);
  assert.deepEqual(out.attributes, { 'server.address': 'api.example.com' });
  assert.equal(c.attributes, undefined, 'input not mutated');
  // IPv6 answer, tcpretrans and udpconnect too
  const r = p.process({
    type: 'tcpretrans',
    timeUnixNano: T0 + 6n * MS,
    pid: 4711,
    tid: 4712,
    comm: 'curl',
    cgroupId: 1,
    family: 'ipv6',
    saddr: '::1',
    sport: 1,
    daddr: '2001:db8::10',
    dport: 443,
    state: 'SYN_SENT',
    kind: 'rto',
  });
  assert.deepEqual(r.attributes, { 'server.address': 'api.example.com' });
  // v4-mapped v6 destination
  const m = p.process(
    connectEvent({ pid: 4711, family: 'ipv6', daddr: '::ffff:203.0.113.10', timeUnixNano: T0 + 7n * MS }),
  );
  assert.deepEqual(m.attributes, { 'server.address': 'api.example.com' });
  // existing attributes kept, server.address already set is not overwritten
  const keep = p.process({
    ...connectEvent({ pid: 4711, daddr: '203.0.113.10', timeUnixNano: T0 + 8n * MS }),
    attributes: { 'server.address': 'given' },
  });
  assert.deepEqual(keep.attributes, { 'server.address': 'given' });
});

test('peer: not attached after the window, nor for another pid, nor for an address not in the answer', () => {
  const p = make();
  p.process(lookup());
  const late = connectEvent({ pid: 4711, daddr: '203.0.113.10', timeUnixNano: T0 + 2n * MS + 1_000n * MS + 1n });
  assert.equal(p.process(late).attributes, undefined);
  const edge = connectEvent({ pid: 4711, daddr: '203.0.113.10', timeUnixNano: T0 + 2n * MS + 1_000n * MS });
  assert.deepEqual(p.process(edge).attributes, { 'server.address': 'api.example.com' });
  assert.equal(
    p.process(connectEvent({ pid: 999, daddr: '203.0.113.10', timeUnixNano: T0 + 5n * MS })).attributes,
    undefined,
  );
  assert.equal(
    p.process(connectEvent({ pid: 4711, daddr: '203.0.113.11', timeUnixNano: T0 + 5n * MS })).attributes,
    undefined,
  );
});

test('peer: same pod UID matches across pids (dns_match_pod), not when disabled', () => {
  const uid = 'pod-uid-1';
  const on = make();
  on.process({ ...lookup({ pid: 10 }), attributes: { 'k8s.pod.uid': uid } });
  const c: NetEvent = {
    ...connectEvent({ pid: 11, daddr: '203.0.113.10', timeUnixNano: T0 + MS }),
    attributes: { 'k8s.pod.uid': uid },
  };
  assert.deepEqual(on.process(c).attributes, { 'k8s.pod.uid': uid, 'server.address': 'api.example.com' });
  const off = make({ dns_match_pod: false });
  off.process({ ...lookup({ pid: 10 }), attributes: { 'k8s.pod.uid': uid } });
  assert.deepEqual(off.process(c).attributes, { 'k8s.pod.uid': uid });
});

test('peer: the DNS map is bounded (LRU): oldest entries evicted', () => {
  const p = make({ dns_max_entries: 100 });
  for (let i = 0; i < 500; i++)
    p.process(lookup({ pid: 1000 + i, host: `h${i}.example`, addresses: [`198.51.100.${i % 250}`] }));
  assert.equal(p.dns.size, 100);
  // the newest survives, the oldest is gone
  assert.deepEqual(p.process(connectEvent({ pid: 1499, daddr: '198.51.100.249', timeUnixNano: T0 + MS })).attributes, {
    'server.address': 'h499.example',
  });
  assert.equal(
    p.process(connectEvent({ pid: 1000, daddr: '198.51.100.0', timeUnixNano: T0 + MS })).attributes,
    undefined,
  );
});

test('peer: failed lookups without addresses and skbdrop events pass through untouched', () => {
  const p = make();
  const failed = lookup({ result: 'EAI_NONAME', addresses: [] });
  assert.equal(p.process(failed), failed);
  assert.equal(p.dns.size, 0);
  const drop: NetEvent = {
    type: 'skbdrop',
    timeUnixNano: T0,
    pid: 0,
    tid: 0,
    comm: 'swapper/0',
    cgroupId: 0,
    reason: 'NO_SOCKET',
    protocol: 'IPv4',
    location: 'x',
    stack: [],
  };
  assert.equal(p.process(drop), drop);
});

test('normalizeAddress table (testdata/addresses.json)', () => {
  const rows = JSON.parse(
    readFileSync(join(repoRoot(), 'src/processors/peer/testdata/addresses.json'), 'utf8'),
  ) as Array<[string, string]>;
  assert.equal(rows.length, 5);
  for (const [input, want] of rows) assert.equal(normalizeAddress(input), want, input);
});
