/**
 * Events → SDK ReadableLogRecord objects: one record per event of every type.
 * Body: the event's versioned JSON object (encode.ts toJsonObject) as an
 * OTLP kvlist; attributes: the semantic-convention mapping; timestamp: the
 * kernel time; severity WARN for retransmits and drops, INFO otherwise; the
 * trace/span ids of the span that represents the event (its own span, or the
 * connect span that absorbed it) when traces are exported.
 */
import { TraceFlags } from '@opentelemetry/api';
import { SeverityNumber, type AnyValueMap } from '@opentelemetry/api-logs';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { toJsonObject } from '../../core/encode.js';
import type { NetEvent } from '../../core/event.js';
import type { Attrs } from '../../otel/attributes.js';
import { hrTime, type SpanRef } from './ids.js';

export function severityOf(e: NetEvent): { number: SeverityNumber; text: string } {
  return e.type === 'tcpretrans' || e.type === 'skbdrop'
    ? { number: SeverityNumber.WARN, text: 'WARN' }
    : { number: SeverityNumber.INFO, text: 'INFO' };
}

export function buildLogRecord(
  e: NetEvent,
  record: Attrs,
  resource: Resource,
  scope: InstrumentationScope,
  observedUnixNano: bigint,
  span: SpanRef | undefined,
): ReadableLogRecord {
  const sev = severityOf(e);
  return {
    hrTime: hrTime(e.timeUnixNano),
    hrTimeObserved: hrTime(observedUnixNano),
    spanContext: span ? { traceId: span.traceId, spanId: span.spanId, traceFlags: TraceFlags.SAMPLED } : undefined,
    severityNumber: sev.number,
    severityText: sev.text,
    body: bodyOf(e),
    eventName: `netspan.${e.type}`,
    resource,
    instrumentationScope: scope,
    attributes: Object.assign({}, record), // not a spread: slow on Node 20's V8
    droppedAttributesCount: 0,
  };
}

/**
 * The body is the event's JSON form without its enrichment attributes: those
 * are already on the record and the resource, and repeating them doubled the
 * size of every record (and pushed requests past the 4 MiB gRPC limit).
 */
function bodyOf(e: NetEvent): AnyValueMap {
  const body = toJsonObject(e);
  delete body.attributes;
  return body as AnyValueMap;
}
