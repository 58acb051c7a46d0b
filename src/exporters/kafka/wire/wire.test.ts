/**
 * netspan's Kafka wire code, checked against independent references: a
 * bitwise CRC-32C, the zigzag varint values of the Kafka protocol guide, and
 * a RecordBatch v2 decoder written here from the format description. (The
 * integration tests in ../kafka.test.ts send these batches to librdkafka's
 * mock cluster and read them back with kcat.)
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, Socket, type AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { KafkaSendError, type KafkaRecord } from '../client.js';
import { NetspanProducer } from './producer.js';
import { ByteReader, ByteWriter, WireError, varintSize, varlongSize } from './bytes.js';
import { BrokerConnection, ConnectionError } from './connection.js';
import { errorKind, errorName, readMetadataResponse, readProduceResponse } from './protocol.js';
import { encodeHeaders, PartitionRecords } from './record-batch.js';
import { ProduceBatch } from './produce-batch.js';

/** CRC-32C (Castagnoli), bit by bit. */
function crc32cRef(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

void test('CRC-32C: the check value and random buffers match a bitwise reference', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  for (const n of [0, 1, 7, 64, 1000]) {
    const b = randomBytes(n);
    assert.equal(crc32c(b), crc32cRef(b));
  }
});

void test('zigzag varints and varlongs: the protocol guide values, sizes agree with what is written', () => {
  const cases: [number, number[]][] = [
    [0, [0x00]],
    [-1, [0x01]],
    [1, [0x02]],
    [63, [0x7e]],
    [-64, [0x7f]],
    [64, [0x80, 0x01]],
    [300, [0xd8, 0x04]],
    [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
    [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
  ];
  for (const [v, bytes] of cases) {
    const w = new ByteWriter(1);
    w.varint(v);
    assert.deepEqual([...w.view()], bytes, `varint ${v}`);
    assert.equal(varintSize(v), bytes.length);
    const l = new ByteWriter(1);
    l.varlong(v);
    assert.deepEqual([...l.view()], bytes, `varlong ${v}`);
    assert.equal(varlongSize(v), bytes.length);
  }
  const big = new ByteWriter(1);
  big.varlong(2 ** 40);
  assert.equal(big.pos, varlongSize(2 ** 40));
  assert.equal(big.pos, 6);
});

interface Decoded {
  baseOffset: bigint;
  partitionLeaderEpoch: number;
  magic: number;
  crcOk: boolean;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  count: number;
  records: { tsDelta: number; offsetDelta: number; key: string | null; value: string; headers: [string, string][] }[];
}

function readVarint(b: Buffer, at: { pos: number }): number {
  let x = 0;
  let mul = 1;
  for (;;) {
    const byte = b[at.pos++]!;
    x += (byte & 0x7f) * mul;
    mul *= 128;
    if (byte < 0x80) break;
  }
  return x % 2 === 0 ? x / 2 : -(x + 1) / 2;
}

function decodeBatch(b: Buffer): Decoded {
  const batchLength = b.readInt32BE(8);
  assert.equal(batchLength, b.length - 12, 'batchLength counts the bytes after it');
  const attributes = b.readInt16BE(21);
  const count = b.readInt32BE(57);
  let recs = b.subarray(61);
  if ((attributes & 7) === 1) recs = gunzipSync(recs);
  const at = { pos: 0 };
  const records: Decoded['records'] = [];
  for (let i = 0; i < count; i++) {
    const len = readVarint(recs, at);
    const end = at.pos + len;
    assert.equal(recs[at.pos++], 0, 'record attributes');
    const tsDelta = readVarint(recs, at);
    const offsetDelta = readVarint(recs, at);
    const kl = readVarint(recs, at);
    const key = kl < 0 ? null : recs.toString('utf8', at.pos, (at.pos += kl));
    const vl = readVarint(recs, at);
    const value = recs.toString('utf8', at.pos, (at.pos += vl));
    const hn = readVarint(recs, at);
    const headers: [string, string][] = [];
    for (let h = 0; h < hn; h++) {
      const hk = readVarint(recs, at);
      const k = recs.toString('utf8', at.pos, (at.pos += hk));
      const hv = readVarint(recs, at);
      headers.push([k, recs.toString('utf8', at.pos, (at.pos += hv))]);
    }
    assert.equal(at.pos, end, `record ${i} length`);
    records.push({ tsDelta, offsetDelta, key, value, headers });
  }
  assert.equal(at.pos, recs.length, 'no bytes after the records');
  return {
    baseOffset: b.readBigInt64BE(0),
    partitionLeaderEpoch: b.readInt32BE(12),
    magic: b.readInt8(16),
    crcOk: b.readUInt32BE(17) === crc32cRef(b.subarray(21)),
    attributes,
    lastOffsetDelta: b.readInt32BE(23),
    baseTimestamp: b.readBigInt64BE(27),
    maxTimestamp: b.readBigInt64BE(35),
    producerId: b.readBigInt64BE(43),
    count,
    records,
  };
}

const HEADERS = Object.freeze({ 'netspan.event.type': 'soconnect', 'content-type': 'application/json' });
const RECORDS: KafkaRecord[] = [
  {
    topic: 't',
    key: '10.0.0.1:1-10.0.0.2:2',
    value: Buffer.from('{"a":1}'),
    headers: HEADERS,
    timestampMs: 1_763_000_000_500,
  },
  { topic: 't', key: null, value: Buffer.from('ünïcødé ✓'), headers: HEADERS, timestampMs: 1_763_000_000_123 },
  { topic: 't', key: 'k'.repeat(300), value: Buffer.alloc(0), headers: { h: '' }, timestampMs: 1_763_000_100_000 },
  // a key that is not ASCII (written as UTF-8), after one that is, with the same headers object again
  { topic: 't', key: 'pöd-ü', value: Buffer.from('v'), headers: HEADERS, timestampMs: 1_763_000_000_124 },
  // lengths around the two varint bytes reserved for the record and value lengths (64 to 8,191):
  // inside, a value that needs three, a record that needs three with a value that needs two
  { topic: 't', key: 'a', value: Buffer.alloc(300, 'x'), headers: HEADERS, timestampMs: 1_763_000_000_600 },
  { topic: 't', key: 'b', value: Buffer.alloc(10_000, 'y'), headers: HEADERS, timestampMs: 1_763_000_000_601 },
  {
    topic: 't',
    key: 'k'.repeat(300),
    value: Buffer.alloc(8_100, 'z'),
    headers: HEADERS,
    timestampMs: 1_763_000_000_602,
  },
  { topic: 't', key: null, value: Buffer.alloc(64, 'w'), headers: {}, timestampMs: 1_763_000_000_603 },
];

/** The records in one PartitionRecords (as the producer writes them): the batch's bytes. */
async function recordBatch(records: readonly KafkaRecord[], compression: 'none' | 'gzip'): Promise<Buffer> {
  const part = new PartitionRecords('t', 0);
  for (const r of records) {
    const key = Buffer.from(r.key ?? '', 'utf8');
    part.add(r.timestampMs, key, r.key === null ? -1 : key.length, r.value, encodeHeaders(r.headers));
  }
  const head = new ByteWriter(16);
  head.int32(42); // something before the batch header: it is appended
  const body = await part.writeBatch(head, compression);
  assert.equal(head.buf.readInt32BE(0), 42);
  return Buffer.concat([head.view().subarray(4), body]);
}

const JSON_HEADERS: [string, string][] = [
  ['netspan.event.type', 'soconnect'],
  ['content-type', 'application/json'],
];

for (const compression of ['none', 'gzip'] as const) {
  void test(`RecordBatch v2 (${compression}): every field decodes, the CRC-32C is right`, async () => {
    const d = decodeBatch(await recordBatch(RECORDS, compression));
    assert.equal(d.baseOffset, 0n);
    assert.equal(d.partitionLeaderEpoch, -1);
    assert.equal(d.magic, 2);
    assert.ok(d.crcOk, 'crc');
    assert.equal(d.attributes, compression === 'gzip' ? 1 : 0);
    assert.equal(d.lastOffsetDelta, 7);
    assert.equal(d.baseTimestamp, 1_763_000_000_500n, "the first record's timestamp is the base");
    assert.equal(d.maxTimestamp, 1_763_000_100_000n);
    assert.equal(d.producerId, -1n);
    assert.equal(d.count, 8);
    assert.deepEqual(d.records, [
      { tsDelta: 0, offsetDelta: 0, key: '10.0.0.1:1-10.0.0.2:2', value: '{"a":1}', headers: JSON_HEADERS },
      { tsDelta: -377, offsetDelta: 1, key: null, value: 'ünïcødé ✓', headers: JSON_HEADERS },
      { tsDelta: 99_500, offsetDelta: 2, key: 'k'.repeat(300), value: '', headers: [['h', '']] },
      { tsDelta: -376, offsetDelta: 3, key: 'pöd-ü', value: 'v', headers: JSON_HEADERS },
      { tsDelta: 100, offsetDelta: 4, key: 'a', value: 'x'.repeat(300), headers: JSON_HEADERS },
      { tsDelta: 101, offsetDelta: 5, key: 'b', value: 'y'.repeat(10_000), headers: JSON_HEADERS },
      { tsDelta: 102, offsetDelta: 6, key: 'k'.repeat(300), value: 'z'.repeat(8_100), headers: JSON_HEADERS },
      { tsDelta: 103, offsetDelta: 7, key: null, value: 'w'.repeat(64), headers: [] },
    ]);
  });
}

void test('records of any key and value length decode back exactly, around every varint boundary (property, fixed seed)', async () => {
  // lengths near 63/64 and 8,191/8,192 (one, two, three varint bytes), for the value and for the whole record
  const len = fc.oneof(
    fc.integer({ min: 0, max: 300 }),
    fc.integer({ min: 8_050, max: 8_250 }),
    fc.constantFrom(0, 63, 64, 65, 8_191, 8_192, 20_000),
  );
  const record = fc.record({
    key: fc.option(fc.string({ unit: 'grapheme', maxLength: 200 }), { nil: null }),
    valueLen: len,
    fill: fc.integer({ min: 0x20, max: 0x7e }),
    ts: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }),
    headers: fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 }), { maxKeys: 3 }),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 20 }), async (recs) => {
      const records: KafkaRecord[] = recs.map((r) => ({
        topic: 't',
        key: r.key,
        value: Buffer.alloc(r.valueLen, r.fill),
        headers: r.headers,
        timestampMs: r.ts,
      }));
      const d = decodeBatch(await recordBatch(records, 'none'));
      assert.ok(d.crcOk);
      assert.equal(d.count, records.length);
      assert.equal(d.baseTimestamp, BigInt(records[0]!.timestampMs));
      assert.equal(d.maxTimestamp, BigInt(Math.max(...records.map((r) => r.timestampMs))));
      assert.deepEqual(
        d.records,
        records.map((r, i) => ({
          tsDelta: r.timestampMs - records[0]!.timestampMs,
          offsetDelta: i,
          key: r.key,
          value: r.value.toString('latin1'),
          headers: Object.entries(r.headers),
        })),
      );
    }),
    { seed: 20261122, numRuns: 150 },
  );
});

