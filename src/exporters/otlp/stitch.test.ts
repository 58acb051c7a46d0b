import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../telemetry/log.js';
import { Telemetry } from '../../telemetry/internal-events.js';
import { connect, dns, drop, ms, retrans, T0 } from '../../../test/helpers/otlp-events.js';
import { Stitcher, tupleKey, type StitchOptions } from './stitch.js';
import { OtlpTelemetry } from './telemetry.js';

function make(over: Partial<StitchOptions> = {}) {
  const tel = new OtlpTelemetry(new Telemetry(silentLogger()), 'otlp');
  const st = new Stitcher({ enabled: true, windowMs: 1_000, connectTtlMs: 10_000, maxEntries: 3, ...over }, tel);
  const count = (kind: string, outcome: string) => tel.counters.stitches.get({ exporter: 'otlp', kind, outcome });
  return { st, tel, count };
}

test('every map is bounded: oldest DNS answers and connects are evicted and counted', () => {
  const { st, tel } = make();
  for (let i = 0; i < 10; i++) st.add(dns({ pid: 1000 + i, addresses: [`10.9.0.${i}`] }), 0);
  for (let i = 0; i < 10; i++) st.add(connect({ pid: 2000 + i, sport: 20_000 + i }), 0);
  assert.deepEqual(st.sizes(), { dns: 3, connects: 3, held: 0, heldIndex: 0 });
  assert.equal(tel.counters.evictions.get({ exporter: 'otlp', map: 'dns' }), 7);
  assert.equal(tel.counters.evictions.get({ exporter: 'otlp', map: 'connects' }), 7);
  // the newest lookup still matches, an evicted one no longer does
  const [newest] = st.add(connect({ pid: 1009, daddr: '10.9.0.9', sport: 1, timeUnixNano: T0 + ms(3) }), 0);
  assert.equal(newest!.span!.serverAddress, 'api.example.com');
  const [evicted] = st.add(connect({ pid: 1000, daddr: '10.9.0.0', sport: 2, timeUnixNano: T0 + ms(3) }), 0);
  assert.equal(evicted!.span!.serverAddress, undefined);
});

test('a full large map evicts the oldest sixteenth at once (one walk past the deleted slots, not one per insert)', () => {
  const { st, tel } = make({ maxEntries: 64 });
  for (let i = 0; i < 64; i++) st.add(connect({ sport: 10_000 + i }), 0);
  assert.equal(st.sizes().connects, 64);
  st.add(connect({ sport: 20_000 }), 0);
  assert.equal(st.sizes().connects, 60, '65 - 1 over the bound - 4 (64 / 16)');
  assert.equal(tel.counters.evictions.get({ exporter: 'otlp', map: 'connects' }), 5);
  for (let i = 1; i <= 4; i++) st.add(connect({ sport: 20_000 + i }), 0);
  assert.equal(tel.counters.evictions.get({ exporter: 'otlp', map: 'connects' }), 5, 'room left: no eviction');
  // the oldest five are gone, the sixth and the newest still place retransmits into their connects
  const [gone] = st.add(retrans({ sport: 10_004, daddr: '10.0.0.5', state: 'ESTABLISHED' }), 0);
  const [kept] = st.add(retrans({ sport: 10_005, daddr: '10.0.0.5', state: 'ESTABLISHED' }), 0);
  const [newest] = st.add(retrans({ sport: 20_004, daddr: '10.0.0.5', state: 'ESTABLISHED' }), 0);
  assert.deepEqual(
    [gone, kept, newest].map((p) => p!.span?.links.length),
    [0, 1, 1],
  );
});

test('held retransmits are bounded: overflow releases the oldest as a standalone span', () => {
  const { st, count } = make();
  const released = [];
  for (let i = 0; i < 5; i++) released.push(...st.add(retrans({ sport: 100 + i }), 0));
  assert.equal(st.held, 3);
  assert.deepEqual(
    released.map((p) => [p.event.type === 'tcpretrans' && p.event.sport, p.span !== undefined, p.span?.parent?.spanId]),
    [
      [100, true, undefined],
      [101, true, undefined],
    ],
  );
  assert.equal(count('retransmit', 'overflow'), 2);
  assert.equal(st.sizes().heldIndex, 3);
});

test('expiry uses the processing clock; a drop indexed under both directions is removed from both', () => {
  const { st, count } = make({ maxEntries: 100 });
  assert.deepEqual(st.add(drop(), 0), []);
  assert.deepEqual(st.sizes(), { dns: 0, connects: 0, held: 1, heldIndex: 2 });
  assert.deepEqual(st.expire(999), []);
  const out = st.expire(1_000);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.event.type, 'skbdrop');
  assert.deepEqual(st.sizes(), { dns: 0, connects: 0, held: 0, heldIndex: 0 });
  assert.equal(count('drop', 'expired'), 1);
  // connects expire after connect_ttl_ms: a later retransmit is no longer linked
  st.add(connect({ sport: 40010, daddr: '10.0.0.7' }), 0);
  const [linked] = st.add(retrans({ state: 'ESTABLISHED' }), 9_999);
  assert.ok(linked!.span!.parent?.spanId);
  st.expire(10_000);
  const [alone] = st.add(retrans({ state: 'ESTABLISHED' }), 10_000);
  assert.equal(alone!.span!.parent?.spanId, undefined);
  assert.equal(st.sizes().connects, 0);
});

