/**
 * The Kafka exporter against a real Kafka protocol endpoint (librdkafka's
 * mock cluster run by kcat), read back by kcat — a client that is not ours.
 */
import { after, before, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import type { NetEvent } from '../../core/event.js';
import type { ComponentContext } from '../../pipeline/component.js';
import { silentLogger } from '../../telemetry/log.js';
import {
  consumeAll,
  startMockCluster,
  type ConsumedRecord,
  type MockCluster,
} from '../../../test/helpers/kafka-mock.js';
import { testTelemetry } from '../../../test/helpers/telemetry.js';
import { kafkaConfigSchema } from './config.js';
import { clientTest, type Client } from './client-test.js';
import { KafkaExporter } from './exporter.js';
import type { BrokerConnection } from './wire/connection.js';
import { NetspanProducer } from './wire/producer.js';
import type { ProduceBatch } from './wire/produce-batch.js';
import { BATCH_HEADER_BYTES } from './wire/record-batch.js';
import { encodedRecordSize, toRecord } from './encode.js';
import { exportLogsServiceRequestType } from './otlp.js';
import { gethostlatency, skbdrop, soconnect, tcpretrans, udpconnect } from './testdata.js';

let cluster: MockCluster;
let topicSeq = 0;

before(async () => {
  cluster = await startMockCluster(3);
});
after(async () => {
  await cluster.stop();
});

function ctx(id = 'kafka/test'): ComponentContext {
  return { id, telemetry: testTelemetry(), logger: silentLogger(), env: {} };
}

/** A fresh topic prefix per test, so each test reads only its own records. */
function prefix(): string {
  return `t${++topicSeq}-${process.pid}`;
}

async function withExporter<T>(
  client: Client,
  over: Record<string, unknown>,
  fn: (exp: KafkaExporter, c: ComponentContext) => Promise<T>,
): Promise<T> {
  const c = ctx();
  const cfg = kafkaConfigSchema.parse({ brokers: cluster.bootstrap, connect_timeout_ms: 5_000, client, ...over });
  const exp = new KafkaExporter(cfg, c);
  await exp.start();
  try {
    return await fn(exp, c);
  } finally {
    await exp.shutdown();
  }
}

function records(c: ComponentContext, topic: string, outcome: string): number {
  return c.telemetry.metrics.counter('netspan_kafka_records_total', '').get({ exporter: c.id, topic, outcome });
}

function json(r: ConsumedRecord): unknown {
  return JSON.parse(r.value.toString('utf8'));
}

const HEADERS_JSON = (type: string) => ({
  'netspan.event.type': type,
  'netspan.schema.version': '1',
  'content-type': 'application/json',
});

clientTest(
  'json: one record per event, a topic per type, exact values, keys and headers',
  { timeout: 60_000 },
  async (client) => {
    const p = prefix();
    const batch: NetEvent[] = [
      soconnect(),
      tcpretrans(),
      udpconnect(),
      gethostlatency({ attributes: { 'k8s.pod.uid': 'pod-uid-1', 'k8s.namespace.name': 'shop' } }),
      skbdrop(),
    ];
    await withExporter(client, { topic: `${p}.{type}` }, async (exp, c) => {
      assert.equal(exp.healthy, true);
      assert.deepEqual(await exp.export(batch), { code: 'success' });
      assert.equal(records(c, `${p}.soconnect`, 'sent'), 1);
      assert.equal(records(c, `${p}.skbdrop`, 'sent'), 1);
    });

    const so = await consumeAll(cluster.bootstrap, `${p}.soconnect`);
    assert.equal(so.length, 1);
    assert.equal(so[0]!.key?.toString(), '10.0.0.1:40000-10.0.0.2:443');
    assert.deepEqual(so[0]!.headers, HEADERS_JSON('soconnect'));
    assert.equal(so[0]!.timestampMs, 1_763_000_000_123);
    assert.deepEqual(json(so[0]!), {
      type: 'soconnect',
      schema_version: 1,
      time: '2025-11-13T02:13:20.123456789Z',
      time_unix_nano: '1763000000123456789',
      pid: 4711,
      tid: 4712,
      comm: 'curl',
      cgroup_id: 9876,
      family: 'ipv4',
      saddr: '10.0.0.1',
      sport: 40000,
      daddr: '10.0.0.2',
      dport: 443,
      result: 'ESTABLISHED',
      latency_ns: 120000,
      non_blocking: true,
    });

    const udp = await consumeAll(cluster.bootstrap, `${p}.udpconnect`);
    assert.equal(udp.length, 1);
    assert.equal(udp[0]!.key?.toString(), '[fd00::1]:5353-[fd00::53]:53');
    assert.deepEqual(udp[0]!.headers, HEADERS_JSON('udpconnect'));

    const dns = await consumeAll(cluster.bootstrap, `${p}.gethostlatency`);
    assert.equal(dns.length, 1);
    assert.equal(dns[0]!.key?.toString(), 'pod-uid-1', 'no 4-tuple: falls back to the pod uid');
    assert.deepEqual(json(dns[0]!), {
      type: 'gethostlatency',
      schema_version: 1,
      time: '2025-11-13T02:13:20.123456792Z',
      time_unix_nano: '1763000000123456792',
      pid: 301,
      tid: 302,
      comm: 'python3',
      cgroup_id: 0,
      func: 'getaddrinfo',
      host: 'example.internal',
      latency_ns: 2500000,
      result: 'OK',
      addresses: ['10.1.2.3', 'fd00::3'],
      attributes: { 'k8s.pod.uid': 'pod-uid-1', 'k8s.namespace.name': 'shop' },
    });

    const drop = await consumeAll(cluster.bootstrap, `${p}.skbdrop`);
    assert.equal(drop.length, 1);
    assert.equal(
      drop[0]!.key?.toString(),
      '10.0.0.1:40000-10.0.0.2:443',
      'the dropped reply packet keys like its connection',
    );
    assert.deepEqual(drop[0]!.headers, HEADERS_JSON('skbdrop'));
    assert.deepEqual((json(drop[0]!) as Record<string, unknown>).stack, ['kfree_skb_reason+0x1', 'nf_hook_slow+0x97']);

    const re = await consumeAll(cluster.bootstrap, `${p}.tcpretrans`);
    assert.equal(re.length, 1);
    assert.equal(re[0]!.key?.toString(), '10.0.0.1:40000-10.0.0.2:443');
  },
);

clientTest('keys: a connection stays in one partition; pod_uid and none modes', { timeout: 60_000 }, async (client) => {
  const p = prefix();
  // 3 events of one connection (both directions), 24 other connections.
  const same = [soconnect(), tcpretrans(), skbdrop()];
  const others = Array.from({ length: 24 }, (_, i) => soconnect({ sport: 50000 + i, timeUnixNano: BigInt(i) }));
  await withExporter(client, { topic: `${p}.all` }, async (exp) => {
    assert.deepEqual(await exp.export([...same, ...others]), { code: 'success' });
  });
  const got = await consumeAll(cluster.bootstrap, `${p}.all`);
  assert.equal(got.length, 27);
  const conn = got.filter((r) => r.key?.toString() === '10.0.0.1:40000-10.0.0.2:443');
  assert.deepEqual(conn.map((r) => r.headers['netspan.event.type']).sort(), ['skbdrop', 'soconnect', 'tcpretrans']);
  assert.equal(new Set(conn.map((r) => r.partition)).size, 1, 'one connection, one partition');
  // Java-compatible murmur2 over 4 partitions: same key, same partition, across the whole topic.
  const byKey = new Map<string, Set<number>>();
  for (const r of got) {
    const k = r.key!.toString();
    byKey.set(k, (byKey.get(k) ?? new Set()).add(r.partition));
  }
  assert.equal(byKey.size, 25);
  for (const parts of byKey.values()) assert.equal(parts.size, 1);
  assert.ok(new Set(got.map((r) => r.partition)).size > 1, 'different connections spread over partitions');

  const q = prefix();
  await withExporter(client, { topic: `${q}.pod`, key: 'pod_uid' }, async (exp) => {
    assert.deepEqual(
      await exp.export([soconnect({ attributes: { 'k8s.pod.uid': 'uid-a' } }), soconnect({ pid: 99 })]),
      { code: 'success' },
    );
  });
  const pod = await consumeAll(cluster.bootstrap, `${q}.pod`);
  assert.deepEqual(pod.map((r) => r.key?.toString()).sort(), ['pid:99', 'uid-a']);

  const n = prefix();
  await withExporter(client, { topic: `${n}.none`, key: 'none' }, async (exp) => {
    assert.deepEqual(await exp.export([soconnect()]), { code: 'success' });
  });
  const none = await consumeAll(cluster.bootstrap, `${n}.none`);
  assert.equal(none.length, 1);
  assert.equal(none[0]!.key, null);
});

interface Decoded {
  resourceLogs: {
    resource: { attributes: unknown[] };
    scopeLogs: { scope: { name: string }; logRecords: Record<string, unknown>[] }[];
  }[];
}

clientTest(
  'otlp_proto: each record is an ExportLogsServiceRequest decodable with the official protos',
  { timeout: 60_000 },
  async (client) => {
    const p = prefix();
    const before = BigInt(Date.now()) * 1_000_000n;
    const ev = tcpretrans({
      attributes: {
        'k8s.pod.uid': 'uid-7',
        'k8s.namespace.name': 'shop',
        'k8s.pod.name': 'cart-0',
        'server.address': 'api.shop',
      },
    });
    await withExporter(client, { topic: `${p}.otlp`, encoding: 'otlp_proto' }, async (exp) => {
      assert.deepEqual(await exp.export([ev, soconnect()]), { code: 'success' });
    });
    const after = BigInt(Date.now()) * 1_000_000n;
    const got = await consumeAll(cluster.bootstrap, `${p}.otlp`);
    assert.equal(got.length, 2);
    const type = exportLogsServiceRequestType();
    const decode = (r: ConsumedRecord): Decoded =>
      type.toObject(type.decode(r.value), { longs: String, enums: Number, defaults: false }) as Decoded;
    const retrans = got.find((r) => r.headers['netspan.event.type'] === 'tcpretrans')!;
    assert.deepEqual(retrans.headers, {
      'netspan.event.type': 'tcpretrans',
      'netspan.schema.version': '1',
      'content-type': 'application/x-protobuf',
    });
    const req = decode(retrans);
    assert.equal(req.resourceLogs.length, 1);
    const rl = req.resourceLogs[0]!;
    assert.deepEqual(rl.resource.attributes, [
      { key: 'k8s.pod.uid', value: { stringValue: 'uid-7' } },
      { key: 'k8s.namespace.name', value: { stringValue: 'shop' } },
      { key: 'k8s.pod.name', value: { stringValue: 'cart-0' } },
    ]);
    assert.equal(rl.scopeLogs.length, 1);
    assert.equal(rl.scopeLogs[0]!.scope.name, 'netspan');
    const lr = rl.scopeLogs[0]!.logRecords[0]!;
    assert.equal(lr.timeUnixNano, '1763000000123456790');
    const observed = BigInt(lr.observedTimeUnixNano as string);
    assert.ok(observed >= before && observed <= after, `observed time ${observed} within the export`);
    assert.equal(lr.severityNumber, 13);
    assert.equal(lr.severityText, 'WARN');
    assert.deepEqual(lr.attributes, [
      { key: 'netspan.task.pid', value: { intValue: '4711' } },
      { key: 'netspan.task.tid', value: { intValue: '4712' } },
      { key: 'netspan.task.command', value: { stringValue: 'curl' } },
      { key: 'netspan.event.type', value: { stringValue: 'tcpretrans' } },
      { key: 'netspan.cgroup.id', value: { intValue: '9876' } },
      { key: 'network.transport', value: { stringValue: 'tcp' } },
      { key: 'network.type', value: { stringValue: 'ipv4' } },
      { key: 'network.peer.address', value: { stringValue: '10.0.0.2' } },
      { key: 'network.peer.port', value: { intValue: '443' } },
      { key: 'network.local.address', value: { stringValue: '10.0.0.1' } },
      { key: 'network.local.port', value: { intValue: '40000' } },
      { key: 'tcp.state', value: { stringValue: 'ESTABLISHED' } },
      { key: 'tcp.retransmit.kind', value: { stringValue: 'fast' } },
      { key: 'server.address', value: { stringValue: 'api.shop' } },
    ]);
    const body = lr.body as { kvlistValue: { values: { key: string; value: Record<string, unknown> }[] } };
    const bodyMap = Object.fromEntries(body.kvlistValue.values.map((kv) => [kv.key, kv.value]));
    assert.deepEqual(bodyMap.type, { stringValue: 'tcpretrans' });
    assert.deepEqual(bodyMap.time_unix_nano, { stringValue: '1763000000123456790' });
    assert.deepEqual(bodyMap.sport, { intValue: '40000' });
    assert.deepEqual(bodyMap.state, { stringValue: 'ESTABLISHED' });
    assert.deepEqual(bodyMap.kind, { stringValue: 'fast' });
    assert.deepEqual(Object.keys(bodyMap), [
      'type',
      'schema_version',
      'time',
      'time_unix_nano',
      'pid',
      'tid',
      'comm',
      'cgroup_id',
      'family',
      'saddr',
      'sport',
      'daddr',
      'dport',
      'state',
      'kind',
      'attributes',
    ]);

    const conn = decode(got.find((r) => r.headers['netspan.event.type'] === 'soconnect')!);
    const clr = conn.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!;
    assert.deepEqual(conn.resourceLogs[0]!.resource.attributes ?? [], []);
    assert.equal(clr.severityNumber, 9);
    assert.equal(clr.severityText, 'INFO');
    assert.equal(clr.timeUnixNano, '1763000000123456789');
  },
);

clientTest(
  'otlp_json: OTLP/JSON rules (camelCase, 64-bit integers as strings, enum numbers), string body',
  { timeout: 60_000 },
  async (client) => {
    const p = prefix();
    await withExporter(client, { topic: `${p}.oj`, encoding: 'otlp_json', otlp_body: 'string' }, async (exp) => {
      assert.deepEqual(await exp.export([skbdrop({ attributes: { 'host.name': 'node-1' } })]), { code: 'success' });
    });
    const got = await consumeAll(cluster.bootstrap, `${p}.oj`);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.headers, HEADERS_JSON('skbdrop'));
    const req = JSON.parse(got[0]!.value.toString('utf8')) as Decoded;
    const rl = req.resourceLogs[0]!;
    assert.deepEqual(rl.resource, { attributes: [{ key: 'host.name', value: { stringValue: 'node-1' } }] });
    const lr = rl.scopeLogs[0]!.logRecords[0]!;
    assert.deepEqual(Object.keys(lr), [
      'timeUnixNano',
      'observedTimeUnixNano',
      'severityNumber',
      'severityText',
      'body',
      'attributes',
    ]);
    assert.equal(lr.timeUnixNano, '1763000000123456793');
    assert.equal(typeof lr.observedTimeUnixNano, 'string');
    assert.equal(lr.severityNumber, 13);
    assert.equal(lr.severityText, 'WARN');
    const body = lr.body as { stringValue: string };
    assert.deepEqual(JSON.parse(body.stringValue), {
      type: 'skbdrop',
      schema_version: 1,
      time: '2025-11-13T02:13:20.123456793Z',
      time_unix_nano: '1763000000123456793',
      pid: 0,
      tid: 0,
      comm: 'swapper/0',
      cgroup_id: 0,
      reason: 'NETFILTER_DROP',
      protocol: 'IPv4',
      location: 'nf_hook_slow+0x97',
      stack: ['kfree_skb_reason+0x1', 'nf_hook_slow+0x97'],
      family: 'ipv4',
      saddr: '10.0.0.2',
      daddr: '10.0.0.1',
      l4_protocol: 'TCP',
      sport: 443,
      dport: 40000,
      attributes: { 'host.name': 'node-1' },
    });
    const attrs = lr.attributes as { key: string; value: unknown }[];
    assert.deepEqual(
      attrs.find((a) => a.key === 'source.port'),
      { key: 'source.port', value: { intValue: '443' } },
    );
    assert.deepEqual(
      attrs.find((a) => a.key === 'network.transport'),
      { key: 'network.transport', value: { stringValue: 'tcp' } },
    );
    // The official protos accept it as OTLP/JSON and it round-trips.
    const type = exportLogsServiceRequestType();
    const back = type.toObject(type.decode(type.encode(type.fromObject(req)).finish()), {
      longs: String,
      enums: Number,
    });
    assert.equal((back as Decoded).resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.timeUnixNano, '1763000000123456793');
  },
);

