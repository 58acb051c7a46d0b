/**
 * RecordBatch (message format v2, magic 2), written straight into the
 * produce request: no per-record objects, headers encoded once per shared
 * headers object, CRC-32C computed natively.
 *
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 |
 *   magic int8 = 2 | crc uint32 (CRC-32C of attributes..end) |
 *   attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 |
 *   maxTimestamp int64 | producerId int64 | producerEpoch int16 |
 *   baseSequence int32 | records: int32 count, then the records (gzip: the
 *   records after the count are compressed)
 *
 *   record: length varint | attributes int8 | timestampDelta varlong |
 *   offsetDelta varint | keyLength varint | key | valueLength varint | value |
 *   headers count varint | (keyLength varint | key | valueLength varint | value)*
 */
import { crc32c } from '@node-rs/crc32';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { KafkaRecord } from '../client.js';
import { ByteWriter, varintSize, varlongSize } from './bytes.js';

const gzip = promisify(gzipCb);

const MAGIC = 2;
const COMPRESSION_GZIP = 1;
/** Bytes of the batch header from attributes to the record count (inclusive). */
const HEADER_AFTER_CRC = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;

/** Encoded headers (count varint + pairs) per headers object: the exporter shares one frozen object per event type. */
const headerCache = new WeakMap<object, Buffer>();
const EMPTY: Buffer = Buffer.alloc(0);

export function encodeHeaders(headers: Readonly<Record<string, string>>): Buffer {
  let b = headerCache.get(headers);
  if (b === undefined) {
    const w = new ByteWriter(128);
    const entries = Object.entries(headers);
    w.varint(entries.length);
    for (const [k, v] of entries) {
      const kb = Buffer.from(k, 'utf8');
      const vb = Buffer.from(v, 'utf8');
      w.varint(kb.length).raw(kb).varint(vb.length).raw(vb);
    }
    b = Buffer.from(w.view());
    if (Object.isFrozen(headers)) headerCache.set(headers, b);
  }
  return b;
}

/** UTF-8 length of a key: its length when it is ASCII (netspan's keys are), counted without a native call. */
export function keyByteLength(key: string): number {
  const len = key.length;
  if (len > 256) return Buffer.byteLength(key, 'utf8');
  for (let i = 0; i < len; i++) if (key.charCodeAt(i) >= 0x80) return Buffer.byteLength(key, 'utf8');
  return len;
}

/** Writes the records of one batch (without the count). Timestamps are relative to baseTimestamp. */
function writeRecords(w: ByteWriter, records: readonly KafkaRecord[], baseTimestamp: number): void {
  // records of one batch mostly share their headers object (one per event type): encoded once per run
  let lastHeaders: KafkaRecord['headers'] | undefined;
  let headers = EMPTY;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const tsDelta = r.timestampMs - baseTimestamp;
    const key = r.key;
    const keyLen = key === null ? -1 : keyByteLength(key);
    if (r.headers !== lastHeaders) {
      lastHeaders = r.headers;
      headers = encodeHeaders(r.headers);
    }
    // body = attributes + timestampDelta + offsetDelta + key + value + headers
    const tsSize = tsDelta >= 0 && tsDelta < 0x3fffffff ? varintSize(tsDelta) : varlongSize(tsDelta);
    const body =
      1 +
      tsSize +
      varintSize(i) +
      varintSize(keyLen) +
      Math.max(keyLen, 0) +
      varintSize(r.value.length) +
      r.value.length +
      headers.length;
    w.ensure(body + 5);
    w.varint(body);
    w.int8(0);
    w.varlong(tsDelta);
    w.varint(i);
    w.varint(keyLen);
    if (key !== null) {
      if (keyLen === key.length) {
        // ASCII: the char codes are the bytes
        const buf = w.buf;
        let p = w.pos;
        for (let k = 0; k < keyLen; k++) buf[p++] = key.charCodeAt(k);
        w.pos = p;
      } else w.pos += w.buf.write(key, w.pos, 'utf8');
    }
    w.varint(r.value.length);
    w.raw(r.value);
    w.raw(headers);
  }
}

/**
 * Appends one RecordBatch for these records to w (the caller has written
 * the int32 RECORDS length slot before and patches it). Returns the batch's
 * byte length.
 */
export async function writeRecordBatch(
  w: ByteWriter,
  records: readonly KafkaRecord[],
  compression: 'none' | 'gzip',
): Promise<number> {
  let base = Infinity;
  let max = -Infinity;
  for (const r of records) {
    if (r.timestampMs < base) base = r.timestampMs;
    if (r.timestampMs > max) max = r.timestampMs;
  }
  if (!Number.isFinite(base)) base = max = Date.now();

  let compressed: Buffer | undefined;
  if (compression === 'gzip') {
    const inner = new ByteWriter(64 * 1024);
    writeRecords(inner, records, base);
    compressed = await gzip(inner.view());
  }

  const start = w.pos;
  w.int64(0); // baseOffset
  const lengthAt = w.reserve(4);
  w.int32(-1); // partitionLeaderEpoch
  w.int8(MAGIC);
  const crcAt = w.reserve(4);
  const crcFrom = w.pos;
  w.ensure(HEADER_AFTER_CRC);
  w.int16(compressed ? COMPRESSION_GZIP : 0);
  w.int32(records.length - 1); // lastOffsetDelta
  w.int64(base);
  w.int64(max);
  w.int64(-1); // producerId
  w.int16(-1); // producerEpoch
  w.int32(-1); // baseSequence
  w.int32(records.length);
  if (compressed) w.raw(compressed);
  else writeRecords(w, records, base);
  w.int32At(w.pos - lengthAt - 4, lengthAt);
  w.uint32At(crc32c(w.buf.subarray(crcFrom, w.pos)), crcAt);
  return w.pos - start;
}
