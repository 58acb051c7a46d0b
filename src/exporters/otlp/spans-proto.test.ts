import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { NetEvent } from '../../core/event.js';
import { splitAttributes } from '../../otel/attributes.js';
import { sdkSpan } from '../../../test/helpers/sdk-span.js';
import { decoded, protoType } from '../../../test/helpers/otlp-proto.js';
import { connect, dns, drop, OVERLAPPING_ENRICHMENT, ms, retrans, T0, udp } from '../../../test/helpers/otlp-events.js';
import { ChunkPool } from './chunk-pool.js';
import { RequestAssembler } from './request.js';
import { ResourceCache } from './resources.js';
import { SpanEncoder } from './spans-proto.js';
import type { SpanPlan } from './stitch.js';
import { SpanRef } from './ids.js';

const scope = { name: 'netspan', version: '1.2.3' };
const A = SpanRef.fromHex('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331');
const B = SpanRef.fromHex('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7');
const C = SpanRef.fromHex('ffffffffffffffffffffffffffffffff', '0000000000000001');
const hostile = 'quote" back\\slash \n\t\u0000 ctl, emoji 🚀, é, lone \ud800 surrogate, \u2028';

const plan = (over: Partial<SpanPlan> = {}): SpanPlan => ({ ref: A, links: [], absorbed: [], ...over });

/** Every shape a span takes: names, kinds, statuses, parents, links, span events and the attributes a span adds. */
function cases(): { e: NetEvent; p: SpanPlan }[] {
  const r1 = retrans({ timeUnixNano: T0 + ms(1000) });
  const r2 = retrans({ timeUnixNano: T0 + ms(3000), state: 'SYN_RECV' });
  return [
    { e: dns(), p: plan() },
    { e: dns({ host: hostile + 'h'.repeat(300), result: 'EAI_NONAME', addresses: [] }), p: plan({ ref: B }) },
    // matched to a lookup: child of it, server.address from its host, then server.port
    { e: connect(), p: plan({ ref: B, parent: A, serverAddress: 'api.example.com' }) },
    // failed, enrichment gave server.address (it wins, and server.port still follows it)
    { e: connect({ result: 'ECONNREFUSED', attributes: OVERLAPPING_ENRICHMENT }), p: plan({ serverAddress: 'x' }) },
    // enrichment gave server.port and the counters' names: the span's values replace them in place
    {
      e: connect({
        sport: 40002,
        attributes: { 'server.port': 1, 'netspan.drops': 'many', 'netspan.tcp.retransmits': -1 },
      }),
      p: plan({ serverAddress: 'db', absorbed: [r1, drop({ timeUnixNano: T0 + ms(1500) })] }),
    },
    // absorbed SYN retransmits and drops (with and without addresses): span events and counts
    {
      e: connect({ sport: 40010, daddr: '10.0.0.7', timeUnixNano: T0, latencyNs: 3_500_000_000 }),
      p: plan({
        absorbed: [
          r1,
          r2,
          drop({ timeUnixNano: T0 + ms(2000) }),
          drop({ saddr: undefined, daddr: undefined, sport: undefined, dport: undefined }),
          drop({ sport: undefined, dport: undefined }),
        ],
      }),
    },
    // a server.port without a server.address is left alone
    { e: connect({ sport: 40003, attributes: { 'server.port': 8443 } }), p: plan() },
    { e: udp(), p: plan({ serverAddress: 'dns.local' }) },
    { e: udp({ result: 'ECONNREFUSED', latencyNs: 1234.5 }), p: plan() },
    { e: udp({ result: '' }), p: plan() },
    // later retransmits and drops: own zero-length spans, children of and linked to their connect
    {
      e: retrans({ state: 'ESTABLISHED', cgroupId: 0 }),
      p: plan({ ref: SpanRef.fromHex(B.traceId, C.spanId), parent: B, links: [B] }),
    },
    { e: drop(), p: plan({ ref: C, links: [A, B] }) },
    {
      e: drop({ family: undefined, saddr: undefined, daddr: undefined, sport: undefined, l4Protocol: undefined }),
      p: plan(),
    },
    // odd times and latencies
    { e: connect({ timeUnixNano: 5n, latencyNs: Number.NaN }), p: plan() },
    { e: connect({ timeUnixNano: 2n ** 63n - 1n, latencyNs: -3 }), p: plan() },
    { e: dns({ latencyNs: 0.4 }), p: plan() },
    // resources: two pods and the node, interleaved
    { e: connect({ sport: 41000, attributes: { 'k8s.pod.uid': 'uid-1', 'k8s.pod.name': 'web-1' } }), p: plan() },
    { e: udp({ sport: 41001, attributes: { 'k8s.pod.uid': 'uid-2', 'k8s.pod.name': 'db-0' } }), p: plan() },
    { e: retrans({ sport: 41002, attributes: { 'k8s.pod.uid': 'uid-1', 'k8s.pod.name': 'web-1' } }), p: plan() },
  ];
}

