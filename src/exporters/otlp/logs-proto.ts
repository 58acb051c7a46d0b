/**
 * OTLP log records written straight to protobuf: one LogRecord message per
 * event, encoded once when the batch is prepared (retries and split requests
 * reuse the bytes), and ExportLogsServiceRequest messages assembled from
 * them per request, grouped by resource and scope exactly as the SDK's
 * serializer groups ReadableLogRecords (request.ts).
 *
 * The bytes are the ones the SDK path wrote (buildLogRecord + the SDK's
 * ProtobufLogsSerializer; logs-proto.test.ts compares them): body = the
 * event's versioned JSON object (encode.ts toJsonObject) without its
 * enrichment attributes, as a kvlist; attributes = the semantic-convention
 * mapping; time = kernel time; severity WARN for retransmits and drops,
 * INFO otherwise; trace/span ids of the span that represents the event
 * (flags SAMPLED) when traces are exported; event_name netspan.<type>;
 * observed time = when the batch was prepared.
 *
 * Cheap per record: what records of an event type share (severity, the
 * body's type and schema_version, event_name, the key bytes of body fields
 * and attributes) is encoded once; the kernel time's three forms are made
 * from per-second parts (KernelTime); every KeyValue is written front to
 * back with its lengths computed first (ProtoWriter.kv); nested lengths are
 * reserved as two bytes and moved only when they need one or three; and a
 * batch's records share one buffer that goes into requests by runs.
 */
import type { Resource } from '@opentelemetry/resources';
import { rfc3339Nano } from '../../core/encode.js';
import { SCHEMA_VERSION, type NetEvent } from '../../core/event.js';
import { forEachRecordAttribute, type AttrSink, type Attrs, type AttrValue } from '../../otel/attributes.js';
import type { ChunkPool } from './chunk-pool.js';
import type { SpanRef } from './ids.js';
import { severityOf } from './logs.js';
import {
  ConstBytes,
  FIXED32,
  FIXED64,
  KeyPrefix,
  keyField,
  keyPrefix,
  LEN,
  ProtoWriter,
  tag,
  VARINT,
} from './proto-writer.js';
import { RecordBuffer, type EncodedRecord } from './request.js';

// LogRecord fields
const TIME = tag(1, FIXED64);
const SEVERITY_NUMBER = tag(2, VARINT);
const SEVERITY_TEXT = tag(3, LEN);
const BODY = tag(5, LEN);
const ATTRIBUTES = tag(6, LEN);
const DROPPED_ATTRIBUTES_COUNT = tag(7, VARINT);
const FLAGS = tag(8, FIXED32);
const TRACE_ID = tag(9, LEN);
const SPAN_ID = tag(10, LEN);
const OBSERVED_TIME = tag(11, FIXED64);
const EVENT_NAME = tag(12, LEN);
// AnyValue / KeyValueList
const ANY_KVLIST = tag(6, LEN);
const KVLIST_VALUE = tag(1, LEN);
// ScopeLogs.log_records
const SL_LOG_RECORD = tag(2, LEN);
const TRACE_FLAGS_SAMPLED = 1;

/** snake_case JSON names of event fields, as KeyValue.key bytes (encode.ts toJsonObject's names). */
const BODY_KEYS = new Map<string, KeyPrefix>();
function bodyKey(field: string): KeyPrefix {
  let b = BODY_KEYS.get(field);
  if (b === undefined) {
    b = new KeyPrefix(keyField(field.replace(/[A-Z]/g, (m) => '_' + m.toLowerCase())));
    if (BODY_KEYS.size < 256) BODY_KEYS.set(field, b);
  }
  return b;
}

/**
 * The KeyValue.key bytes of the names met in one position after another,
 * remembered from the previous record of the same event type: records of a
 * type have the same fields and attributes in the same order (but for a
 * few optional ones), so finding a key is mostly one string comparison
 * (property names are internalized) instead of a Map lookup.
 */
export class KeySequence {
  private readonly names: string[] = [];
  private readonly keys: KeyPrefix[] = [];

  constructor(private readonly encode: (name: string) => KeyPrefix) {}

  at(i: number, name: string): KeyPrefix {
    return this.names[i] === name ? this.keys[i]! : this.learn(i, name);
  }

  private learn(i: number, name: string): KeyPrefix {
    const key = this.encode(name);
    if (i <= this.names.length && i < 256) {
      this.names[i] = name;
      this.keys[i] = key;
    }
    return key;
  }
}

