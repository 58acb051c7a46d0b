/**
 * netspan's own Kafka producer (the `netspan` client): Metadata v1 and
 * Produce v3 with RecordBatch v2 written straight into each request. It
 * exists for speed — kafkajs builds several objects and zero-filled buffers
 * per record and peaks at ~27k records per CPU-second here, against the
 * issue's 100k events per core — and covers what a node agent needs:
 * plaintext or TLS, acks all/leader/none, no compression or gzip,
 * Java-compatible key partitioning. SASL and the idempotent producer stay
 * with kafkajs (config `client: auto` picks kafkajs for them).
 *
 * send(): metadata for unknown topics, partition per record (murmur2 of the
 * key like the Java client, round-robin without a key), one produce request
 * per leader in parallel. Partitions that fail with a leadership / topic
 * creation error get fresh metadata and another try, up to `retries` times;
 * anything else throws `KafkaSendError` with its kind. Connection failures
 * throw with `connectionLost`, and the exporter starts over from the
 * bootstrap brokers.
 */
import { KafkaSendError, type KafkaRecord, type ProducerClient, type ProducerClientOptions } from '../client.js';
import { murmur2Key } from '../partitioner.js';
import { ByteWriter, WireError } from './bytes.js';
import { BrokerConnection, ConnectionError } from './connection.js';
import {
  API_METADATA,
  API_PRODUCE,
  errorKind,
  errorName,
  readMetadataResponse,
  readProduceResponse,
  refreshesMetadata,
  writeMetadataRequest,
  type BrokerInfo,
  type TopicInfo,
} from './protocol.js';
import { writeRecordBatch } from './record-batch.js';

const ACKS = { all: -1, leader: 1, none: 0 } as const;
/** Topics whose metadata is kept; the exporter's topics are one per event type, so this is only a guard. */
const MAX_TOPICS = 1_000;
/** Request buffers larger than this are not kept for the next request. */
const MAX_KEPT_WRITER = 8 * 1024 * 1024;

interface Route {
  leader: number;
  topic: string;
  partition: number;
  records: KafkaRecord[];
}

function parseHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const host = s.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(s.slice(i + 1)) };
}

export class NetspanProducer implements ProducerClient {
  private readonly brokers = new Map<number, BrokerInfo>();
  private readonly conns = new Map<number, BrokerConnection>();
  private bootstrap: BrokerConnection | undefined;
  private readonly topics = new Map<string, TopicInfo>();
  private readonly roundRobin = new Map<string, number>();
  /** Why the last metadata had no partitions for a topic (being created, unknown, not authorized). */
  private readonly topicErrors = new Map<string, number>();
  private closed = false;
  /**
   * A produce request's buffer per leader, kept for its next request (a new
   * one of ~200 KB per export costs page faults and zeroing by the kernel).
   */
  private readonly writers = new Map<number, ByteWriter>();

  constructor(private readonly opts: ProducerClientOptions) {
    if (opts.sasl) throw new Error('the netspan Kafka client does not do SASL; use client: kafkajs (or auto)');
    if (opts.idempotent) throw new Error('the netspan Kafka client is not idempotent; use client: kafkajs (or auto)');
    if (opts.tls) throw new Error('the netspan Kafka client does not do TLS; use client: kafkajs (or auto)');
  }

  private open(host: string, port: number): BrokerConnection {
    return new BrokerConnection({
      host,
      port,
      clientId: this.opts.clientId,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      requestTimeoutMs: this.opts.requestTimeoutMs,
    });
  }

  async connect(): Promise<void> {
    const errors: string[] = [];
    const start = Math.floor(Math.random() * this.opts.brokers.length);
    for (let i = 0; i < this.opts.brokers.length && !this.closed; i++) {
      const { host, port } = parseHostPort(this.opts.brokers[(start + i) % this.opts.brokers.length]!);
      const conn = this.open(host, port);
      try {
        await conn.connect();
        this.bootstrap = conn;
        await this.refresh([]);
        return;
      } catch (e) {
        conn.close();
        this.bootstrap = undefined;
        errors.push(e instanceof Error ? e.message : String(e));
      }
    }
    throw new KafkaSendError('transient', `no bootstrap broker reachable: ${errors.join('; ')}`, true);
  }