void test('a record taken back (too large) leaves the batch as if it had never been begun', async () => {
  const part = new PartitionRecords('t', 0);
  const k = Buffer.from('k');
  part.add(5, k, 1, Buffer.from('one'), encodeHeaders({}));
  const start = part.begin(9, k, 1);
  part.w.raw(Buffer.alloc(5000, 'x'));
  part.abandon(start);
  part.add(6, k, 1, Buffer.from('two'), encodeHeaders({}));
  const head = new ByteWriter(16);
  const body = await part.writeBatch(head, 'none');
  const d = decodeBatch(Buffer.concat([head.view(), body]));
  assert.ok(d.crcOk);
  assert.equal(d.maxTimestamp, 6n);
  assert.deepEqual(
    d.records.map((r) => [r.offsetDelta, r.tsDelta, r.value]),
    [
      [0, 0, 'one'],
      [1, 1, 'two'],
    ],
  );
});

void test('records without a key go round-robin over the partitions that have a leader; over all when none has', () => {
  const topic = new ProduceBatch().topic('t');
  const none = Buffer.alloc(0);
  const leaders = (ls: number[]) => ({
    name: 't',
    errorCode: 0,
    partitions: ls.map((leader, partition) => ({ partition, leader, errorCode: 0 })),
  });
  const next = (n: number) => Array.from({ length: n }, () => topic.partitionFor(none, -1).partition);
  topic.setMetadata(leaders([1, -1, 2, -1, 1]));
  const got = next(9);
  assert.deepEqual(new Set(got), new Set([0, 2, 4]), `${got.join(',')}`);
  // in turn: each of the three once in every three records
  for (let i = 3; i < got.length; i++) assert.equal(got[i], got[i - 3]);
  // keyed records keep their partition even when it is offline (as in the Java client)
  const key = Buffer.from('k1');
  const keyed = topic.partitionFor(key, key.length).partition;
  topic.setMetadata(leaders([-1, -1, -1, -1, -1]));
  assert.equal(topic.partitionFor(key, key.length).partition, keyed);
  assert.deepEqual(new Set(next(10)), new Set([0, 1, 2, 3, 4]), 'no partition has a leader: all of them');
  topic.setMetadata(leaders([-1, -1, -1, 3, -1]));
  assert.deepEqual(next(4), [3, 3, 3, 3]);
});

