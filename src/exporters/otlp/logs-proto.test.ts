import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceFlags } from '@opentelemetry/api';
import type { AnyValueMap } from '@opentelemetry/api-logs';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type protobuf from 'protobufjs';
import { toJsonObject } from '../../core/encode.js';
import type { NetEvent } from '../../core/event.js';
import { resourceAttributes, splitAttributes, type Attrs } from '../../otel/attributes.js';
import { decoded, protoType } from '../../../test/helpers/otlp-proto.js';
import { connect, dns, drop, OVERLAPPING_ENRICHMENT, retrans, T0, udp } from '../../../test/helpers/otlp-events.js';
import { hrTime, SpanRef } from './ids.js';
import { LogEncoder } from './logs-proto.js';
import { RequestAssembler } from './request.js';
import { severityOf } from './logs.js';
import { ResourceCache } from './resources.js';

const scope = { name: 'netspan', version: '1.2.3' };
const OBSERVED = 1_763_000_100_000_000_007n;

/** What the exporter built before logs-proto.ts: an SDK ReadableLogRecord per event. */
function sdkRecord(e: NetEvent, record: Attrs, resource: Resource, span: SpanRef | undefined): ReadableLogRecord {
  const sev = severityOf(e);
  const body = toJsonObject(e);
  delete body.attributes;
  return {
    hrTime: hrTime(e.timeUnixNano),
    hrTimeObserved: hrTime(OBSERVED),
    spanContext: span ? { traceId: span.traceId, spanId: span.spanId, traceFlags: TraceFlags.SAMPLED } : undefined,
    severityNumber: sev.number,
    severityText: sev.text,
    body: body as AnyValueMap,
    eventName: `netspan.${e.type}`,
    resource,
    instrumentationScope: scope,
    attributes: Object.assign({}, record),
    droppedAttributesCount: 0,
  };
}

/** ExportLogsServiceRequest from the official opentelemetry-proto files. */
const requestType = (): protobuf.Type =>
  protoType(
    'opentelemetry/proto/collector/logs/v1/logs_service.proto',
    'opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest',
  );

const hostile = 'quote" back\\slash \n\t\u0000 ctl, emoji 🚀, é, lone \ud800 surrogate, \u2028';
const spanA = SpanRef.fromHex('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331');

function events(): { e: NetEvent; span?: SpanRef }[] {
  return [
    { e: dns({ host: hostile, addresses: [] }), span: spanA },
    { e: connect({ cgroupId: 2 ** 53 - 1, comm: 'n\ufffdt-utf8\ufffd' }) },
    { e: udp({ result: 'ECONNREFUSED', latencyNs: 1234.5 }), span: spanA },
    { e: retrans({ state: 'ESTABLISHED', cgroupId: 0 }) },
    {
      e: drop({
        l4Protocol: 'UDP',
        sport: 53,
        dport: 40000,
        stack: Array.from({ length: 40 }, (_, i) => `kernel_function_with_a_long_name_${i}+0x1f/0x80`),
      }),
    },
    {
      e: drop({ family: undefined, saddr: undefined, daddr: undefined, sport: undefined, dport: undefined, stack: [] }),
    },
    {
      e: connect({
        sport: 41000,
        attributes: {
          'k8s.pod.name': 'web-1',
          'k8s.pod.uid': 'uid-1',
          'k8s.namespace.name': 'shop',
          'process.command_line': 'x'.repeat(300) + hostile,
          'netspan.negative': -5,
          'netspan.big': 2 ** 63 - 1024,
          'netspan.huge': 2 ** 64,
          'netspan.float': 0.1,
          'netspan.flag': false,
          'netspan.list': ['a', hostile, ''],
          'netspan.empty': '',
        },
      }),
      span: spanA,
    },
    { e: udp({ sport: 41001, attributes: { 'k8s.pod.uid': 'uid-2', 'k8s.pod.name': 'db-0' } }) },
    // enrichment attributes named like the event's own ones: the value replaced in place, not given twice
    {
      e: connect({
        sport: 41003,
        result: 'ECONNREFUSED',
        attributes: { ...OVERLAPPING_ENRICHMENT, 'tcp.state': 'not a retransmit' },
      }),
    },
    {
      e: retrans({
        sport: 41002,
        attributes: { 'k8s.pod.name': 'web-1', 'k8s.pod.uid': 'uid-1', 'k8s.namespace.name': 'shop' },
      }),
    },
  ];
}