clientTest('acks leader and none: every record arrives', { timeout: 60_000 }, async (client) => {
  for (const acks of ['leader', 'none'] as const) {
    const p = prefix();
    const batch = Array.from({ length: 40 }, (_, i) => soconnect({ sport: 20000 + i }));
    await withExporter(client, { topic: `${p}.acks`, acks }, async (exp, c) => {
      assert.deepEqual(await exp.export(batch), { code: 'success' });
      assert.equal(records(c, `${p}.acks`, 'sent'), 40);
    });
    const got = await consumeAll(cluster.bootstrap, `${p}.acks`);
    assert.deepEqual(
      got.map((r) => (json(r) as { sport: number }).sport).sort(),
      batch.map((e) => e.sport).sort(),
      `acks ${acks}`,
    );
  }
});

clientTest(
  'gzip: records are compressed by our producer and decompressed by kcat',
  { timeout: 60_000 },
  async (client) => {
    const p = prefix();
    const { CompressionCodecs, CompressionTypes } = kafkajs;
    interface Codec {
      compress(encoder: unknown): Promise<Buffer>;
      decompress(buf: Buffer): Promise<Buffer>;
    }
    const codecs = CompressionCodecs as unknown as Record<number, () => Codec>;
    const original = codecs[CompressionTypes.GZIP]!;
    let compressed = 0;
    codecs[CompressionTypes.GZIP] = () => {
      const codec = original();
      return {
        compress: (encoder: unknown) => {
          compressed++;
          return codec.compress(encoder);
        },
        decompress: (buf: Buffer) => codec.decompress(buf),
      };
    };
    try {
      const batch = Array.from({ length: 50 }, (_, i) => soconnect({ sport: 30000 + i }));
      await withExporter(client, { topic: `${p}.gz`, compression: 'gzip', key: 'none' }, async (exp) => {
        assert.deepEqual(await exp.export(batch), { code: 'success' });
      });
      // kafkajs: its gzip codec ran; netspan: wire/record-batch.test.ts decodes the gzip batch it writes
      if (client === 'kafkajs') assert.ok(compressed >= 1, 'the gzip codec compressed the record batch');
      const got = await consumeAll(cluster.bootstrap, `${p}.gz`);
      assert.deepEqual(got.map((r) => (json(r) as { sport: number }).sport).sort(), batch.map((e) => e.sport).sort());
    } finally {
      codecs[CompressionTypes.GZIP] = original;
    }
  },
);