void test('gzip batches are smaller for repetitive records', async () => {
  const many = Array.from({ length: 200 }, (_, i) => ({
    ...RECORDS[0]!,
    value: Buffer.from(`{"sport":${i},"comm":"curl"}`),
  }));
  const plain = await recordBatch(many, 'none');
  const gz = await recordBatch(many, 'gzip');
  assert.ok(gz.length * 4 < plain.length, `${gz.length} vs ${plain.length}`);
  assert.equal(decodeBatch(gz).records.length, 200);
});

void test('reader: truncated and hostile responses throw WireError, never read past the end', () => {
  const w = new ByteWriter();
  w.int32(1).int32(7).string('broker-1').int32(9092).nullableString(null).int32(7).int32(0);
  const full = Buffer.from(w.view());
  assert.deepEqual(readMetadataResponse(full), { brokers: [{ nodeId: 7, host: 'broker-1', port: 9092 }], topics: [] });
  for (let cut = 0; cut < full.length; cut++) {
    assert.throws(() => readMetadataResponse(full.subarray(0, cut)), WireError, `cut at ${cut}`);
  }
  const huge = Buffer.alloc(8);
  huge.writeInt32BE(0x7fffffff, 0);
  assert.throws(() => new ByteReader(huge).array((r) => r.int32()), /array of 2147483647 elements/);
});

