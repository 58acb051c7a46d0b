/**
 * Events → SDK ReadableSpan objects, built directly (not through a Tracer)
 * so that every span carries its kernel start/end times and its own pod
 * resource; the SDK's OTLP gRPC trace exporter serializes and ships them.
 *
 * Names and kinds:
 *   soconnect      "connect"            CLIENT  [start, start+latency]
 *   udpconnect     "udp.connect"        CLIENT  [start, start+latency]
 *   gethostlatency "dns.lookup <host>"  CLIENT  [start, start+latency]
 *   tcpretrans     "tcp.retransmit"     INTERNAL zero-length (or a span event on its connect)
 *   skbdrop        "packet.drop"        INTERNAL zero-length (or a span event on its connect)
 */
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type SpanStatus } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace-base';
import type { NetEvent, SkbDropEvent, TcpRetransEvent } from '../../core/event.js';
import type { Attrs } from '../../otel/attributes.js';
import { endNano, hrTime } from './ids.js';
import type { SpanPlan } from './stitch.js';

export const SPAN_NAMES = {
  soconnect: 'connect',
  udpconnect: 'udp.connect',
  tcpretrans: 'tcp.retransmit',
  skbdrop: 'packet.drop',
} as const;

/** Host names are attacker-influenced text: keep span names short. */
const MAX_HOST_IN_NAME = 253;

export function spanName(e: NetEvent): string {
  return e.type === 'gethostlatency' ? `dns.lookup ${e.host.slice(0, MAX_HOST_IN_NAME)}` : SPAN_NAMES[e.type];
}

function failed(e: NetEvent): string | undefined {
  switch (e.type) {
    case 'soconnect':
      return e.result !== 'ESTABLISHED' ? e.result : undefined;
    case 'udpconnect':
    case 'gethostlatency':
      return e.result !== 'OK' ? e.result : undefined;
    default:
      return undefined;
  }
}

/** A retransmit or drop as a span event on its connect span. */
export function spanEvent(e: TcpRetransEvent | SkbDropEvent): TimedEvent {
  const attributes: Attributes =
    e.type === 'tcpretrans'
      ? { 'tcp.state': e.state }
      : {
          'netspan.drop.reason': e.reason,
          'netspan.drop.location': e.location,
          ...(e.saddr !== undefined ? { 'source.address': e.saddr, 'source.port': e.sport ?? 0 } : {}),
          ...(e.daddr !== undefined ? { 'destination.address': e.daddr, 'destination.port': e.dport ?? 0 } : {}),
        };
  return { name: SPAN_NAMES[e.type], time: hrTime(e.timeUnixNano), attributes, droppedAttributesCount: 0 };
}

export function buildSpan(
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
  const error = failed(e);
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
      plan.parentSpanId !== undefined
        ? { traceId: plan.ref.traceId, spanId: plan.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: false }
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