test('a held retransmit outside the connect’s time range is linked, not absorbed; UDP connects never absorb', () => {
  const { st, count } = make();
  st.add(retrans({ timeUnixNano: T0 + ms(5_000) }), 0);
  const out = st.add(connect({ sport: 40010, daddr: '10.0.0.7', timeUnixNano: T0, latencyNs: 1_000_000 }), 0);
  assert.equal(out.length, 2);
  assert.deepEqual(out[0]!.span!.absorbed, []);
  assert.equal(out[1]!.span!.parent?.spanId, out[0]!.span!.ref.spanId);
  assert.equal(out[1]!.span!.ref.traceId, out[0]!.span!.ref.traceId);
  assert.equal(count('retransmit', 'linked'), 1);
  assert.equal(count('retransmit', 'absorbed'), 0);
});

test('disabled: every event is its own trace, nothing is held', () => {
  const { st } = make({ enabled: false });
  const a = st.add(dns(), 0);
  const b = st.add(connect(), 0);
  const c = st.add(retrans(), 0);
  assert.equal(st.held, 0);
  assert.notEqual(a[0]!.ctx.traceId, b[0]!.ctx.traceId);
  assert.equal(b[0]!.span!.parent?.spanId, undefined);
  assert.equal(c.length, 1);
});

test('drain releases everything held (shutdown) and empties all maps', () => {
  const { st, count } = make({ maxEntries: 100 });
  st.add(dns(), 0);
  st.add(retrans({ sport: 1 }), 0);
  st.add(retrans({ sport: 2 }), 0);
  const out = st.drain();
  assert.equal(out.length, 2);
  assert.deepEqual(st.sizes(), { dns: 0, connects: 0, held: 0, heldIndex: 0 });
  assert.equal(count('retransmit', 'shutdown'), 2);
});

test('IPv4-mapped addresses (a dual-stack socket) are the same 4-tuple as IPv4: a retransmit and a reversed drop link to the connect', () => {
  const { st, count } = make({ maxEntries: 100 });
  const [c] = st.add(connect({ family: 'ipv6', saddr: '::ffff:10.0.0.1', sport: 40010, daddr: '::ffff:10.0.0.7' }), 0);
  const [r] = st.add(retrans({ state: 'ESTABLISHED' }), 0);
  const [d] = st.add(drop(), 0);
  assert.deepEqual(
    [r, d].map((p) => p!.span!.parent?.spanId),
    [c!.span!.ref.spanId, c!.span!.ref.spanId],
  );
  assert.equal(count('retransmit', 'linked'), 1);
  assert.equal(count('drop', 'linked'), 1);
});

/** Two source addresses whose 4-tuples (saddr:40010 → 10.0.0.7:443) have the same map key. */
function collidingSources(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; i < 1 << 22; i++) {
    const saddr = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const k = tupleKey(saddr, 40010, '10.0.0.7', 443);
    const other = seen.get(k);
    if (other !== undefined) return [other, saddr];
    seen.set(k, saddr);
  }
  throw new Error('no collision');
}

test('4-tuples whose map keys collide never match each other: the newer connect takes the slot (counted as evicted)', () => {
  const { st, tel, count } = make({ maxEntries: 100 });
  const [a, b] = collidingSources();
  const tuple = (saddr: string) => ({ saddr, sport: 40010, daddr: '10.0.0.7', dport: 443 });
  assert.notEqual(a, b);
  assert.equal(tupleKey(a, 40010, '10.0.0.7', 443), tupleKey(b, 40010, '10.0.0.7', 443));
  // a SYN retransmit of A waits; B's connect (same key) does not take it
  st.add(retrans(tuple(a)), 0);
  const outB = st.add(connect(tuple(b)), 0);
  assert.equal(outB.length, 1);
  assert.equal(st.held, 1);
  // A's connect takes its retransmit, and B's slot
  const outA = st.add(connect(tuple(a)), 0);
  assert.deepEqual(
    outA.map((p) => p.event.type),
    ['soconnect', 'tcpretrans'],
  );
  assert.equal(st.held, 0);
  assert.equal(tel.counters.evictions.get({ exporter: 'otlp', map: 'connects' }), 1);
  // a later retransmit of B finds A in the slot: not linked to A
  const [lateB] = st.add(retrans({ ...tuple(b), state: 'ESTABLISHED' }), 0);
  assert.equal(lateB!.span!.parent?.spanId, undefined);
  assert.equal(count('retransmit', 'standalone'), 1);
  assert.equal(count('retransmit', 'linked'), 1);
});