void test('error codes: names and kinds', () => {
  assert.equal(errorName(6), 'NOT_LEADER_OR_FOLLOWER');
  assert.equal(errorKind(6), 'transient');
  assert.equal(errorKind(10), 'too_large');
  assert.equal(errorKind(29), 'auth');
  assert.equal(errorKind(3), 'unknown_topic');
  assert.equal(errorName(999), 'KAFKA_ERROR_999');
  assert.equal(errorKind(999), 'permanent');
});

/** A connection to 127.0.0.1:port with a 300 ms request timeout. */
function testConnection(port: number): BrokerConnection {
  return new BrokerConnection({
    host: '127.0.0.1',
    port,
    clientId: 't',
    connectTimeoutMs: 1000,
    requestTimeoutMs: 300,
  });
}

void test('connection: a garbage frame or a response to no request fails the pending request with ConnectionError; so does a silent broker', async () => {
  const server = createServer((s) => {
    s.on('data', (d) => {
      // Metadata (key 3): a garbage reply; ApiVersions (18): a reply with another correlation id; anything else: none
      if (d.readInt16BE(4) === 3) s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
      if (d.readInt16BE(4) === 18) {
        const reply = Buffer.alloc(10);
        reply.writeInt32BE(6, 0);
        reply.writeInt32BE(d.readInt32BE(8) + 1000, 4);
        s.write(reply);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const c = testConnection(port);
    await c.connect();
    await assert.rejects(
      c.request(3, 1, (w) => w.int32(0)),
      (e: unknown) => e instanceof ConnectionError && /bad response frame/.test(e.message),
    );
    assert.equal(c.closed, true);
    const c3 = testConnection(port);
    await c3.connect();
    await assert.rejects(
      c3.request(18, 0, () => undefined),
      (e: unknown) => {
        assert.ok(e instanceof ConnectionError);
        assert.equal(e.message, `response with unknown correlation id 1001 from 127.0.0.1:${port}`);
        return true;
      },
    );
    assert.equal(c3.closed, true);
    const c2 = testConnection(port);
    await c2.connect();
    const t0 = Date.now();
    await assert.rejects(
      c2.request(0, 3, () => undefined),
      (e: unknown) => e instanceof ConnectionError && /timed out after 300 ms/.test(e.message),
    );
    assert.ok(Date.now() - t0 >= 290);
    c2.close();
    c2.close(); // safe twice
    const refused = testConnection(1);
    await assert.rejects(refused.connect(), (e: unknown) => e instanceof ConnectionError && e.code === 'ECONNREFUSED');
  } finally {
    server.close();
  }
});

void test('fuzz: hostile broker responses only ever throw WireError, and quickly (fixed seed)', () => {
  const valid = new ByteWriter();
  valid.int32(1).int32(7).string('b').int32(9092).nullableString(null).int32(7);
  valid.int32(1).int16(0).string('t').int8(0).int32(1).int16(0).int32(0).int32(7).int32(1).int32(7).int32(1).int32(7);
  const seed = Buffer.from(valid.view());
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 256 }),
        // mutations of a valid response: the interesting inputs are almost valid
        fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
          const m = Buffer.from(seed);
          m[i] = b;
          return m;
        }),
      ),
      (bytes) => {
        for (const read of [readMetadataResponse, readProduceResponse]) {
          try {
            read(Buffer.from(bytes));
          } catch (e) {
            assert.ok(e instanceof WireError, `unexpected ${String(e)}`);
          }
        }
      },
    ),
    { seed: 7, numRuns: 20_000 },
  );
});

