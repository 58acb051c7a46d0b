/**
 * Connection-trace spans written straight to protobuf: one Span message per
 * event the stitcher (stitch.ts) makes a span of, encoded once when the
 * batch is prepared (retries and split requests reuse the bytes) and
 * assembled into ExportTraceServiceRequests per request (request.ts). No
 * SDK ReadableSpan, attributes object or HrTime per event: at 10,000
 * events/s those were tens of megabytes of young garbage a second.
 *
 * The bytes are the ones the SDK path wrote (an SDK ReadableSpan per event +
 * the SDK's ProtobufTraceSerializer; spans-proto.test.ts compares them):
 *
 *   soconnect      "connect"            CLIENT  [start, start+latency]
 *   udpconnect     "udp.connect"        CLIENT  [start, start+latency]
 *   gethostlatency "dns.lookup <host>"  CLIENT  [start, start+latency]
 *   tcpretrans     "tcp.retransmit"     INTERNAL zero-length (or a span event on its connect)
 *   skbdrop        "packet.drop"        INTERNAL zero-length (or a span event on its connect)
 *
 * Attributes: the record's (splitAttributes(e).record, written from the
 * event); connects also get server.address (the host of the lookup they
 * used, unless enrichment gave one) and with it server.port; a connect that
 * absorbed retransmits or drops gets their counts (netspan.tcp.retransmits,
 * netspan.drops). Status ERROR with the result as message for failed
 * connects and lookups. Links (to the connect a later retransmit or drop
 * belongs to) and span events (retransmits and drops during a connect)
 * come from the stitcher's plan. Flags: SAMPLED, parent not remote.
 */
import type { Resource } from '@opentelemetry/resources';
import type { NetEvent, SkbDropEvent, TcpRetransEvent } from '../../core/event.js';
import { forEachRecordAttribute, type AttrSink, type AttrValue } from '../../otel/attributes.js';
import type { ChunkPool } from './chunk-pool.js';
import { endNano } from './ids.js';
import { KeySequence } from './logs-proto.js';
import { FIXED32, FIXED64, keyPrefix, LEN, ProtoWriter, tag, VARINT, type KeyPrefix } from './proto-writer.js';
import { RecordBuffer, type EncodedRecord } from './request.js';
import type { SpanPlan } from './stitch.js';

// ScopeSpans.spans
const SS_SPAN = tag(2, LEN);
// Span fields
const TRACE_ID = tag(1, LEN);
const SPAN_ID = tag(2, LEN);
const PARENT_SPAN_ID = tag(4, LEN);
const NAME = tag(5, LEN);
const KIND = tag(6, VARINT);
const START = tag(7, FIXED64);
const END = tag(8, FIXED64);
const ATTRIBUTES = tag(9, LEN);
const DROPPED_ATTRIBUTES = tag(10, VARINT);
const EVENT = tag(11, LEN);
const DROPPED_EVENTS = tag(12, VARINT);
const LINK = tag(13, LEN);
const DROPPED_LINKS = tag(14, VARINT);
const STATUS = tag(15, LEN);
/** Span.flags (field 16, fixed32): a two-byte tag. */
const FLAGS = [tag(16, FIXED32) | 0x80, 1] as const;
// Span.Event
const EV_TIME = tag(1, FIXED64);
const EV_NAME = tag(2, LEN);
const EV_ATTRIBUTES = tag(3, LEN);
const EV_DROPPED_ATTRIBUTES = tag(4, VARINT);
// Span.Link
const LINK_TRACE_ID = tag(1, LEN);
const LINK_SPAN_ID = tag(2, LEN);
const LINK_DROPPED_ATTRIBUTES = tag(5, VARINT);
const LINK_FLAGS = tag(6, FIXED32);
// Status
const STATUS_MESSAGE = tag(2, LEN);
const STATUS_CODE = tag(3, VARINT);

/** SpanKind + 1 (the proto's numbering: 0 is unspecified). */
const KIND_INTERNAL = 1;
const KIND_CLIENT = 3;
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;
/** W3C SAMPLED | the OTLP "has is_remote" bit (parent and links are local). */
const SPAN_FLAGS = 0x101;

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