clientTest(
  'an export over max_batch_bytes goes out as several produce requests: every record arrives once, in order',
  { timeout: 60_000 },
  async (client) => {
    const p = prefix();
    // no key: spread over the partitions, so that no partition's batch reaches max_message_bytes
    // (the test below) and the requests are cut by max_batch_bytes alone
    const events = Array.from({ length: 12 }, (_, i) => soconnect({ sport: 40_000 + i }));
    const spy = mock.method(NetspanProducer.prototype, 'sendBatch');
    try {
      await withExporter(
        client,
        { topic: `${p}.split`, key: 'none', max_message_bytes: 1024, max_batch_bytes: 2048 },
        async (exp, c) => {
          assert.deepEqual(await exp.export(events), { code: 'success' });
          assert.equal(records(c, `${p}.split`, 'sent'), 12);
        },
      );
    } finally {
      spy.mock.restore();
    }
    // each record is ~480 bytes: four fit in 2,048
    assert.equal(spy.mock.callCount(), client === 'netspan' ? 3 : 0);
    const got = await consumeAll(cluster.bootstrap, `${p}.split`);
    const sport = (r: ConsumedRecord) => (json(r) as { sport: number }).sport;
    assert.deepEqual(
      got.map(sport).sort((a, b) => a - b),
      events.map((e) => e.sport),
    );
    for (const partition of new Set(got.map((r) => r.partition))) {
      const inPartition = got.filter((r) => r.partition === partition).map(sport);
      assert.deepEqual(
        inPartition,
        [...inPartition].sort((a, b) => a - b),
        `partition ${partition} in order`,
      );
    }
  },
);