interface FakeBrokerOptions {
  /** Error code for each partition of the nth (from 0) produce request; undefined: left out of the answer. Default 0. */
  produceError?: (n: number, topic: string, partition: number) => number | undefined;
  /** Leaders (node ids; this broker is 1, -1 none) of a topic's partitions in Metadata. Default: one, led by this broker. */
  leaders?: (topic: string) => number[];
  /** A topic's error code in Metadata (with no partitions when not 0). Default 0. */
  topicError?: (topic: string) => number;
  /** Produce requests are answered this much later. */
  produceDelayMs?: number;
}

interface FakeBroker {
  port: number;
  close: () => void;
  /** The topics asked for by each Metadata request. */
  metadata: string[][];
  /** Each produce request: its acks, its (broker-side) timeout and its partitions as topic/partition. */
  produce: { acks: number; timeoutMs: number; partitions: string[] }[];
}

/**
 * A one-broker cluster (node 1) answering Metadata v1 and Produce v3 as told:
 * misbehaviour librdkafka's mock cluster cannot be made to show, and a record
 * of what the client asked.
 */
async function fakeBroker(o: FakeBrokerOptions = {}): Promise<FakeBroker> {
  const seen: FakeBroker = { port: 0, close: () => undefined, metadata: [], produce: [] };
  const server = createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + frame.length);
        const r = new ByteReader(frame);
        const apiKey = r.int16();
        r.int16();
        const corr = r.int32();
        r.nullableString();
        const w = new ByteWriter();
        const at = w.reserve(4);
        w.int32(corr);
        let delay = 0;
        if (apiKey === 3) {
          const topics = r.array((x) => x.string());
          seen.metadata.push(topics);
          w.int32(1).int32(1).string('127.0.0.1').int32(seen.port).nullableString(null).int32(1);
          w.int32(topics.length);
          for (const t of topics) {
            const error = o.topicError?.(t) ?? 0;
            const leaders = error === 0 ? (o.leaders?.(t) ?? [1]) : [];
            w.int16(error).string(t).int8(0).int32(leaders.length);
            leaders.forEach((leader, i) => w.int16(0).int32(i).int32(leader).int32(1).int32(1).int32(1).int32(1));
          }
        } else {
          const n = seen.produce.length;
          r.nullableString();
          const acks = r.int16();
          const timeoutMs = r.int32();
          const parts: [string, number][] = [];
          r.array((x) => {
            const topic = x.string();
            x.array((y) => {
              parts.push([topic, y.int32()]);
              y.nullableBytes();
            });
          });
          seen.produce.push({ acks, timeoutMs, partitions: parts.map(([t, p]) => `${t}/${p}`) });
          if (acks === 0) continue;
          const answered = parts
            .map(([t, p]) => [t, p, o.produceError ? o.produceError(n, t, p) : 0] as const)
            .filter((x): x is [string, number, number] => x[2] !== undefined);
          w.int32(answered.length);
          for (const [t, p, code] of answered) w.string(t).int32(1).int32(p).int16(code).int64(-1).int64(-1);
          w.int32(0); // throttle
          delay = o.produceDelayMs ?? 0;
        }
        w.int32At(w.pos - 4, at);
        const answer = Buffer.from(w.view());
        if (delay > 0) {
          const timer = setTimeout(() => s.write(answer), delay);
          s.once('close', () => clearTimeout(timer));
        } else s.write(answer);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  seen.port = (server.address() as AddressInfo).port;
  seen.close = () => server.close();
  return seen;
}