  /** Metadata for these topics (and the broker list) from any live connection. */
  private async refresh(topics: readonly string[]): Promise<void> {
    let conn = this.bootstrap && !this.bootstrap.closed ? this.bootstrap : undefined;
    if (!conn) for (const c of this.conns.values()) if (!c.closed) conn = c;
    // Brokers close idle connections (connections.max.idle.ms): open one to a known broker again.
    for (const nodeId of conn ? [] : this.brokers.keys()) {
      try {
        conn = await this.connection(nodeId);
        break;
      } catch {
        // try the next broker
      }
    }
    if (!conn) throw new ConnectionError('no broker of the cluster is reachable');
    const body = await conn.request(API_METADATA, 1, (w) => writeMetadataRequest(w, topics), 64 + topics.length * 64);
    const md = readMetadataResponse(body);
    for (const b of md.brokers) {
      const old = this.brokers.get(b.nodeId);
      if (old && (old.host !== b.host || old.port !== b.port)) {
        this.conns.get(b.nodeId)?.close();
        this.conns.delete(b.nodeId);
      }
      this.brokers.set(b.nodeId, b);
    }
    if (this.topics.size + md.topics.length > MAX_TOPICS) this.topics.clear();
    for (const t of md.topics) {
      if (t.errorCode === 0 && t.partitions.length > 0) this.topics.set(t.name, t);
      else {
        this.topics.delete(t.name);
        if (this.topicErrors.size >= MAX_TOPICS) this.topicErrors.clear();
        this.topicErrors.set(t.name, t.errorCode === 0 ? 5 : t.errorCode);
      }
    }
  }

  private async connection(nodeId: number): Promise<BrokerConnection> {
    const existing = this.conns.get(nodeId);
    if (existing && !existing.closed) return existing;
    const b = this.brokers.get(nodeId);
    if (!b) throw new ConnectionError(`broker ${nodeId} is not in the cluster metadata`);
    const conn = this.open(b.host, b.port);
    this.conns.set(nodeId, conn);
    await conn.connect();
    return conn;
  }

  /** Index into t.partitions (sorted by id): murmur2 of the key like the Java client, round-robin without a key. */
  private partitionIndex(r: KafkaRecord, t: TopicInfo): number {
    const n = t.partitions.length;
    if (r.key !== null) return (murmur2Key(r.key) & 0x7fffffff) % n;
    const c = ((this.roundRobin.get(t.name) ?? Math.floor(Math.random() * n)) + 1) % n;
    this.roundRobin.set(t.name, c);
    return c;
  }

  async send(records: readonly KafkaRecord[]): Promise<void> {
    try {
      await this.sendWithRetries(records);
    } catch (e) {
      if (e instanceof KafkaSendError) throw e;
      if (e instanceof ConnectionError) throw new KafkaSendError('transient', e.message, true);
      if (e instanceof WireError) throw new KafkaSendError('transient', `bad response from Kafka: ${e.message}`, true);
      throw new KafkaSendError('transient', e instanceof Error ? e.message : String(e));
    }
  }

