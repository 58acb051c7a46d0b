/**
 * OTLP log records written straight to protobuf: one LogRecord message per
 * event, encoded once when the batch is prepared (retries and split requests
 * reuse the bytes), and ExportLogsServiceRequest messages assembled from
 * them per request, grouped by resource and scope exactly as the SDK's
 * serializer groups ReadableLogRecords (resources in order of first record,
 * by Resource identity: ResourceCache hands out one instance per pod).
 *
 * The bytes are the ones the SDK path wrote (buildLogRecord + the SDK's
 * ProtobufLogsSerializer; logs-proto.test.ts compares them): body = the
 * event's versioned JSON object (encode.ts toJsonObject) without its
 * enrichment attributes, as a kvlist; attributes = the semantic-convention
 * mapping; time = kernel time; severity WARN for retransmits and drops,
 * INFO otherwise; trace/span ids of the span that represents the event
 * (flags SAMPLED) when traces are exported; event_name netspan.<type>;
 * observed time = when the batch was prepared.
 */
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { rfc3339Nano } from '../../core/encode.js';
import { SCHEMA_VERSION, type NetEvent } from '../../core/event.js';
import type { Attrs } from '../../otel/attributes.js';
import type { SpanRef } from './ids.js';
import { severityOf } from './logs.js';
import { FIXED32, FIXED64, keyField, LEN, ProtoWriter, tag, VARINT, varintSize } from './proto-writer.js';

/** One encoded LogRecord message (content without its tag and length) and the resource it belongs to. */
export interface EncodedLog {
  readonly resource: Resource;
  readonly bytes: Buffer;
}

// LogRecord fields
const TIME = tag(1, FIXED64);
const SEVERITY_NUMBER = tag(2, VARINT);
const SEVERITY_TEXT = tag(3, LEN);
const BODY = tag(5, LEN);
const ATTRIBUTES = 6;
const DROPPED_ATTRIBUTES_COUNT = tag(7, VARINT);
const FLAGS = tag(8, FIXED32);
const TRACE_ID = tag(9, LEN);
const SPAN_ID = tag(10, LEN);
const OBSERVED_TIME = tag(11, FIXED64);
const EVENT_NAME = tag(12, LEN);
// AnyValue / KeyValueList / KeyValue
const ANY_INT = tag(3, VARINT);
const ANY_KVLIST = tag(6, LEN);
const KVLIST_VALUE = tag(1, LEN);
const KV_VALUE = tag(2, LEN);
// ExportLogsServiceRequest / ResourceLogs / ScopeLogs
const RESOURCE_LOGS = tag(1, LEN);
const RL_RESOURCE = tag(1, LEN);
const RL_SCOPE_LOGS = tag(2, LEN);
const RL_SCHEMA_URL = tag(3, LEN);
const SL_SCOPE = tag(1, LEN);
const SL_LOG_RECORD = tag(2, LEN);
const SL_SCHEMA_URL = tag(3, LEN);
const TRACE_FLAGS_SAMPLED = 1;

/** snake_case JSON names of event fields, as KeyValue.key bytes (encode.ts toJsonObject's names). */
const BODY_KEYS = new Map<string, Buffer>();
function bodyKey(field: string): Buffer {
  let b = BODY_KEYS.get(field);
  if (b === undefined) {
    b = keyField(field.replace(/[A-Z]/g, (m) => '_' + m.toLowerCase()));
    if (BODY_KEYS.size < 256) BODY_KEYS.set(field, b);
  }
  return b;
}
const KEY_TYPE = keyField('type');
const KEY_SCHEMA_VERSION = keyField('schema_version');
const KEY_TIME = keyField('time');

/** Per event type: severity number and text, event_name, as bytes with their tags. */
const TYPE_FIELDS = new Map<string, { severity: Buffer; eventName: Buffer }>();
function typeFields(e: NetEvent): { severity: Buffer; eventName: Buffer } {
  let f = TYPE_FIELDS.get(e.type);
  if (f === undefined) {
    const w = new ProtoWriter(256);
    const sev = severityOf(e);
    w.byte(SEVERITY_NUMBER);
    w.varint(sev.number);
    w.byte(SEVERITY_TEXT);
    w.string(sev.text);
    const severity = w.copy();
    w.pos = 0;
    w.byte(EVENT_NAME);
    w.string(`netspan.${e.type}`);
    f = { severity, eventName: w.copy() };
    if (TYPE_FIELDS.size < 64) TYPE_FIELDS.set(e.type, f);
  }
  return f;
}