/** The status message of a failed connect or lookup. */
export function failure(e: NetEvent): string | undefined {
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

/** What every span of one event type shares. */
interface TypeInfo {
  /** name (but for lookups, whose name has the host) and kind, with their tags. */
  readonly nameKind: Buffer | undefined;
  readonly kind: number;
  readonly attributeKeys: KeySequence;
}

const TYPES = new Map<string, TypeInfo>();
function typeInfo(e: NetEvent): TypeInfo {
  let t = TYPES.get(e.type);
  if (t === undefined) {
    const kind = e.type === 'tcpretrans' || e.type === 'skbdrop' ? KIND_INTERNAL : KIND_CLIENT;
    let nameKind: Buffer | undefined;
    if (e.type !== 'gethostlatency') {
      const w = new ProtoWriter(64);
      w.byte(NAME);
      w.string(SPAN_NAMES[e.type]);
      w.byte(KIND);
      w.byte(kind);
      nameKind = w.copy();
    }
    t = { nameKind, kind, attributeKeys: new KeySequence(keyPrefix) };
    if (TYPES.size < 64) TYPES.set(e.type, t);
  }
  return t;
}

const K = {
  serverAddress: keyPrefix('server.address'),
  serverPort: keyPrefix('server.port'),
  retransmits: keyPrefix('netspan.tcp.retransmits'),
  drops: keyPrefix('netspan.drops'),
  tcpState: keyPrefix('tcp.state'),
  retransmitKind: keyPrefix('tcp.retransmit.kind'),
  dropReason: keyPrefix('netspan.drop.reason'),
  dropLocation: keyPrefix('netspan.drop.location'),
  sourceAddress: keyPrefix('source.address'),
  sourcePort: keyPrefix('source.port'),
  destinationAddress: keyPrefix('destination.address'),
  destinationPort: keyPrefix('destination.port'),
};

/** Encodes the spans of one batch into one shared buffer. */
export class SpanEncoder {
  private readonly records: RecordBuffer;
  private readonly attrs = new SpanAttributeWriter();

  /** `pool`: where batch buffers come from (the exporter hands them back once a batch is settled). */
  constructor(pool?: ChunkPool) {
    this.records = new RecordBuffer(pool);
  }

  begin(): void {
    this.records.reset();
  }

  add(e: NetEvent, plan: SpanPlan, resource: Resource): void {
    const w = this.records.w;
    const t = typeInfo(e);
    w.ensure(64);
    w.byte(SS_SPAN);
    const span = w.startLen2();
    w.byte(TRACE_ID);
    w.traceId(plan.ref);
    w.byte(SPAN_ID);
    w.spanId(plan.ref);
    if (plan.parent !== undefined) {
      w.byte(PARENT_SPAN_ID);
      w.spanId(plan.parent);
    }
    if (t.nameKind !== undefined) w.raw(t.nameKind);
    else {
      w.byte(NAME);
      w.string(spanName(e));
      w.byte(KIND);
      w.byte(t.kind);
    }
    w.byte(START);
    w.fixed64(e.timeUnixNano);
    w.byte(END);
    w.fixed64(t.kind === KIND_CLIENT && 'latencyNs' in e ? endNano(e.timeUnixNano, e.latencyNs) : e.timeUnixNano);
    this.attributes(w, e, plan, t.attributeKeys);
    w.byte(DROPPED_ATTRIBUTES);
    w.byte(0);
    for (const a of plan.absorbed) writeEvent(w, a);
    w.byte(DROPPED_EVENTS);
    w.byte(0);
    for (const l of plan.links) {
      w.byte(LINK);
      const link = w.startLen();
      w.byte(LINK_TRACE_ID);
      w.traceId(l);
      w.byte(LINK_SPAN_ID);
      w.spanId(l);
      w.byte(LINK_DROPPED_ATTRIBUTES);
      w.byte(0);
      w.byte(LINK_FLAGS);
      w.fixed32(SPAN_FLAGS);
      w.endLen(link);
    }
    w.byte(DROPPED_LINKS);
    w.byte(0);
    w.byte(STATUS);
    const status = w.startLen();
    const error = failure(e);
    if (error) {
      w.byte(STATUS_MESSAGE);
      w.string(error);
    }
    w.byte(STATUS_CODE);
    w.byte(error !== undefined ? STATUS_ERROR : STATUS_UNSET);
    w.endLen(status);
    w.byte(FLAGS[0]);
    w.byte(FLAGS[1]);
    w.fixed32(SPAN_FLAGS);
    w.endLen2(span);
    this.records.end(resource);
  }

  /** The spans added since begin(), in one buffer (the writer's, which goes on with another). */
  finish(): EncodedRecord[] {
    return this.records.finish();
  }

  /**
   * The record's attributes, then what the span adds, in the order the SDK
   * path had them: an object spread of the record, then server.address,
   * server.port, netspan.tcp.retransmits, netspan.drops assigned to it (an
   * assignment to a key the record has replaces its value in place).
   */
  private attributes(w: ProtoWriter, e: NetEvent, plan: SpanPlan, keys: KeySequence): void {
    const a = this.attrs;
    a.begin(w, keys);
    let addServerAddress: string | undefined;
    if (e.type === 'soconnect' || e.type === 'udpconnect') {
      const own = e.attributes !== undefined && Object.prototype.hasOwnProperty.call(e.attributes, 'server.address');
      if (!own) addServerAddress = plan.serverAddress;
      if (own || addServerAddress !== undefined) a.serverPort = e.dport;
    }
    if (plan.absorbed.length > 0) {
      let retrans = 0;
      for (const x of plan.absorbed) if (x.type === 'tcpretrans') retrans++;
      if (retrans) a.retransmits = retrans;
      if (plan.absorbed.length > retrans) a.drops = plan.absorbed.length - retrans;
    }
    forEachRecordAttribute(e, a);
    if (addServerAddress !== undefined) a.str('server.address', addServerAddress);
    a.finish();
  }
}

/**
 * A span's attributes (field 9) as they come; the values the span sets for
 * server.port, netspan.tcp.retransmits and netspan.drops replace a record
 * attribute of that name, or are written after the record's (finish()).
 */
class SpanAttributeWriter implements AttrSink {
  serverPort: number | undefined;
  retransmits: number | undefined;
  drops: number | undefined;
  private w: ProtoWriter | undefined;
  private keys: KeySequence | undefined;
  private i = 0;

  begin(w: ProtoWriter, keys: KeySequence): void {
    this.w = w;
    this.keys = keys;
    this.i = 0;
    this.serverPort = this.retransmits = this.drops = undefined;
  }

  /** Enrichment attributes come through here: the span's own values win. */
  attr(key: string, value: AttrValue): void {
    let v = value;
    if (key === 'server.port' && this.serverPort !== undefined) {
      v = this.serverPort;
      this.serverPort = undefined;
    } else if (key === 'netspan.tcp.retransmits' && this.retransmits !== undefined) {
      v = this.retransmits;
      this.retransmits = undefined;
    } else if (key === 'netspan.drops' && this.drops !== undefined) {
      v = this.drops;
      this.drops = undefined;
    }
    this.w!.kv(ATTRIBUTES, this.keys!.at(this.i++, key), v);
  }

  str(key: string, value: string): void {
    this.w!.strKv(ATTRIBUTES, this.keys!.at(this.i++, key), value);
  }

  num(key: string, value: number): void {
    this.w!.numKv(ATTRIBUTES, this.keys!.at(this.i++, key), value);
  }

  /** The span's values no record attribute had. */
  finish(): void {
    if (this.serverPort !== undefined) this.put(K.serverPort, this.serverPort);
    if (this.retransmits !== undefined) this.put(K.retransmits, this.retransmits);
    if (this.drops !== undefined) this.put(K.drops, this.drops);
  }

  private put(key: KeyPrefix, n: number): void {
    this.i++;
    this.w!.numKv(ATTRIBUTES, key, n);
  }
}

/** A retransmit or drop during a connect, as an event on the connect's span. */
function writeEvent(w: ProtoWriter, e: TcpRetransEvent | SkbDropEvent): void {
  w.byte(EVENT);
  const ev = w.startLen2();
  w.byte(EV_TIME);
  w.fixed64(e.timeUnixNano);
  w.byte(EV_NAME);
  w.string(SPAN_NAMES[e.type]);
  if (e.type === 'tcpretrans') {
    w.strKv(EV_ATTRIBUTES, K.tcpState, e.state);
    w.strKv(EV_ATTRIBUTES, K.retransmitKind, e.kind);
  } else {
    w.strKv(EV_ATTRIBUTES, K.dropReason, e.reason);
    w.strKv(EV_ATTRIBUTES, K.dropLocation, e.location);
    if (e.saddr !== undefined) {
      w.strKv(EV_ATTRIBUTES, K.sourceAddress, e.saddr);
      w.numKv(EV_ATTRIBUTES, K.sourcePort, e.sport ?? 0);
    }
    if (e.daddr !== undefined) {
      w.strKv(EV_ATTRIBUTES, K.destinationAddress, e.daddr);
      w.numKv(EV_ATTRIBUTES, K.destinationPort, e.dport ?? 0);
    }
  }
  w.byte(EV_DROPPED_ATTRIBUTES);
  w.byte(0);
  w.endLen2(ev);
}