/** What every record of one event type shares. */
interface TypeInfo {
  /** severity_number, severity_text and the body's tag. */
  readonly head: Buffer;
  /** The body kvlist's first entries: type and schema_version. */
  readonly bodyHead: Buffer;
  /** event_name with its tag. */
  readonly eventName: Buffer;
  readonly attributeKeys: KeySequence;
}

const KEY_TIME = keyPrefix('time');
const TYPES = new Map<string, TypeInfo>();
function typeInfo(e: NetEvent): TypeInfo {
  let t = TYPES.get(e.type);
  if (t === undefined) {
    const w = new ProtoWriter(256);
    const sev = severityOf(e);
    w.byte(SEVERITY_NUMBER);
    w.varint(sev.number);
    w.byte(SEVERITY_TEXT);
    w.string(sev.text);
    w.byte(BODY);
    const head = w.copy();
    w.pos = 0;
    w.kv(KVLIST_VALUE, keyPrefix('type'), e.type);
    w.kv(KVLIST_VALUE, keyPrefix('schema_version'), SCHEMA_VERSION);
    const bodyHead = w.copy();
    w.pos = 0;
    w.byte(EVENT_NAME);
    w.string(`netspan.${e.type}`);
    t = {
      head,
      bodyHead,
      eventName: w.copy(),
      attributeKeys: new KeySequence(keyPrefix),
    };
    if (TYPES.size < 64) TYPES.set(e.type, t);
  }
  return t;
}

const NS_PER_S = 1_000_000_000n;
const MAX_INT64 = 2n ** 63n;
const LETTER_Z = 0x5a;

/**
 * The forms of an event's kernel time in its record: time_unix_nano
 * (fixed64), the body's `time` (encode.ts rfc3339Nano) and `time_unix_nano`
 * (decimal), made of the nanoseconds within the second and the second's
 * parts, which are computed once per second (events come in time order):
 * no string or bigint per event but one subtraction.
 */
class KernelTime {
  /** Nanoseconds within the second of the last set(). */
  ns = 0;
  /** Low and high 32 bits of the last set() time. */
  low = 0;
  high = 0;
  /** rfc3339Nano(time) without its nine digits and "Z". */
  rfc3339Head = new ConstBytes(new Uint8Array(0));
  /** The decimal of the whole seconds. */
  secondsHead = new ConstBytes(new Uint8Array(0));
  private start = 0n;
  private end = 0n;
  private startLow = 0;
  private startHigh = 0;

  /** Take `t`; false when it is outside [1 s, 2^63 ns) (nothing cached for it: the caller writes it the general way). */
  set(t: bigint): boolean {
    if (t < this.start || t >= this.end) {
      if (t < NS_PER_S || t >= MAX_INT64) return false;
      this.second(t - (t % NS_PER_S));
    }
    const ns = Number(t - this.start);
    this.ns = ns;
    const low = this.startLow + ns;
    // the carry into the high word
    if (low >= 0x100000000) {
      this.low = low - 0x100000000;
      this.high = this.startHigh + 1;
    } else {
      this.low = low;
      this.high = this.startHigh;
    }
    return true;
  }

  private second(start: bigint): void {
    this.start = start;
    this.end = start + NS_PER_S;
    this.startLow = Number(start & 0xffffffffn);
    this.startHigh = Number(start >> 32n);
    // rfc3339Nano of the second's start ends in "000000000Z"
    this.rfc3339Head = new ConstBytes(Buffer.from(rfc3339Nano(start).slice(0, -10), 'latin1'));
    this.secondsHead = new ConstBytes(Buffer.from((start / NS_PER_S).toString(), 'latin1'));
  }
}

/** Encodes the log records of one batch into one shared buffer. */
export class LogEncoder {
  private readonly records: RecordBuffer;
  /** dropped_attributes_count 0, then observed_time_unix_nano: what follows the attributes of a record without span. */
  private observed: Buffer = Buffer.alloc(0);
  private readonly time = new KernelTime();
  private readonly attrs = new AttributeWriter();

  /** `pool`: where batch buffers come from (the exporter hands them back once a batch is settled). */
  constructor(pool?: ChunkPool) {
    this.records = new RecordBuffer(pool);
  }

  /** Start a batch; `observedUnixNano` is every record's observed time. */
  begin(observedUnixNano: bigint): void {
    this.records.reset();
    const o = new ProtoWriter(16);
    o.byte(OBSERVED_TIME);
    o.fixed64(observedUnixNano);
    this.observed = o.copy();
  }