void test(
  '[netspan] no partition batch is over max_message_bytes: a full one goes out first; every record arrives once, in order',
  { timeout: 60_000 },
  async () => {
    const p = prefix();
    // one key (the pid): one partition; ~480 bytes each, 5.8 kB in all: well under max_batch_bytes
    const events = Array.from({ length: 12 }, (_, i) => soconnect({ sport: 40_000 + i }));
    const sent: { records: number; bytes: number }[][] = [];
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the producer as `this`
    const original = NetspanProducer.prototype.sendBatch;
    const spy = mock.method(NetspanProducer.prototype, 'sendBatch', function (this: NetspanProducer, b: ProduceBatch) {
      // each partition's RecordBatch as it goes out: its header and its records
      sent.push(b.filled().map((part) => ({ records: part.count, bytes: BATCH_HEADER_BYTES + part.w.pos })));
      return original.call(this, b);
    });
    try {
      await withExporter('netspan', { topic: `${p}.cap`, key: 'pod_uid', max_message_bytes: 1024 }, async (exp, c) => {
        assert.deepEqual(await exp.export(events), { code: 'success' });
        assert.equal(records(c, `${p}.cap`, 'sent'), 12);
      });
    } finally {
      spy.mock.restore();
    }
    for (const batch of sent) {
      assert.equal(batch.length, 1, 'one partition');
      assert.ok(batch[0]!.bytes <= 1024, `a batch of ${batch[0]!.bytes} bytes`);
    }
    // two records of ~480 bytes and a header of 61 fit in 1,024; a third does not
    assert.deepEqual(
      sent.map((b) => b[0]!.records),
      [2, 2, 2, 2, 2, 2],
    );
    const got = await consumeAll(cluster.bootstrap, `${p}.cap`);
    assert.deepEqual(
      got.map((r) => (json(r) as { sport: number }).sport),
      events.map((e) => e.sport),
    );
    assert.equal(new Set(got.map((r) => r.partition)).size, 1);
  },
);