/** Encodes the log records of one batch into one shared buffer. */
export class LogEncoder {
  private readonly w = new ProtoWriter(256 * 1024);
  private observed: Buffer = Buffer.alloc(0);
  private resources: Resource[] = [];
  private ends: number[] = [];

  /** Start a batch; `observedUnixNano` is every record's observed time. */
  begin(observedUnixNano: bigint): void {
    this.w.pos = 0;
    this.resources = [];
    this.ends = [];
    const o = new ProtoWriter(16);
    o.byte(OBSERVED_TIME);
    o.fixed64(observedUnixNano);
    this.observed = o.copy();
  }

  add(e: NetEvent, record: Attrs, resource: Resource, span: SpanRef | undefined): void {
    const w = this.w;
    const t = typeFields(e);
    w.byte(TIME);
    w.fixed64(e.timeUnixNano);
    w.raw(t.severity);
    w.byte(BODY);
    const body = w.startLen();
    w.byte(ANY_KVLIST);
    const kvlist = w.startLen();
    writeBody(w, e);
    w.endLen(kvlist);
    w.endLen(body);
    w.attributes(record, ATTRIBUTES);
    w.byte(DROPPED_ATTRIBUTES_COUNT);
    w.byte(0);
    if (span) {
      w.byte(FLAGS);
      w.fixed32(TRACE_FLAGS_SAMPLED);
      if (span.traceId) {
        w.byte(TRACE_ID);
        w.hexBytes(span.traceId);
      }
      if (span.spanId) {
        w.byte(SPAN_ID);
        w.hexBytes(span.spanId);
      }
    }
    w.raw(this.observed);
    w.raw(t.eventName);
    this.resources.push(resource);
    this.ends.push(w.pos);
  }

  /** The records added since begin(), each a slice of one buffer copied to its exact size. */
  finish(): EncodedLog[] {
    const all = this.w.copy();
    const out: EncodedLog[] = new Array<EncodedLog>(this.ends.length);
    let start = 0;
    for (let i = 0; i < this.ends.length; i++) {
      const end = this.ends[i]!;
      out[i] = { resource: this.resources[i]!, bytes: all.subarray(start, end) };
      start = end;
    }
    this.resources = [];
    this.ends = [];
    return out;
  }
}

/**
 * The body kvlist's entries: encode.ts toJsonObject(e) without `attributes`,
 * written from the event (no intermediate object): type, schema_version,
 * time, then every other defined field in the event's own order, snake_case,
 * bigints as decimal strings.
 */
function writeBody(w: ProtoWriter, e: NetEvent): void {
  w.byte(KVLIST_VALUE);
  w.keyValue(KEY_TYPE, e.type);
  w.byte(KVLIST_VALUE);
  const sv = w.startLen();
  w.raw(KEY_SCHEMA_VERSION);
  w.byte(KV_VALUE);
  const v = w.startLen();
  w.byte(ANY_INT);
  w.varint(SCHEMA_VERSION);
  w.endLen(v);
  w.endLen(sv);
  w.byte(KVLIST_VALUE);
  w.keyValue(KEY_TIME, rfc3339Nano(e.timeUnixNano));
  const fields = e as unknown as Record<string, unknown>;
  for (const key in fields) {
    if (key === 'type' || key === 'attributes') continue;
    const value = fields[key];
    if (value === undefined) continue;
    w.byte(KVLIST_VALUE);
    w.keyValue(bodyKey(key), typeof value === 'bigint' ? value.toString() : value);
  }
}

/** One ExportLogsServiceRequest from encoded records; `resourceBytes` and `scopeBytes` give cached message contents. */
export class LogRequestAssembler {
  private readonly resourceCache = new WeakMap<Resource, Buffer>();
  private readonly scopeBytes: Buffer;
  private readonly scope: InstrumentationScope;