  /** `record`: the record's attributes, or undefined to write splitAttributes(e).record straight from the event. */
  add(e: NetEvent, record: Attrs | undefined, resource: Resource, span: SpanRef | undefined): void {
    const w = this.records.w;
    const t = typeInfo(e);
    w.ensure(32);
    w.byte(SL_LOG_RECORD);
    const rec = w.startLen2();
    const time = this.time.set(e.timeUnixNano) ? this.time : undefined;
    w.byte(TIME);
    if (time) w.fixed64Words(time.low, time.high);
    else w.fixed64(e.timeUnixNano);
    w.raw(t.head);
    const body = w.startLen2();
    w.byte(ANY_KVLIST);
    const kvlist = w.startLen2();
    w.raw(t.bodyHead);
    writeBody(w, e, time);
    w.endLen2(kvlist);
    w.endLen2(body);
    if (record !== undefined) writeAttributes(w, record, t.attributeKeys);
    else {
      this.attrs.begin(w, t.attributeKeys);
      forEachRecordAttribute(e, this.attrs);
    }
    w.ensure(2);
    w.buf[w.pos++] = DROPPED_ATTRIBUTES_COUNT;
    w.buf[w.pos++] = 0;
    if (span) writeSpan(w, span);
    w.raw(this.observed);
    w.raw(t.eventName);
    w.endLen2(rec);
    this.records.end(resource);
  }

  /** The records added since begin(), in one buffer (the writer's, which goes on with another). */
  finish(): EncodedRecord[] {
    return this.records.finish();
  }
}

/** Body keys of the event fields, snake_case (encode.ts toJsonObject). */
const B = {
  timeUnixNano: bodyKey('timeUnixNano'),
  pid: bodyKey('pid'),
  tid: bodyKey('tid'),
  comm: bodyKey('comm'),
  cgroupId: bodyKey('cgroupId'),
  family: bodyKey('family'),
  saddr: bodyKey('saddr'),
  sport: bodyKey('sport'),
  daddr: bodyKey('daddr'),
  dport: bodyKey('dport'),
  result: bodyKey('result'),
  latencyNs: bodyKey('latencyNs'),
  nonBlocking: bodyKey('nonBlocking'),
  state: bodyKey('state'),
  kind: bodyKey('kind'),
  func: bodyKey('func'),
  host: bodyKey('host'),
  addresses: bodyKey('addresses'),
  reason: bodyKey('reason'),
  protocol: bodyKey('protocol'),
  location: bodyKey('location'),
  stack: bodyKey('stack'),
  l4Protocol: bodyKey('l4Protocol'),
};

/**
 * The body kvlist's entries after type and schema_version: encode.ts
 * toJsonObject(e) without `attributes`, written from the event (no
 * intermediate object): time, then the event's fields in the order of the
 * published schema (the order every parser builds them in, and the JSON
 * writer's), snake_case, bigints as decimal strings; optional fields only
 * when set. One branch per type, each reading its own fields: one property
 * walk over five event shapes would make every load megamorphic. `time`
 * holds e.timeUnixNano's parts unless it is out of their range.
 */