function fakeProducer(
  broker: FakeBroker,
  over: Partial<ConstructorParameters<typeof NetspanProducer>[0]> = {},
): NetspanProducer {
  return new NetspanProducer({
    brokers: [`127.0.0.1:${broker.port}`],
    clientId: 't',
    acks: 'all',
    compression: 'none',
    idempotent: false,
    connectTimeoutMs: 1_000,
    requestTimeoutMs: 1_000,
    retries: 1,
    log: () => undefined,
    ...over,
  });
}

const REC: KafkaRecord = { topic: 't', key: 'k', value: Buffer.from('v'), headers: {}, timestampMs: 1 };

void test('producer: a partition missing from the produce response is not taken as delivered; broker error codes map to kinds', async () => {
  const cases: [number | undefined, string, RegExp][] = [
    [undefined, 'transient', /no acknowledgement for t\/0/],
    [10, 'too_large', /MESSAGE_TOO_LARGE for t\/0/],
    [29, 'auth', /TOPIC_AUTHORIZATION_FAILED/],
    [6, 'transient', /NOT_LEADER_OR_FOLLOWER for t\/0/], // after client retries with fresh metadata
    // a broker answers this while a topic or partition is still propagating: the export is retried later
    [3, 'transient', /^UNKNOWN_TOPIC_OR_PARTITION for t\/0$/],
  ];
  for (const [code, kind, message] of cases) {
    const broker = await fakeBroker({ produceError: () => code });
    const p = fakeProducer(broker);
    try {
      await p.connect();
      await assert.rejects(
        p.send([REC]),
        (e: unknown) => e instanceof KafkaSendError && e.kind === kind && message.test(e.message),
        `code ${code}`,
      );
    } finally {
      await p.disconnect();
      broker.close();
    }
  }
});

void test('producer: KAFKA_STORAGE_ERROR and NETWORK_EXCEPTION get fresh metadata and another try within the send', async () => {
  for (const code of [56, 13]) {
    const broker = await fakeBroker({ produceError: (n) => (n === 0 ? code : 0) });
    const p = fakeProducer(broker);
    try {
      await p.connect();
      await p.send([REC]);
      assert.deepEqual(broker.metadata, [[], ['t'], ['t']], `code ${code}: metadata asked for again`);
      assert.deepEqual(
        broker.produce.map((r) => r.partitions),
        [['t/0'], ['t/0']],
        `code ${code}`,
      );
    } finally {
      await p.disconnect();
      broker.close();
    }
  }
});

void test('producer: the metadata of a failed topic is asked for again by the next send, also when the failure was not retried', async () => {
  const broker = await fakeBroker({ produceError: (n) => (n === 0 ? 6 : 0) });
  const p = fakeProducer(broker, { retries: 0 });
  try {
    await p.connect();
    await assert.rejects(
      p.send([REC]),
      (e: unknown) => e instanceof KafkaSendError && /NOT_LEADER_OR_FOLLOWER/.test(e.message),
    );
    await p.send([REC]);
    assert.deepEqual(broker.metadata, [[], ['t'], ['t']]);
    assert.equal(broker.produce.length, 2);
  } finally {
    await p.disconnect();
    broker.close();
  }
});

void test('producer: metadata older than metadataMaxAgeMs is asked for again before a send (partitions added are seen)', async () => {
  let partitions = 1;
  const broker = await fakeBroker({ leaders: () => Array.from({ length: partitions }, () => 1) });
  const p = fakeProducer(broker);
  const batch = new ProduceBatch();
  const none = Buffer.alloc(0);
  const spread = () => new Set(Array.from({ length: 6 }, () => batch.topic('t').partitionFor(none, -1).partition));
  try {
    await p.connect();
    p.metadataMaxAgeMs = 200;
    assert.deepEqual(await p.prepare(batch, ['t']), new Map());
    assert.deepEqual(spread(), new Set([0]));
    partitions = 3;
    await p.prepare(batch, ['t']);
    assert.deepEqual(broker.metadata, [[], ['t']], 'fresh metadata is kept');
    assert.deepEqual(spread(), new Set([0]));
    await new Promise((r) => setTimeout(r, 250));
    await p.prepare(batch, ['t']);
    assert.deepEqual(broker.metadata, [[], ['t'], ['t']]);
    assert.deepEqual(spread(), new Set([0, 1, 2]));
  } finally {
    await p.disconnect();
    broker.close();
  }
});