function encodeBoth(list: { e: NetEvent; p: SpanPlan }[]): { ours: Buffer; sdk: Buffer; asm: RequestAssembler } {
  const resources = new ResourceCache({ 'k8s.cluster.name': 'test' }, 'netspan-host');
  const enc = new SpanEncoder();
  const asm = new RequestAssembler(scope);
  const spans: ReadableSpan[] = [];
  enc.begin();
  for (const { e, p } of list) {
    const { resource, record } = splitAttributes(e);
    const res = resources.get(resource);
    enc.add(e, p, res);
    spans.push(sdkSpan(e, p, record, res, scope));
  }
  return { ours: asm.assemble(enc.finish()), sdk: Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!), asm };
}

const Request = protoType(
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
);

test('encoded span requests are byte for byte what the SDK serializer wrote for ReadableSpans of the same events', () => {
  const { ours, sdk } = encodeBoth(cases());
  assert.equal(ours.toString('hex'), sdk.toString('hex'));

  // and they decode with the official protos to what the SDK sent
  const got = decoded(Request, ours) as {
    resourceSpans: {
      scopeSpans: {
        scope: { name: string };
        spans: {
          name: string;
          kind: number;
          flags: number;
          status: { code: number; message: string };
          attributes: { key: string; value: Record<string, unknown> }[];
          events: { name: string; timeUnixNano: string }[];
          links: unknown[];
        }[];
      }[];
    }[];
  };
  assert.deepEqual(got, decoded(Request, sdk));
  assert.deepEqual(
    got.resourceSpans.map((r) => r.scopeSpans[0]!.spans.length),
    [15, 2, 2],
    'node, uid-2, uid-1: in order of first span',
  );
  const spans = got.resourceSpans[0]!.scopeSpans[0]!.spans;
  assert.equal(spans[1]!.name, `dns.lookup ${(hostile + 'h'.repeat(300)).slice(0, 253).replace('\ud800', '\ufffd')}`);
  assert.deepEqual([spans[1]!.kind, spans[1]!.status], [3, { code: 2, message: 'EAI_NONAME' }]);
  assert.equal(spans[0]!.flags, 0x101);
  const keys = (i: number) => spans[i]!.attributes.map((a) => a.key);
  assert.deepEqual(keys(2).slice(-2), ['server.address', 'server.port']);
  const withCounters = spans[3]!.attributes;
  assert.deepEqual(
    withCounters.filter((a) => /server\.port|netspan\.(drops|tcp)/.test(a.key)).map((a) => [a.key, a.value.intValue]),
    [
      ['server.port', '443'],
      ['netspan.drops', '1'],
      ['netspan.tcp.retransmits', '1'],
    ],
    'replaced in place, not given twice',
  );
  assert.deepEqual(
    spans[4]!.events.map((e) => [e.name, e.timeUnixNano]),
    [
      ['tcp.retransmit', (T0 + ms(1000)).toString()],
      ['tcp.retransmit', (T0 + ms(3000)).toString()],
      ['packet.drop', (T0 + ms(2000)).toString()],
      ['packet.drop', (T0 + ms(20)).toString()],
      ['packet.drop', (T0 + ms(20)).toString()],
    ],
  );
  assert.equal(spans[10]!.links.length, 2);
});

test('any run of spans (a split request) assembles as the SDK serializes it', () => {
  const list = cases();
  const { ours, sdk } = encodeBoth(list.slice(4, 13));
  assert.equal(ours.toString('hex'), sdk.toString('hex'));
});

test('batch buffers come from the pool once handed back, and a buffer handed back twice is kept once', () => {
  const pool = new ChunkPool(2);
  const enc = new SpanEncoder(pool);
  const resources = new ResourceCache({}, 'netspan-host');
  const batch = (): Buffer => {
    enc.begin();
    enc.add(connect(), plan(), resources.node);
    return enc.finish()[0]!.chunk;
  };
  const first = batch();
  const second = batch();
  assert.notEqual(first.buffer, second.buffer, 'nothing handed back yet: a new buffer');
  pool.give(first);
  pool.give(first);
  assert.equal(pool.size, 1);
  // the third batch is in the buffer the writer already had; the writer goes on with first's
  const third = batch();
  assert.equal(pool.size, 0);
  const fourth = batch();
  assert.notEqual(third.buffer, first.buffer);
  assert.equal(fourth.buffer, first.buffer, 'written again after it was handed back');
  // a batch with no spans (all its events held by the stitcher) keeps the writer's buffer and takes none
  pool.give(fourth);
  enc.begin();
  assert.deepEqual(enc.finish(), []);
  assert.equal(pool.size, 1);
  pool.give(Buffer.allocUnsafe(100));
  assert.equal(pool.size, 1, "small buffers (slices of Buffer's shared slab) are not kept");
});
