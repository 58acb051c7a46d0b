/**
 * Event → Kafka record (topic, key, headers, value). Pure functions; the
 * client never sees a NetEvent.
 */
import { JsonWriter } from '../../core/json-writer.js';
import { SCHEMA_VERSION, type NetEvent } from '../../core/event.js';
import type { KafkaRecord } from './client.js';
import { topicFor, type KafkaConfig } from './config.js';
import { encodeOtlpProto, toOtlpLogsRequest } from './otlp.js';
import { keyByteLength } from './wire/record-batch.js';

export const HEADER_EVENT_TYPE = 'netspan.event.type';
export const HEADER_SCHEMA_VERSION = 'netspan.schema.version';
export const HEADER_CONTENT_TYPE = 'content-type';

export const CONTENT_TYPES = {
  json: 'application/json',
  otlp_proto: 'application/x-protobuf',
  otlp_json: 'application/json',
} as const;

type Encoding = KafkaConfig['encoding'];

function endpoint(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/**
 * Canonical 4-tuple: both endpoints as "addr:port" (IPv6 in brackets), the
 * smaller first (by address, then port), joined by "-". The same connection
 * seen from either side, and by every probe, gives the same key.
 */
export function fourTuple(saddr: string, sport: number, daddr: string, dport: number): string {
  const sFirst = saddr < daddr || (saddr === daddr && sport <= dport);
  return sFirst
    ? `${endpoint(saddr, sport)}-${endpoint(daddr, dport)}`
    : `${endpoint(daddr, dport)}-${endpoint(saddr, sport)}`;
}

function podOrPid(e: NetEvent): string {
  const uid = e.attributes?.['k8s.pod.uid'];
  if (typeof uid === 'string' && uid !== '') return uid;
  return `pid:${e.pid}`;
}

export function recordKey(e: NetEvent, mode: KafkaConfig['key']): string | null {
  switch (mode) {
    case 'none':
      return null;
    case 'pod_uid':
      return podOrPid(e);
    case '4tuple':
      switch (e.type) {
        case 'soconnect':
        case 'udpconnect':
        case 'tcpretrans':
          return fourTuple(e.saddr, e.sport, e.daddr, e.dport);
        case 'skbdrop':
          if (e.saddr !== undefined && e.daddr !== undefined)
            return fourTuple(e.saddr, e.sport ?? 0, e.daddr, e.dport ?? 0);
          return podOrPid(e);
        case 'gethostlatency':
          return podOrPid(e);
      }
  }
}

/**
 * `json`: a writer of the whole batch, when the caller has one: the value is
 * written into it (no string, no Buffer per record) and is a view of its bytes.
 */
export function encodeValue(
  e: NetEvent,
  encoding: Encoding,
  body: KafkaConfig['otlp_body'],
  now: () => bigint,
  json?: JsonWriter,
): Buffer {
  switch (encoding) {
    case 'json': {
      // without a batch writer: a writer of its own (the bytes, not a string made from them and encoded again)
      const w = json ?? new JsonWriter(1024);
      const start = w.pos;
      w.event(e);
      // (a view of the current buffer: if it grew, the bytes were copied into it)
      return w.buf.subarray(start, w.pos);
    }
    case 'otlp_json':
      return Buffer.from(JSON.stringify(toOtlpLogsRequest(e, body, now())), 'utf8');
    case 'otlp_proto':
      return encodeOtlpProto(toOtlpLogsRequest(e, body, now()));
  }
}

export function wallClockNanos(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

export interface EncodeOptions {
  topic: string;
  key: KafkaConfig['key'];
  encoding: Encoding;
  otlp_body: KafkaConfig['otlp_body'];
}

/** Topic and headers per event type and encoding: built once, shared (frozen) by every record. */
interface TypeConst {
  topic: string;
  headers: Readonly<Record<string, string>>;
  headerBytes: number;
  template: string;
  encoding: Encoding;
}
const typeConsts = new WeakMap<EncodeOptions, Map<string, TypeConst>>();

function typeConst(type: NetEvent['type'], cfg: EncodeOptions): TypeConst {
  let byType = typeConsts.get(cfg);
  if (byType === undefined) typeConsts.set(cfg, (byType = new Map<string, TypeConst>()));
  // the options object may be reused with other values (tests): check what the cached entry was built from
  let c = byType.get(type);
  if (c === undefined || c.template !== cfg.topic || c.encoding !== cfg.encoding) {
    const headers = Object.freeze({
      [HEADER_EVENT_TYPE]: type,
      [HEADER_SCHEMA_VERSION]: String(SCHEMA_VERSION),
      [HEADER_CONTENT_TYPE]: CONTENT_TYPES[cfg.encoding],
    });
    c = {
      topic: topicFor(cfg.topic, type),
      headers,
      headerBytes: headersSize(headers),
      template: cfg.topic,
      encoding: cfg.encoding,
    };
    byType.set(type, c);
  }
  return c;
}

function headersSize(headers: Readonly<Record<string, string>>): number {
  let n = 0;
  for (const [k, v] of Object.entries(headers)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
  return n;
}

/** `json`: see encodeValue. */
export function toRecord(
  e: NetEvent,
  cfg: EncodeOptions,
  now: () => bigint = wallClockNanos,
  json?: JsonWriter,
): KafkaRecord {
  const c = typeConst(e.type, cfg);
  return {
    topic: c.topic,
    key: recordKey(e, cfg.key),
    value: encodeValue(e, cfg.encoding, cfg.otlp_body, now, json),
    headers: c.headers,
    timestampMs: Number(e.timeUnixNano / 1_000_000n),
  };
}

/** Bytes a record takes against max_message_bytes (key + value + headers + record overhead). */
export function recordSize(r: KafkaRecord): number {
  const n = r.value.length + (r.key === null ? 0 : Buffer.byteLength(r.key)) + 32;
  return n + headersSize(r.headers);
}

/** recordSize(toRecord(e, cfg)) for a record just made by toRecord (headers known from its type). */
export function encodedRecordSize(e: NetEvent, r: KafkaRecord, cfg: EncodeOptions): number {
  return r.value.length + (r.key === null ? 0 : keyByteLength(r.key)) + 32 + typeConst(e.type, cfg).headerBytes;
}
