/**
 * What the OTLP exporter built before spans-proto.ts: an SDK ReadableSpan per
 * event, which the SDK's ProtobufTraceSerializer turned into bytes. Kept as
 * the reference spans-proto.test.ts compares netspan's encoder against.
 */
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { NetEvent, SkbDropEvent, TcpRetransEvent } from '../../src/core/event.js';
import { endNano, hrTime } from '../../src/exporters/otlp/ids.js';
import { failure, SPAN_NAMES, spanName } from '../../src/exporters/otlp/spans-proto.js';
import type { SpanPlan } from '../../src/exporters/otlp/stitch.js';
import type { Attrs } from '../../src/otel/attributes.js';

/** A retransmit or drop as a span event on its connect span. */
function spanEvent(e: TcpRetransEvent | SkbDropEvent): TimedEvent {
  const attributes: Attributes =
    e.type === 'tcpretrans'
      ? { 'tcp.state': e.state, 'tcp.retransmit.kind': e.kind }
      : {
          'netspan.drop.reason': e.reason,
          'netspan.drop.location': e.location,
          ...(e.saddr !== undefined ? { 'source.address': e.saddr, 'source.port': e.sport ?? 0 } : {}),
          ...(e.daddr !== undefined ? { 'destination.address': e.daddr, 'destination.port': e.dport ?? 0 } : {}),
        };
  return { name: SPAN_NAMES[e.type], time: hrTime(e.timeUnixNano), attributes, droppedAttributesCount: 0 };
}

export function sdkSpan(
  e: NetEvent,
  plan: SpanPlan,
  record: Attrs,
  resource: Resource,
  scope: InstrumentationScope,
): ReadableSpan {
  const attributes: Attributes = { ...record };
  let end = e.timeUnixNano;
  let kind = SpanKind.INTERNAL;
  if (e.type === 'soconnect' || e.type === 'udpconnect' || e.type === 'gethostlatency') {
    kind = SpanKind.CLIENT;
    end = endNano(e.timeUnixNano, e.latencyNs);
  }
  if (e.type === 'soconnect' || e.type === 'udpconnect') {
    if (attributes['server.address'] === undefined && plan.serverAddress !== undefined)
      attributes['server.address'] = plan.serverAddress;
    if (attributes['server.address'] !== undefined) attributes['server.port'] = e.dport;
  }
  if (plan.absorbed.length > 0) {
    let retrans = 0;
    for (const a of plan.absorbed) if (a.type === 'tcpretrans') retrans++;
    if (retrans) attributes['netspan.tcp.retransmits'] = retrans;
    if (plan.absorbed.length > retrans) attributes['netspan.drops'] = plan.absorbed.length - retrans;
  }
  const error = failure(e);
  const status: SpanStatus =
    error !== undefined ? { code: SpanStatusCode.ERROR, message: error } : { code: SpanStatusCode.UNSET };
  const ctx = { traceId: plan.ref.traceId, spanId: plan.ref.spanId, traceFlags: TraceFlags.SAMPLED };
  const startTime = hrTime(e.timeUnixNano);
  const endTime = hrTime(end);
  return {
    name: spanName(e),
    kind,
    spanContext: () => ctx,
    parentSpanContext:
      plan.parent !== undefined
        ? { traceId: plan.ref.traceId, spanId: plan.parent.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false }
        : undefined,
    startTime,
    endTime,
    duration: hrTime(end - e.timeUnixNano),
    status,
    attributes,
    links: plan.links.map((l) => ({
      context: { traceId: l.traceId, spanId: l.spanId, traceFlags: TraceFlags.SAMPLED },
      attributes: {},
    })),
    events: plan.absorbed.map(spanEvent),
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