function writeBody(w: ProtoWriter, e: NetEvent, time: KernelTime | undefined): void {
  if (time) w.digitsKv(KVLIST_VALUE, KEY_TIME, time.rfc3339Head, time.ns, LETTER_Z);
  else w.kv(KVLIST_VALUE, KEY_TIME, rfc3339Nano(e.timeUnixNano));
  switch (e.type) {
    case 'soconnect':
      base(w, time, e.timeUnixNano, e.pid, e.tid, e.comm, e.cgroupId);
      conn(w, e.family, e.saddr, e.sport, e.daddr, e.dport);
      w.strKv(KVLIST_VALUE, B.result, e.result);
      w.numKv(KVLIST_VALUE, B.latencyNs, e.latencyNs);
      w.boolKv(KVLIST_VALUE, B.nonBlocking, e.nonBlocking);
      break;
    case 'udpconnect':
      base(w, time, e.timeUnixNano, e.pid, e.tid, e.comm, e.cgroupId);
      conn(w, e.family, e.saddr, e.sport, e.daddr, e.dport);
      w.strKv(KVLIST_VALUE, B.result, e.result);
      w.numKv(KVLIST_VALUE, B.latencyNs, e.latencyNs);
      break;
    case 'tcpretrans':
      base(w, time, e.timeUnixNano, e.pid, e.tid, e.comm, e.cgroupId);
      conn(w, e.family, e.saddr, e.sport, e.daddr, e.dport);
      w.strKv(KVLIST_VALUE, B.state, e.state);
      w.strKv(KVLIST_VALUE, B.kind, e.kind);
      break;
    case 'gethostlatency':
      base(w, time, e.timeUnixNano, e.pid, e.tid, e.comm, e.cgroupId);
      w.strKv(KVLIST_VALUE, B.func, e.func);
      w.strKv(KVLIST_VALUE, B.host, e.host);
      w.numKv(KVLIST_VALUE, B.latencyNs, e.latencyNs);
      w.strKv(KVLIST_VALUE, B.result, e.result);
      w.kv(KVLIST_VALUE, B.addresses, e.addresses);
      break;
    case 'skbdrop':
      base(w, time, e.timeUnixNano, e.pid, e.tid, e.comm, e.cgroupId);
      w.strKv(KVLIST_VALUE, B.reason, e.reason);
      w.strKv(KVLIST_VALUE, B.protocol, e.protocol);
      w.strKv(KVLIST_VALUE, B.location, e.location);
      w.kv(KVLIST_VALUE, B.stack, e.stack);
      // from the packet's IP header, when it has one
      if (e.family !== undefined) w.strKv(KVLIST_VALUE, B.family, e.family);
      if (e.saddr !== undefined) w.strKv(KVLIST_VALUE, B.saddr, e.saddr);
      if (e.daddr !== undefined) w.strKv(KVLIST_VALUE, B.daddr, e.daddr);
      if (e.l4Protocol !== undefined) w.strKv(KVLIST_VALUE, B.l4Protocol, e.l4Protocol);
      if (e.sport !== undefined) w.numKv(KVLIST_VALUE, B.sport, e.sport);
      if (e.dport !== undefined) w.numKv(KVLIST_VALUE, B.dport, e.dport);
      break;
  }
}

function base(
  w: ProtoWriter,
  time: KernelTime | undefined,
  timeUnixNano: bigint,
  pid: number,
  tid: number,
  comm: string,
  cgroupId: number,
): void {
  if (time) w.digitsKv(KVLIST_VALUE, B.timeUnixNano, time.secondsHead, time.ns, -1);
  else w.kv(KVLIST_VALUE, B.timeUnixNano, timeUnixNano.toString());
  w.numKv(KVLIST_VALUE, B.pid, pid);
  w.numKv(KVLIST_VALUE, B.tid, tid);
  w.strKv(KVLIST_VALUE, B.comm, comm);
  w.numKv(KVLIST_VALUE, B.cgroupId, cgroupId);
}

function conn(w: ProtoWriter, family: string, saddr: string, sport: number, daddr: string, dport: number): void {
  w.strKv(KVLIST_VALUE, B.family, family);
  w.strKv(KVLIST_VALUE, B.saddr, saddr);
  w.numKv(KVLIST_VALUE, B.sport, sport);
  w.strKv(KVLIST_VALUE, B.daddr, daddr);
  w.numKv(KVLIST_VALUE, B.dport, dport);
}

/** The record's attributes (field 6) as they come (forEachRecordAttribute), as writeAttributes() writes them. */
class AttributeWriter implements AttrSink {
  private w: ProtoWriter | undefined;
  private keys: KeySequence | undefined;
  private i = 0;

  begin(w: ProtoWriter, keys: KeySequence): void {
    this.w = w;
    this.keys = keys;
    this.i = 0;
  }

  attr(key: string, value: AttrValue): void {
    this.w!.kv(ATTRIBUTES, this.keys!.at(this.i++, key), value);
  }

  str(key: string, value: string): void {
    this.w!.strKv(ATTRIBUTES, this.keys!.at(this.i++, key), value);
  }

  num(key: string, value: number): void {
    this.w!.numKv(ATTRIBUTES, this.keys!.at(this.i++, key), value);
  }
}

/** The record's attributes (field 6), as ProtoWriter.attributes() writes them. */
function writeAttributes(w: ProtoWriter, record: Attrs, keys: KeySequence): void {
  let i = 0;
  for (const k in record) {
    if (!Object.prototype.hasOwnProperty.call(record, k)) continue;
    w.kv(ATTRIBUTES, keys.at(i++, k), record[k]);
  }
}

/** flags SAMPLED, trace_id and span_id of the span that represents the event. */
function writeSpan(w: ProtoWriter, span: SpanRef): void {
  w.byte(FLAGS);
  w.fixed32(TRACE_FLAGS_SAMPLED);
  w.byte(TRACE_ID);
  w.traceId(span);
  w.byte(SPAN_ID);
  w.spanId(span);
}
