/**
 * Event → Kafka record (topic, key, headers, value). Pure functions; the
 * client never sees a NetEvent.
 */
import { asciiAt } from '../../core/ascii.js';
import { isUint31, putUint31 } from '../../core/decimal.js';
import type { GrowableBuffer } from '../../core/growable-buffer.js';
import { JsonWriter } from '../../core/json-writer.js';
import { SCHEMA_VERSION, type NetEvent } from '../../core/event.js';
import type { KafkaRecord } from './client.js';
import { topicFor, type KafkaConfig } from './config.js';
import { encodeOtlpProto, toOtlpLogsRequest } from './otlp.js';
import { encodeHeaders, keyByteLength } from './wire/record-batch.js';

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
 * recordKey()'s UTF-8 bytes written at the start of `w` (growing it),
 * without making the string: returns their length, or -1 for no key.
 */
export function keyInto(e: NetEvent, mode: KafkaConfig['key'], w: GrowableBuffer): number {
  switch (mode) {
    case 'none':
      return -1;
    case 'pod_uid':
      return podOrPidInto(e, w);
    case '4tuple':
      switch (e.type) {
        case 'soconnect':
        case 'udpconnect':
        case 'tcpretrans':
          return fourTupleInto(e.saddr, e.sport, e.daddr, e.dport, w);
        case 'skbdrop':
          if (e.saddr !== undefined && e.daddr !== undefined)
            return fourTupleInto(e.saddr, e.sport ?? 0, e.daddr, e.dport ?? 0, w);
          return podOrPidInto(e, w);
        case 'gethostlatency':
          return podOrPidInto(e, w);
      }
  }
}

function podOrPidInto(e: NetEvent, w: GrowableBuffer): number {
  const uid = e.attributes?.['k8s.pod.uid'];
  if (typeof uid === 'string' && uid !== '') return utf8Into(uid, w);
  w.pos = 0;
  w.ensure(32);
  const p = asciiAt(w.buf, 0, 'pid:');
  return digitsAt(w.buf, p, e.pid);
}

/** fourTuple()'s bytes; any non-ASCII address is written through the string. */
function fourTupleInto(saddr: string, sport: number, daddr: string, dport: number, w: GrowableBuffer): number {
  w.pos = 0;
  w.ensure(2 * (saddr.length + daddr.length) + 64);
  const buf = w.buf;
  const sFirst = saddr < daddr || (saddr === daddr && sport <= dport);
  let p = sFirst ? endpointAt(buf, 0, saddr, sport) : endpointAt(buf, 0, daddr, dport);
  if (p >= 0) buf[p++] = 0x2d; // -
  if (p >= 0) p = sFirst ? endpointAt(buf, p, daddr, dport) : endpointAt(buf, p, saddr, sport);
  return p >= 0 ? p : utf8Into(fourTuple(saddr, sport, daddr, dport), w);
}

/** `addr:port` (IPv6 in brackets) at p; -1 when addr is not ASCII. */
function endpointAt(buf: Buffer, at: number, addr: string, port: number): number {
  let p = at;
  const v6 = addr.includes(':');
  if (v6) buf[p++] = 0x5b; // [
  p = asciiAt(buf, p, addr);
  if (p < 0) return -1;
  if (v6) buf[p++] = 0x5d; // ]
  buf[p++] = 0x3a; // :
  return digitsAt(buf, p, port);
}

/** The decimal digits of a number as String() writes it, at p. */
function digitsAt(buf: Buffer, at: number, n: number): number {
  return isUint31(n) ? putUint31(buf, at, n) : at + buf.write(String(n), at, 'latin1');
}

function utf8Into(s: string, w: GrowableBuffer): number {
  w.pos = 0;
  w.ensure(s.length * 3);
  return w.buf.write(s, 0, 'utf8');
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
export interface TypeConst {
  topic: string;
  headers: Readonly<Record<string, string>>;
  /** The headers as a record carries them (count and pairs). */
  headerBuf: Buffer;
  /** What the headers count against max_message_bytes. */
  headerBytes: number;
  template: string;
  encoding: Encoding;
}
const typeConsts = new WeakMap<EncodeOptions, Map<string, TypeConst>>();

export function typeConst(type: NetEvent['type'], cfg: EncodeOptions): TypeConst {
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
      headerBuf: encodeHeaders(headers),
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

/**
 * Bytes a record counts against max_message_bytes: value + key (UTF-8; -1
 * for none) + headers (headerBytes of its type) + record overhead.
 */
export function messageSize(valueLen: number, keyLen: number, headerBytes: number): number {
  return valueLen + (keyLen > 0 ? keyLen : 0) + 32 + headerBytes;
}

/** messageSize() of a record just made by toRecord (headers known from its type). */
export function encodedRecordSize(e: NetEvent, r: KafkaRecord, cfg: EncodeOptions): number {
  return messageSize(r.value.length, r.key === null ? -1 : keyByteLength(r.key), typeConst(e.type, cfg).headerBytes);
}