void test(
  '[kafkajs] no send is over one RecordBatch (max_message_bytes): a one-partition topic gets every record, in order',
  { timeout: 60_000 },
  async () => {
    const p = prefix();
    // one key (the pid): one partition, so a send is one RecordBatch; ~480 bytes each, 5.8 kB in all:
    // well under max_batch_bytes, four times max_message_bytes
    const events = Array.from({ length: 12 }, (_, i) => soconnect({ sport: 40_000 + i }));
    const cfg = kafkaConfigSchema.parse({ topic: `${p}.cap`, key: 'pod_uid', max_message_bytes: 1024 });
    const sizeOf = new Map<number, number>(); // sport → the record's bytes in a batch
    for (const e of events)
      sizeOf.set(
        e.sport,
        encodedRecordSize(
          e,
          toRecord(e, cfg, () => 0n),
          cfg,
        ),
      );
    const batches: number[][] = []; // per sendBatch: the sports of its records
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the client as `this`
    const producer = kafkajs.Kafka.prototype.producer;
    const spy = mock.method(kafkajs.Kafka.prototype, 'producer', function (this: kafkajs.Kafka, ...a: unknown[]) {
      const made = producer.apply(this, a as Parameters<typeof producer>);
      const sendBatch = made.sendBatch.bind(made);
      made.sendBatch = (b) => {
        const sports = (b.topicMessages ?? []).flatMap((t) =>
          t.messages.map((m) => (JSON.parse(String(m.value)) as { sport: number }).sport),
        );
        batches.push(sports);
        return sendBatch(b);
      };
      return made;
    });
    try {
      await withExporter('kafkajs', { topic: `${p}.cap`, key: 'pod_uid', max_message_bytes: 1024 }, async (exp, c) => {
        assert.deepEqual(await exp.export(events), { code: 'success' });
        assert.equal(records(c, `${p}.cap`, 'sent'), 12);
      });
    } finally {
      spy.mock.restore();
    }
    assert.ok(batches.length >= 6, `${batches.length} sends`);
    for (const b of batches) {
      const bytes = BATCH_HEADER_BYTES + b.reduce((n, sport) => n + sizeOf.get(sport)!, 0);
      assert.ok(bytes <= 1024, `a batch of ${bytes} bytes: ${JSON.stringify(b)}`);
    }
    assert.deepEqual(
      batches.flat(),
      events.map((e) => e.sport),
    );
    const got = await consumeAll(cluster.bootstrap, `${p}.cap`);
    assert.deepEqual(
      got.map((r) => (json(r) as { sport: number }).sport),
      events.map((e) => e.sport),
    );
    assert.equal(new Set(got.map((r) => r.partition)).size, 1);
  },
);

