import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../telemetry/log.js';
import { Telemetry } from '../../telemetry/internal-events.js';
import { connect, dns, drop, ms, retrans, T0 } from '../../../test/helpers/otlp-events.js';
import { Stitcher, type StitchOptions } from './stitch.js';
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
    released.map((p) => [p.event.type === 'tcpretrans' && p.event.sport, p.span !== undefined, p.span?.parentSpanId]),
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
  assert.ok(linked!.span!.parentSpanId);
  st.expire(10_000);
  const [alone] = st.add(retrans({ state: 'ESTABLISHED' }), 10_000);
  assert.equal(alone!.span!.parentSpanId, undefined);
  assert.equal(st.sizes().connects, 0);
});

test('a held retransmit outside the connect’s time range is linked, not absorbed; UDP connects never absorb', () => {
  const { st, count } = make();
  st.add(retrans({ timeUnixNano: T0 + ms(5_000) }), 0);
  const out = st.add(connect({ sport: 40010, daddr: '10.0.0.7', timeUnixNano: T0, latencyNs: 1_000_000 }), 0);
  assert.equal(out.length, 2);
  assert.deepEqual(out[0]!.span!.absorbed, []);
  assert.equal(out[1]!.span!.parentSpanId, out[0]!.span!.ref.spanId);
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
  assert.equal(b[0]!.span!.parentSpanId, undefined);
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
