import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpanRef } from './ids.js';
import { ProtoWriter } from './proto-writer.js';

test('fromHex and the hex getters round-trip, including words with the top bit set', () => {
  const trace = 'ffffffff80000000000000017fffffff';
  const span = '00000000deadbeef';
  const r = SpanRef.fromHex(trace, span);
  assert.equal(r.traceId, trace);
  assert.equal(r.spanId, span);
  assert.deepEqual([r.t0, r.t1, r.t2, r.t3, r.s0, r.s1], [-1, -0x80000000, 1, 0x7fffffff, 0, -559038737]);
  assert.throws(() => SpanRef.fromHex('ABC', span), /not a trace id and span id in hex/);
  assert.throws(() => SpanRef.fromHex(trace, 'DEADBEEFDEADBEEF'), /not a trace id and span id in hex/);
});

test('root() makes valid, distinct ids; inTrace() keeps the trace and makes a new span', () => {
  const seen = new Set<string>();
  // More than one pool refill (1024 words, 6 per root span).
  for (let i = 0; i < 2_000; i++) {
    const r = SpanRef.root();
    assert.match(r.traceId, /^[0-9a-f]{32}$/);
    assert.match(r.spanId, /^[0-9a-f]{16}$/);
    assert.notEqual(r.traceId, '0'.repeat(32));
    assert.notEqual(r.spanId, '0'.repeat(16));
    seen.add(r.traceId);
    const c = SpanRef.inTrace(r);
    assert.equal(c.traceId, r.traceId);
    assert.notEqual(c.spanId, r.spanId);
  }
  assert.equal(seen.size, 2_000);
});

test('the writer puts the ids on the wire as length-prefixed big-endian bytes, as the hex reads', () => {
  const r = SpanRef.fromHex('0102030405060708090a0b0c0d0e0fff', '8877665544332211');
  const w = new ProtoWriter(4);
  w.traceId(r);
  w.spanId(r);
  const out = w.detach();
  assert.equal(out.length, 17 + 9);
  assert.equal(out[0], 16);
  assert.equal(out.subarray(1, 17).toString('hex'), r.traceId);
  assert.equal(out[17], 8);
  assert.equal(out.subarray(18).toString('hex'), r.spanId);
});
