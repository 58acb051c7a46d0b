/**
 * RecordBatch (message format v2, magic 2). The records of one partition are
 * written one by one straight into a reused buffer (PartitionRecords): the
 * exporter writes an event's key and JSON value in place, with no object,
 * view or copy per record. The batch header goes in front when the produce
 * request is sent; CRC-32C is computed natively over header and records.
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
 *
 * baseTimestamp is the first record's timestamp (as the Java producer
 * writes it); a later record with an earlier time has a negative delta.
 */
import { crc32c } from '@node-rs/crc32';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { ByteWriter, putVarint, putVarlong, varintSize } from './bytes.js';

const gzip = promisify(gzipCb);

const MAGIC = 2;
const COMPRESSION_GZIP = 1;
/** Bytes of the batch header: baseOffset to the record count (inclusive). */
export const BATCH_HEADER_BYTES = 8 + 4 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4;
/** Offset of the CRC in the header, and of the first byte it covers. */
const CRC_AT = 17;
const CRC_FROM = 21;
/** A records buffer larger than this after a batch is not kept for the next. */
const MAX_KEPT = 4 * 1024 * 1024;
/**
 * Bytes reserved for the record length and for the value length before they
 * are known: two varint bytes hold 64 to 8,191, which covers netspan's JSON
 * events; any other length moves the record's bytes once (end()).
 */
const LEN_SLOT = 2;

/** Encoded headers (count varint + pairs) per headers object: the exporter shares one frozen object per event type. */
const headerCache = new WeakMap<object, Buffer>();

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

/**
 * The records of one topic-partition for one produce request, in record
 * format, written in place: begin() writes everything before the value, the
 * caller writes the value at `w.pos`, end() fills in the lengths and appends
 * the headers (or abandon() takes the record back).
 */
export class PartitionRecords {
  /** The records' bytes (from 0; the count and header are written at send time). */
  w = new ByteWriter(16 * 1024);
  count = 0;
  baseTimestamp = 0;
  maxTimestamp = 0;
  /** Value bytes of the records (netspan_kafka_bytes_total). */
  valueBytes = 0;
  /** Where the current record's value starts. */
  private valueAt = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /**
   * Starts a record at timestamp `ts` (ms) with the key bytes [0, keyLen) of
   * `key` (keyLen -1: no key); the value goes at `w.pos` next. Returns the
   * record's start, for end() and abandon().
   */
  begin(ts: number, key: Uint8Array, keyLen: number): number {
    if (this.count === 0) this.baseTimestamp = this.maxTimestamp = ts;
    const w = this.w;
    w.ensure(32 + (keyLen > 0 ? keyLen : 0));
    const buf = w.buf;
    const start = w.pos;
    let p = start + LEN_SLOT;
    buf[p++] = 0; // attributes
    p = putVarlong(buf, p, ts - this.baseTimestamp);
    p = putVarint(buf, p, this.count); // offsetDelta
    p = putVarint(buf, p, keyLen);
    // (a loop: a native copy of part of `key` needs a view of it, which costs more than the loop)
    for (let i = 0; i < keyLen; i++) buf[p++] = key[i]!;
    this.valueAt = w.pos = p + LEN_SLOT;
    return start;
  }

  /** Ends the record begun at `start` (its value written up to `w.pos`) with these encoded headers. */
  end(start: number, ts: number, headers: Uint8Array): void {
    const w = this.w;
    const valueAt = this.valueAt;
    const valueLen = w.pos - valueAt;
    const prefixLen = valueAt - LEN_SLOT - start - LEN_SLOT; // attributes .. key
    const vlSize = varintSize(valueLen);
    const body = prefixLen + vlSize + valueLen + headers.length;
    const blSize = varintSize(body);
    if (vlSize !== LEN_SLOT || blSize !== LEN_SLOT) {
      // a length outside the reserved two bytes: move the prefix and the value into place
      const prefix = Buffer.from(w.buf.subarray(start + LEN_SLOT, start + LEN_SLOT + prefixLen));
      const newValueAt = start + blSize + prefixLen + vlSize;
      w.ensure(newValueAt - valueAt + headers.length);
      w.buf.copyWithin(newValueAt, valueAt, valueAt + valueLen);
      prefix.copy(w.buf, start + blSize);
      w.pos = newValueAt + valueLen;
    } else w.ensure(headers.length);
    const buf = w.buf;
    putVarint(buf, start, body);
    putVarint(buf, start + blSize + prefixLen, valueLen);
    buf.set(headers, w.pos);
    w.pos += headers.length;
    this.count++;
    this.valueBytes += valueLen;
    if (ts > this.maxTimestamp) this.maxTimestamp = ts;
  }

  /** A whole record whose value is at hand (key: bytes [0, keyLen) of `key`, -1 for none). */
  add(ts: number, key: Uint8Array, keyLen: number, value: Uint8Array, headers: Uint8Array): void {
    const start = this.begin(ts, key, keyLen);
    this.w.raw(value);
    this.end(start, ts, headers);
  }

  /** Takes back the record begun at `start` (too large, or its value could not be written). */
  abandon(start: number): void {
    this.w.pos = start;
  }

  /** Empties these records for the next request; a buffer grown very large is let go. */
  reset(): void {
    this.count = 0;
    this.valueBytes = 0;
    this.w.pos = 0;
    if (this.w.buf.length > MAX_KEPT) this.w = new ByteWriter(16 * 1024);
  }

  /**
   * The RecordBatch: its header appended to `head` (at its end), and the
   * bytes that follow it (the records, or their gzip). The caller sends
   * head's bytes then the returned ones.
   */
  async writeBatch(head: ByteWriter, compression: 'none' | 'gzip'): Promise<Buffer> {
    const records = compression === 'gzip' ? await gzip(this.w.view()) : this.w.view();
    head.ensure(BATCH_HEADER_BYTES);
    const start = head.pos;
    head.int64(0); // baseOffset
    head.int32(BATCH_HEADER_BYTES - 12 + records.length); // batchLength: from partitionLeaderEpoch on
    head.int32(-1); // partitionLeaderEpoch
    head.int8(MAGIC);
    head.int32(0); // crc, below
    head.int16(compression === 'gzip' ? COMPRESSION_GZIP : 0);
    head.int32(this.count - 1); // lastOffsetDelta
    head.int64(this.baseTimestamp);
    head.int64(this.maxTimestamp);
    head.int64(-1); // producerId
    head.int16(-1); // producerEpoch
    head.int32(-1); // baseSequence
    head.int32(this.count);
    const crc = crc32c(records, crc32c(head.buf.subarray(start + CRC_FROM, head.pos)));
    head.uint32At(crc, start + CRC_AT);
    return records;
  }
}