clientTest(
  'a record over max_message_bytes is not sent: failure, counted as dropped; the rest is delivered',
  { timeout: 60_000 },
  async (client) => {
    const p = prefix();
    const big = skbdrop({ stack: Array.from({ length: 100 }, (_, i) => `frame_${i}+0x10`) });
    await withExporter(client, { topic: `${p}.big`, max_message_bytes: 1024 }, async (exp, c) => {
      const r = await exp.export([soconnect(), big, tcpretrans(), udpconnect()]);
      assert.equal(r.code, 'failure');
      assert.match(
        (r as { error: string }).error,
        /^1 of 4 records not sent: a skbdrop record of \d+ bytes for topic t\d+-\d+\.big exceeds max_message_bytes=1024; the other 3 were delivered$/,
      );
      assert.equal(records(c, `${p}.big`, 'sent'), 3);
      assert.equal(records(c, `${p}.big`, 'dropped'), 1);
    });
    const got = await consumeAll(cluster.bootstrap, `${p}.big`);
    assert.deepEqual(got.map((r) => r.headers['netspan.event.type']).sort(), ['soconnect', 'tcpretrans', 'udpconnect']);
  },
);

clientTest(
  "max_message_bytes counts the record's batch header: a record that fits with it is sent, one byte larger is not",
  { timeout: 60_000 },
  async (client) => {
    const p = prefix();
    const over = { topic: `${p}.edge`, max_message_bytes: 1024 };
    const cfg = kafkaConfigSchema.parse({ brokers: cluster.bootstrap, ...over });
    const size = (e: NetEvent) => encodedRecordSize(e, toRecord(e, cfg), cfg);
    // a soconnect record of `n` bytes (key + value + headers, as the exporter counts them): comm makes it up
    const sized = (n: number) => {
      const e = soconnect({ comm: 'c'.repeat(n - size(soconnect({ comm: '' }))) });
      assert.equal(size(e), n);
      return e;
    };
    const fits = sized(1024 - BATCH_HEADER_BYTES);
    const tooLarge = sized(1024 - BATCH_HEADER_BYTES + 1);
    await withExporter(client, over, async (exp, c) => {
      assert.deepEqual(await exp.export([tooLarge, fits]), {
        code: 'failure',
        error: `1 of 2 records not sent: a soconnect record of 1025 bytes for topic ${p}.edge exceeds max_message_bytes=1024; the other 1 were delivered`,
        delivered: 1,
      });
      assert.equal(records(c, `${p}.edge`, 'dropped'), 1);
      assert.equal(records(c, `${p}.edge`, 'sent'), 1);
    });
    const got = await consumeAll(cluster.bootstrap, `${p}.edge`);
    assert.deepEqual(
      got.map((r) => (json(r) as { comm: string }).comm),
      [fits.comm],
    );
  },
);