void test('producer: a topic the cluster metadata says does not exist stays a permanent failure', async () => {
  const unknownTopic = (e: unknown) =>
    e instanceof KafkaSendError &&
    e.kind === 'unknown_topic' &&
    e.message === 'UNKNOWN_TOPIC_OR_PARTITION for topic t (from the cluster metadata)';
  const broker = await fakeBroker({ topicError: () => 3 });
  const p = fakeProducer(broker);
  try {
    await p.connect();
    assert.deepEqual(await p.prepare(new ProduceBatch(), ['t']), new Map([['t', 3]]));
    await assert.rejects(p.send([REC]), unknownTopic);
    assert.equal(broker.produce.length, 0);
  } finally {
    await p.disconnect();
    broker.close();
  }
  // deleted between prepare() and the retry of its send
  const gone = await fakeBroker({ produceError: () => 6, topicError: () => (gone.produce.length > 0 ? 3 : 0) });
  const q = fakeProducer(gone);
  try {
    await q.connect();
    await assert.rejects(q.send([REC]), unknownTopic);
    assert.deepEqual(gone.metadata, [[], ['t'], ['t']]);
  } finally {
    await q.disconnect();
    gone.close();
  }
});

void test("producer: a produce request waits 2 s longer than the ack timeout it sends, for the broker's own answer", async () => {
  // answered 700 ms after a 300 ms ack timeout: within the client's 2,300 ms
  const slow = await fakeBroker({ produceDelayMs: 700 });
  const p = fakeProducer(slow, { requestTimeoutMs: 300, retries: 0 });
  try {
    await p.connect();
    await p.send([REC]);
    assert.deepEqual(
      slow.produce.map((r) => [r.acks, r.timeoutMs]),
      [[-1, 300]],
    );
  } finally {
    await p.disconnect();
    slow.close();
  }
  // never answered: the connection gives up after 2,300 ms
  const silent = await fakeBroker({ produceDelayMs: 60_000 });
  const q = fakeProducer(silent, { requestTimeoutMs: 300, retries: 0 });
  try {
    await q.connect();
    const t0 = Date.now();
    await assert.rejects(
      q.send([REC]),
      (e: unknown) =>
        e instanceof KafkaSendError &&
        e.kind === 'transient' &&
        e.connectionLost &&
        e.message === `request to 127.0.0.1:${silent.port} timed out after 2300 ms`,
    );
    const took = Date.now() - t0;
    assert.ok(took >= 2_250 && took < 4_000, `${took} ms`);
  } finally {
    await q.disconnect();
    silent.close();
  }
});

void test('connection: a request without a response (acks=0) that a broker does not read fails after the timeout; TCP keepalive is on', async () => {
  const server = createServer((s) => s.pause()); // reads nothing: the client's bytes back up
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const keepAlive = mock.method(Socket.prototype, 'setKeepAlive');
  const c = testConnection(port);
  try {
    await c.connect();
    assert.deepEqual(
      keepAlive.mock.calls.map((x) => x.arguments),
      [[true, 30_000]],
    );
    // more than the socket buffers of both ends hold
    const big = Buffer.alloc(96 * 1024 * 1024);
    const t0 = Date.now();
    const outcome = await Promise.race([
      c.request(0, 3, [big], 0, false).then(
        () => 'written',
        (e: unknown) => e,
      ),
      new Promise((r) => setTimeout(() => r('still pending after 5 s'), 5_000).unref()),
    ]);
    assert.ok(
      outcome instanceof ConnectionError && outcome.message === `request to 127.0.0.1:${port} timed out after 300 ms`,
      String(outcome),
    );
    assert.ok(Date.now() - t0 >= 290);
    assert.equal(c.closed, true);
  } finally {
    keepAlive.mock.restore();
    c.close();
    server.close();
  }
});