test('encoded log requests are byte for byte what the SDK serializer wrote for the same records', () => {
  const resources = new ResourceCache({ 'k8s.cluster.name': 'test' }, 'netspan-host');
  const enc = new LogEncoder();
  const asm = new RequestAssembler(scope);
  const sdk: ReadableLogRecord[] = [];
  enc.begin(OBSERVED);
  for (const { e, span } of events()) {
    const { resource, record } = splitAttributes(e);
    const res = resources.get(resource);
    enc.add(e, record, res, span);
    sdk.push(sdkRecord(e, record, res, span));
  }
  const ours = enc.finish();
  const expected = Buffer.from(ProtobufLogsSerializer.serializeRequest(sdk)!);
  const got = asm.assemble(ours);
  assert.equal(got.toString('hex'), expected.toString('hex'));

  // the exporter's way without spans: attributes written straight from the event, no record object
  enc.begin(OBSERVED);
  for (const { e, span } of events()) enc.add(e, undefined, resources.get(resourceAttributes(e)), span);
  assert.equal(asm.assemble(enc.finish()).toString('hex'), expected.toString('hex'));

  // decoded with the official protos: three resources (node, uid-1, uid-2), records in order, content intact
  const Request = requestType();
  const req = decoded(Request, got) as {
    resourceLogs: { scopeLogs: { scope: { name: string }; logRecords: Record<string, unknown>[] }[] }[];
  };
  assert.deepEqual(req, decoded(Request, expected));
  assert.deepEqual(
    req.resourceLogs.map((r) => r.scopeLogs[0]!.logRecords.length),
    [6, 2, 2],
  );
  const first = req.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]! as {
    body: { kvlistValue: { values: { key: string; value: { stringValue?: string } }[] } };
    traceId: string;
    observedTimeUnixNano: string;
  };
  assert.equal(
    first.body.kvlistValue.values.find((kv) => kv.key === 'host')?.value.stringValue,
    hostile.replace('\ud800', '\ufffd'),
  );
  assert.equal(Buffer.from(first.traceId, 'base64').toString('hex'), spanA.traceId);
  assert.equal(first.observedTimeUnixNano, OBSERVED.toString());
  // (event_name, field 12, is newer than these protos: covered by the byte comparison above)

  // any subset (a split request) too
  const half = ours.slice(3, 8);
  assert.deepEqual(asm.assemble(half), Buffer.from(ProtobufLogsSerializer.serializeRequest(sdk.slice(3, 8))!));
});

/** A kernel time whose second starts with a low 32-bit word that its last nanosecond carries out of. */
function carryTime(): bigint {
  for (let s = T0 / 1_000_000_000n; ; s++) {
    const start = s * 1_000_000_000n;
    if ((start & 0xffffffffn) + 999_999_999n > 0xffffffffn) return start + 999_999_999n;
  }
}

test('edge cases encode as the SDK serializer does: times outside the cached second range, huge records, long and non-ASCII strings', () => {
  const carry = carryTime();
  const list: NetEvent[] = [
    connect({ timeUnixNano: 5n }),
    connect({ timeUnixNano: 999_999_999n }),
    connect({ timeUnixNano: 1_000_000_000n }),
    udp({ timeUnixNano: carry - 999_999_999n }),
    udp({ timeUnixNano: carry }),
    retrans({ timeUnixNano: carry + 1n }),
    connect({ timeUnixNano: 2n ** 63n - 1n }),
    connect({ timeUnixNano: T0 }),
    dns({ host: 'h'.repeat(17_000), addresses: ['é', 'x'.repeat(40), ''] }),
    dns({ host: 'ascii-but-longer-than-the-loop.example.com', addresses: ['10.0.0.1', 'a\u0080b'] }),
    connect({
      attributes: {
        'netspan.blob': 'y'.repeat(20_000),
        'netspan.max32': 2 ** 32 - 1,
        'netspan.two32': 2 ** 32,
        'netspan.nan': Number.NaN,
        'netspan.true': true,
        'netspan.short.utf8': 'é',
        'netspan.long.utf8': 'é'.repeat(100),
      },
    }),
    drop({ stack: ['x'.repeat(200), 'ü'.repeat(10)] }),
  ];
  const resources = new ResourceCache({}, 'netspan-host');
  const enc = new LogEncoder();
  const sdk: ReadableLogRecord[] = [];
  enc.begin(OBSERVED);
  for (const e of list) {
    const { resource, record } = splitAttributes(e);
    const res = resources.get(resource);
    enc.add(e, record, res, spanA);
    sdk.push(sdkRecord(e, record, res, spanA));
  }
  const got = new RequestAssembler(scope).assemble(enc.finish());
  assert.equal(got.toString('hex'), Buffer.from(ProtobufLogsSerializer.serializeRequest(sdk)!).toString('hex'));
});

test('request sizes stay within what splitting assumes', () => {
  const resources = new ResourceCache({}, 'netspan-host');
  const enc = new LogEncoder();
  const asm = new RequestAssembler(scope);
  enc.begin(OBSERVED);
  for (const { e, span } of events()) {
    const { resource, record } = splitAttributes(e);
    enc.add(e, record, resources.get(resource), span);
  }
  const ours = enc.finish();
  let bound = 0;
  const seen = new Set<Resource>();
  for (const r of ours) {
    bound += RequestAssembler.recordSize(r);
    if (!seen.has(r.resource)) bound += asm.resourceOverhead(r.resource);
    seen.add(r.resource);
  }
  const size = asm.assemble(ours).length;
  assert.ok(size <= bound && size > bound - 100, `${size} vs ${bound}`);
});