  constructor(scope: InstrumentationScope) {
    this.scope = scope;
    const w = new ProtoWriter(256);
    w.byte(tag(1, LEN));
    w.string(scope.name);
    if (scope.version) {
      w.byte(tag(2, LEN));
      w.string(scope.version);
    }
    this.scopeBytes = w.copy();
  }

  /** The Resource message's content: attributes, dropped_attributes_count 0 (as the SDK writes it). */
  resourceBytes(r: Resource): Buffer {
    let b = this.resourceCache.get(r);
    if (b === undefined) {
      const w = new ProtoWriter(1024);
      w.attributes(r.attributes, 1);
      w.byte(tag(2, VARINT));
      w.byte(0);
      b = w.copy();
      this.resourceCache.set(r, b);
    }
    return b;
  }

  /** Bytes of the request carrying `records`, grouped by resource in order of first appearance. */
  assemble(records: readonly EncodedLog[]): Buffer {
    const groups = new Map<Resource, EncodedLog[]>();
    for (const r of records) {
      const g = groups.get(r.resource);
      if (g) g.push(r);
      else groups.set(r.resource, [r]);
    }
    const scope = this.scopeBytes;
    const schemaUrl = this.scope.schemaUrl ? Buffer.from(this.scope.schemaUrl, 'utf8') : undefined;
    // sizes first (lengths precede contents), then one exact-size buffer
    const plans: { resource: Buffer; resourceSchema?: Buffer; records: EncodedLog[]; scopeLogs: number; rl: number }[] =
      [];
    let total = 0;
    for (const [resource, recs] of groups) {
      let scopeLogs = 1 + varintSize(scope.length) + scope.length;
      for (const r of recs) scopeLogs += 1 + varintSize(r.bytes.length) + r.bytes.length;
      if (schemaUrl) scopeLogs += 1 + varintSize(schemaUrl.length) + schemaUrl.length;
      const res = this.resourceBytes(resource);
      const resourceSchema = resource.schemaUrl ? Buffer.from(resource.schemaUrl, 'utf8') : undefined;
      let rl = 1 + varintSize(res.length) + res.length + 1 + varintSize(scopeLogs) + scopeLogs;
      if (resourceSchema) rl += 1 + varintSize(resourceSchema.length) + resourceSchema.length;
      total += 1 + varintSize(rl) + rl;
      plans.push({ resource: res, ...(resourceSchema ? { resourceSchema } : {}), records: recs, scopeLogs, rl });
    }
    const w = new ProtoWriter(Math.max(total, 16));
    const bytesField = (t: number, b: Uint8Array): void => {
      w.byte(t);
      w.varint(b.length);
      w.raw(b);
    };
    for (const p of plans) {
      w.byte(RESOURCE_LOGS);
      w.varint(p.rl);
      bytesField(RL_RESOURCE, p.resource);
      w.byte(RL_SCOPE_LOGS);
      w.varint(p.scopeLogs);
      bytesField(SL_SCOPE, scope);
      for (const r of p.records) bytesField(SL_LOG_RECORD, r.bytes);
      if (schemaUrl) bytesField(SL_SCHEMA_URL, schemaUrl);
      if (p.resourceSchema) bytesField(RL_SCHEMA_URL, p.resourceSchema);
    }
    return w.buf.length === w.pos ? w.buf : w.buf.subarray(0, w.pos);
  }

  /** An upper bound of what `record` adds to a request, not counting its resource's share (see resourceOverhead). */
  static recordSize(record: EncodedLog): number {
    return 1 + varintSize(record.bytes.length) + record.bytes.length;
  }

  /** An upper bound of what the first record of a resource adds to a request beyond recordSize(). */
  resourceOverhead(resource: Resource): number {
    const res = this.resourceBytes(resource);
    const schema = (resource.schemaUrl?.length ?? 0) * 3 + (this.scope.schemaUrl?.length ?? 0) * 3;
    return 3 * 6 + res.length + this.scopeBytes.length + schema;
  }
}