  private async sendWithRetries(records: readonly KafkaRecord[]): Promise<void> {
    let todo = records;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new KafkaSendError('transient', 'Kafka client is closed', true);
      const failed = await this.sendOnce(todo);
      if (failed.records.length === 0) return;
      if (!failed.retriable || attempt >= this.opts.retries) {
        throw new KafkaSendError(failed.kind, failed.message);
      }
      for (const t of failed.topics) this.topics.delete(t);
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1_000)));
      todo = failed.records;
    }
  }

  private async sendOnce(records: readonly KafkaRecord[]): Promise<{
    records: KafkaRecord[];
    topics: Set<string>;
    retriable: boolean;
    kind: KafkaSendError['kind'];
    message: string;
  }> {
    const failed: KafkaRecord[] = [];
    const failedTopics = new Set<string>();
    let retriable = true;
    let kind: KafkaSendError['kind'] = 'transient';
    let message = '';
    const fail = (rs: readonly KafkaRecord[], topic: string, code: number, text: string) => {
      for (const r of rs) failed.push(r);
      failedTopics.add(topic);
      if (!refreshesMetadata(code)) retriable = false;
      // the most severe kind wins: permanent problems are reported over transient ones
      const k = errorKind(code);
      if (message === '' || (kind === 'transient' && k !== 'transient')) {
        kind = k;
        message = text;
      }
    };

    const missing = new Set<string>();
    for (const r of records) if (!this.topics.has(r.topic)) missing.add(r.topic);
    if (missing.size > 0) await this.refresh([...missing]);

    // Route: topic → partition (by index in the metadata) → records; then by leader
    const routes: Route[] = [];
    const perTopic = new Map<string, (Route | undefined)[]>();
    for (const r of records) {
      const t = this.topics.get(r.topic);
      if (!t) {
        const code = this.topicErrors.get(r.topic) ?? 5;
        fail([r], r.topic, code, `${errorName(code)} for topic ${r.topic} (from the cluster metadata)`);
        continue;
      }
      const i = this.partitionIndex(r, t);
      let slots = perTopic.get(r.topic);
      if (!slots) perTopic.set(r.topic, (slots = new Array<Route | undefined>(t.partitions.length)));
      let route = slots[i];
      if (!route) {
        const p = t.partitions[i]!;
        routes.push((route = slots[i] = { leader: p.leader, topic: r.topic, partition: p.partition, records: [] }));
      }
      route.records.push(r);
    }
    const byLeader = new Map<number, Route[]>();
    for (const route of routes) {
      if (route.leader < 0) {
        fail(route.records, route.topic, 5, `LEADER_NOT_AVAILABLE for ${route.topic}/${route.partition}`);
        continue;
      }
      let list = byLeader.get(route.leader);
      if (!list) byLeader.set(route.leader, (list = []));
      list.push(route);
    }

    const leaders = [...byLeader];
    const results = await Promise.allSettled(leaders.map(([leader, list]) => this.produce(leader, list)));
    let connectionError: Error | undefined;
    results.forEach((res, i) => {
      if (res.status === 'rejected') {
        connectionError ??= res.reason instanceof Error ? res.reason : new ConnectionError(String(res.reason));
        return;
      }
      const list = leaders[i]![1];
      if (this.opts.acks === 'none') return; // no response to check
      for (const route of list) {
        const pr = res.value.find((x) => x.topic === route.topic && x.partition === route.partition);
        if (pr === undefined) {
          // never assume delivery: a partition the broker did not answer for is retried
          fail(
            route.records,
            route.topic,
            13,
            `no acknowledgement for ${route.topic}/${route.partition} in the produce response`,
          );
        } else if (pr.errorCode !== 0) {
          fail(route.records, pr.topic, pr.errorCode, `${errorName(pr.errorCode)} for ${pr.topic}/${pr.partition}`);
        }
      }
    });
    if (connectionError !== undefined) throw connectionError;
    return { records: failed, topics: failedTopics, retriable, kind, message };
  }

  private async produce(
    leader: number,
    routes: readonly Route[],
  ): Promise<{ topic: string; partition: number; errorCode: number }[]> {
    const conn = await this.connection(leader);
    const acks = ACKS[this.opts.acks];
    const byTopic = new Map<string, Route[]>();
    let size = 64;
    for (const r of routes) {
      let l = byTopic.get(r.topic);
      if (!l) byTopic.set(r.topic, (l = []));
      l.push(r);
      for (const rec of r.records) size += rec.value.length + 96;
    }
    // The body is encoded first (gzip is asynchronous), then sent after its header with one writev.
    // Its buffer is this leader's from the last request, when that one was answered.
    const w = this.writers.get(leader) ?? new ByteWriter(size);
    this.writers.delete(leader);
    w.pos = 0;
    w.nullableString(null).int16(acks).int32(this.opts.requestTimeoutMs).int32(byTopic.size);
    for (const [topic, list] of byTopic) {
      w.string(topic).int32(list.length);
      for (const r of list) {
        w.int32(r.partition);
        const at = w.reserve(4);
        w.int32At(await writeRecordBatch(w, r.records, this.opts.compression), at);
      }
    }
    const body = await conn.request(API_PRODUCE, 3, w.view(), 0, acks !== 0);
    // answered (or written, acks=0): the socket is done with the bytes
    if (w.buf.length <= MAX_KEPT_WRITER && !this.closed) this.writers.set(leader, w);
    if (acks === 0) return [];
    return readProduceResponse(body);
  }

  disconnect(): Promise<void> {
    this.closed = true;
    this.writers.clear();
    this.bootstrap?.close();
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
    return Promise.resolve();
  }
}
