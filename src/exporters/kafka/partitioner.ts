/**
 * kafkajs's DefaultPartitioner (Java-compatible: murmur2 of the key, positive,
 * modulo the partition count; round-robin over available partitions without
 * a key), with the same results, written for speed: murmur2 on 32-bit ints
 * (Math.imul) instead of kafkajs's BigInt-backed Long, the key encoded into a
 * reused scratch buffer, and no per-message filtering of partitions when the
 * message has a key.
 */
import { randomBytes } from 'node:crypto';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) of bytes [0, len). */
export function murmur2(data: Uint8Array, len = data.length): number {
  let h = SEED ^ len;
  const len4 = len >>> 2;
  for (let i = 0; i < len4; i++) {
    const i4 = i << 2;
    h = mixWord(h, data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24));
  }
  const tail = len & ~3;
  const rest = len & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  return finalMix(h);
}

/** One 4-byte word k into the hash h. */
function mixWord(h: number, word: number): number {
  let k = Math.imul(word, M);
  k ^= k >>> 24;
  k = Math.imul(k, M);
  return Math.imul(h, M) ^ k;
}

function finalMix(hash: number): number {
  let h = hash ^ (hash >>> 13);
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

const scratch = Buffer.allocUnsafe(4096);

/** murmur2 of a key as kafkajs hashes it (a Buffer as is, anything else as the UTF-8 of String(key)). */
export function murmur2Key(key: Buffer | string): number {
  if (Buffer.isBuffer(key)) return murmur2(key);
  const s = String(key);
  const ascii = murmur2Ascii(s);
  if (ascii !== undefined) return ascii;
  if (s.length * 3 <= scratch.length) return murmur2(scratch, scratch.write(s, 0, 'utf8'));
  return murmur2(Buffer.from(s, 'utf8'));
}

/**
 * murmur2 of an ASCII string's bytes (its UTF-8 is its char codes) read from
 * the string, without encoding it first; undefined when it is not ASCII.
 * netspan's keys (addresses and ports, pod uids) always are.
 */
function murmur2Ascii(s: string): number | undefined {
  const len = s.length;
  let h = SEED ^ len;
  const len4 = len >>> 2;
  let or = 0;
  for (let i = 0; i < len4; i++) {
    const i4 = i << 2;
    const c0 = s.charCodeAt(i4);
    const c1 = s.charCodeAt(i4 + 1);
    const c2 = s.charCodeAt(i4 + 2);
    const c3 = s.charCodeAt(i4 + 3);
    or |= c0 | c1 | c2 | c3;
    h = mixWord(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  const tail = len & ~3;
  const rest = len & 3;
  if (rest === 3) {
    const c = s.charCodeAt(tail + 2);
    or |= c;
    h ^= c << 16;
  }
  if (rest >= 2) {
    const c = s.charCodeAt(tail + 1);
    or |= c;
    h ^= c << 8;
  }
  if (rest >= 1) {
    const c = s.charCodeAt(tail);
    or |= c;
    h ^= c;
    h = Math.imul(h, M);
  }
  if (or >= 0x80) return undefined;
  return finalMix(h);
}

interface PartitionMetadata {
  partitionId: number;
  leader: number;
}

interface PartitionerArgs {
  topic: string;
  partitionMetadata: PartitionMetadata[];
  message: { partition?: number | null; key?: Buffer | string | null };
}

/** A kafkajs `createPartitioner` equivalent to Partitioners.DefaultPartitioner. */
export function createFastDefaultPartitioner(): (args: PartitionerArgs) => number {
  const counters = new Map<string, number>();
  const next = (topic: string): number => {
    let c = counters.get(topic);
    if (c === undefined) c = randomBytes(4).readUInt32BE(0);
    c = (c + 1) | 0;
    counters.set(topic, c);
    return c & 0x7fffffff;
  };
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const numPartitions = partitionMetadata.length;
    if (message.key !== null && message.key !== undefined) {
      return (murmur2Key(message.key) & 0x7fffffff) % numPartitions;
    }
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    if (available.length > 0) return available[next(topic) % available.length]!.partitionId;
    return next(topic) % numPartitions;
  };
}