void test(
  '[netspan] connections the broker closed (idle timeout) are opened again by the next send',
  { timeout: 60_000 },
  async () => {
    const p = prefix();
    const producer = new NetspanProducer({
      brokers: cluster.brokers,
      clientId: 'idle-test',
      acks: 'all',
      compression: 'none',
      idempotent: false,
      connectTimeoutMs: 2_000,
      requestTimeoutMs: 5_000,
      retries: 2,
      log: () => undefined,
    });
    const rec = (topic: string, n: number) => ({
      topic,
      key: `k${n}`,
      value: Buffer.from(`{"n":${n}}`),
      headers: {},
      timestampMs: 1_763_000_000_000 + n,
    });
    try {
      await producer.connect();
      await producer.send([rec(`${p}.a`, 1)]);
      const inner = producer as unknown as { bootstrap?: BrokerConnection; conns: Map<number, BrokerConnection> };
      inner.bootstrap?.close();
      for (const c of inner.conns.values()) c.close();
      // a new topic: needs metadata, which needs a connection again
      await producer.send([rec(`${p}.b`, 2), rec(`${p}.a`, 3)]);
    } finally {
      await producer.disconnect();
    }
    const a = await consumeAll(cluster.bootstrap, `${p}.a`);
    const b = await consumeAll(cluster.bootstrap, `${p}.b`);
    assert.deepEqual(a.map((r) => r.value.toString()).sort(), ['{"n":1}', '{"n":3}']);
    assert.deepEqual(
      b.map((r) => r.value.toString()),
      ['{"n":2}'],
    );
  },
);
