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
 * The exporter asks for its topics' metadata (prepare()), writes each record
 * into its partition's buffer (produce-batch.ts: murmur2 of the key like the
 * Java client, round-robin without a key), then sendBatch() sends one
 * produce request per leader in parallel. Partitions that fail with an
 * error fresh metadata may cure (protocol.ts refreshesMetadata: leadership
 * moved, topic being created, storage or network trouble at the leader) get
 * fresh metadata and another try (to the partition's leader then), up to
 * `retries` times; anything else throws `KafkaSendError` with its kind. A
 * failed topic's metadata is asked for again by the next send either way,
 * and any topic's once it is older than METADATA_MAX_AGE_MS. Connection failures
 * throw with `connectionLost`, and the exporter starts over from the
 * bootstrap brokers.
 */
import { KafkaSendError, type KafkaRecord, type ProducerClient, type ProducerClientOptions } from '../client.js';
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
import { ProduceBatch } from './produce-batch.js';
import { BATCH_HEADER_BYTES, encodeHeaders, type PartitionRecords } from './record-batch.js';

const ACKS = { all: -1, leader: 1, none: 0 } as const;
/** Topics whose metadata is kept; the exporter's topics are one per event type, so this is only a guard. */
const MAX_TOPICS = 1_000;
/**
 * Metadata of a topic older than this is asked for again before the next
 * send (the Java client's metadata.max.age.ms), so that partitions added and
 * leaders moved without an error on our side (a preferred-leader election)
 * are seen.
 */
export const METADATA_MAX_AGE_MS = 5 * 60_000;
/**
 * A produce request waits this much longer for its answer than the ack
 * timeout it carries (requestTimeoutMs), so that with acks=all the broker's
 * own REQUEST_TIMED_OUT answer arrives before the client gives up on the
 * connection (and the exporter rebuilds its client).
 */
export const PRODUCE_TIMEOUT_MARGIN_MS = 2_000;

/** The leader of a partition (by id) in a topic's metadata; -1 when it has none or is not there. */
function leaderOf(t: TopicInfo, partition: number): number {
  const p = t.partitions[partition];
  if (p !== undefined && p.partition === partition) return p.leader;
  return t.partitions.find((x) => x.partition === partition)?.leader ?? -1;
}

/** Waits before another try: 100 ms doubling, at most 1 s. */
function backOff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 1_000)));
}

/** Any error of a send as the KafkaSendError the exporter maps to an outcome. */
function asSendError(e: unknown): KafkaSendError {
  if (e instanceof KafkaSendError) return e;
  if (e instanceof ConnectionError) return new KafkaSendError('transient', e.message, true);
  if (e instanceof WireError) return new KafkaSendError('transient', `bad response from Kafka: ${e.message}`, true);
  return new KafkaSendError('transient', e instanceof Error ? e.message : String(e));
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
  /** When each topic's metadata in `topics` was fetched (Date.now()). */
  private readonly topicsAt = new Map<string, number>();
  /** METADATA_MAX_AGE_MS; tests shorten it. */
  metadataMaxAgeMs = METADATA_MAX_AGE_MS;
  /** Why the last metadata had no partitions for a topic (being created, unknown, not authorized). */
  private readonly topicErrors = new Map<string, number>();
  private closed = false;
  /** The request-and-batch-headers buffer per leader, kept for its next request. */
  private readonly heads = new Map<number, ByteWriter>();

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
    if (this.topics.size + md.topics.length > MAX_TOPICS) {
      this.topics.clear();
      this.topicsAt.clear();
    }
    const now = Date.now();
    for (const t of md.topics) {
      if (t.errorCode === 0 && t.partitions.length > 0) {
        this.topics.set(t.name, t);
        this.topicsAt.set(t.name, now);
      } else {
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

  /**
   * Metadata of these topics into `batch` (asked for when not known, or
   * older than metadataMaxAgeMs). A topic the cluster has no partitions for
   * (being created, unknown, not authorized) is asked for again with
   * back-off, up to `retries` times, while
   * its error is one that fresh metadata can cure. Returns the topics that
   * still have none, with their Kafka error code. Throws KafkaSendError.
   */
  async prepare(batch: ProduceBatch, names: readonly string[]): Promise<Map<string, number>> {
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.closed) throw new KafkaSendError('transient', 'Kafka client is closed', true);
        const stale = Date.now() - this.metadataMaxAgeMs;
        const missing = names.filter((n) => !this.topics.has(n) || this.topicsAt.get(n)! < stale);
        if (missing.length > 0) await this.refresh(missing);
        const failed = new Map<string, number>();
        for (const n of names) {
          const t = this.topics.get(n);
          if (t) batch.topic(n).setMetadata(t);
          else failed.set(n, this.topicErrors.get(n) ?? 5);
        }
        if (failed.size === 0 || attempt >= this.opts.retries || ![...failed.values()].every(refreshesMetadata))
          return failed;
        await backOff(attempt);
      }
    } catch (e) {
      throw asSendError(e);
    }
  }

  /** Produces every record of the batch; resolves when every one is acknowledged (per acks). Throws KafkaSendError. */
  async sendBatch(batch: ProduceBatch): Promise<void> {
    try {
      await this.sendWithRetries(batch.filled());
    } catch (e) {
      throw asSendError(e);
    }
  }

  /** The ProducerClient interface: these records, through a batch of their own. */
  async send(records: readonly KafkaRecord[]): Promise<void> {
    const batch = new ProduceBatch();
    const failed = await this.prepare(batch, [...new Set(records.map((r) => r.topic))]);
    for (const [topic, code] of failed)
      throw new KafkaSendError(errorKind(code), `${errorName(code)} for topic ${topic} (from the cluster metadata)`);
    const key = new ByteWriter(256);
    for (const r of records) {
      key.pos = 0;
      if (r.key !== null) {
        key.ensure(r.key.length * 3);
        key.pos = key.buf.write(r.key, 0, 'utf8');
      }
      const keyLen = r.key === null ? -1 : key.pos;
      const part = batch.topic(r.topic).partitionFor(key.buf, keyLen);
      part.add(r.timestampMs, key.buf, keyLen, r.value, encodeHeaders(r.headers));
    }
    await this.sendBatch(batch);
  }

  private async sendWithRetries(parts: readonly PartitionRecords[]): Promise<void> {
    let todo = parts;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new KafkaSendError('transient', 'Kafka client is closed', true);
      const failed = await this.sendOnce(todo);
      if (failed.parts.length === 0) return;
      // asked for again by the next try, or by the next send when this one gives up
      for (const t of failed.topics) this.topics.delete(t);
      if (!failed.retriable || attempt >= this.opts.retries) {
        throw new KafkaSendError(failed.kind, failed.message);
      }
      await backOff(attempt);
      todo = failed.parts;
    }
  }

  private async sendOnce(parts: readonly PartitionRecords[]): Promise<{
    parts: PartitionRecords[];
    topics: Set<string>;
    retriable: boolean;
    /** What the send fails with when it gives up now. */
    kind: KafkaSendError['kind'];
    message: string;
  }> {
    const failed: PartitionRecords[] = [];
    const failedTopics = new Set<string>();
    let retriable = true;
    let kind: KafkaSendError['kind'] = 'transient';
    let message = '';
    const fail = (part: PartitionRecords, code: number, text: string, byMetadata = false) => {
      failed.push(part);
      failedTopics.add(part.topic);
      const refreshes = refreshesMetadata(code);
      if (!refreshes) retriable = false;
      // A broker answers UNKNOWN_TOPIC_OR_PARTITION while a new topic or a moved partition is still
      // propagating: out of tries on an error that fresh metadata may yet cure, the export is
      // retried later (transient). That a topic does not exist is final only when the cluster
      // metadata itself says so (here, and in prepare()).
      const k = refreshes && !byMetadata ? 'transient' : errorKind(code);
      // the most severe kind wins: permanent problems are reported over transient ones
      if (message === '' || (kind === 'transient' && k !== 'transient')) {
        kind = k;
        message = text;
      }
    };

    const missing = new Set<string>();
    for (const p of parts) if (!this.topics.has(p.topic)) missing.add(p.topic);
    if (missing.size > 0) await this.refresh([...missing]);

    // by leader, from the current metadata (a retry goes to the partition's new leader)
    const byLeader = new Map<number, PartitionRecords[]>();
    for (const part of parts) {
      const t = this.topics.get(part.topic);
      if (!t) {
        const code = this.topicErrors.get(part.topic) ?? 5;
        fail(part, code, `${errorName(code)} for topic ${part.topic} (from the cluster metadata)`, true);
        continue;
      }
      const leader = leaderOf(t, part.partition);
      if (leader < 0) {
        fail(part, 5, `LEADER_NOT_AVAILABLE for ${part.topic}/${part.partition}`);
        continue;
      }
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push(part);
    }

    const leaders = [...byLeader];
    const results = await Promise.allSettled(leaders.map(([leader, list]) => this.produce(leader, list)));
    let connectionError: Error | undefined;
    results.forEach((res, i) => {
      if (res.status === 'rejected') {
        connectionError ??= res.reason instanceof Error ? res.reason : new ConnectionError(String(res.reason));
        return;
      }
      if (this.opts.acks === 'none') return; // no response to check
      for (const part of leaders[i]![1]) {
        const pr = res.value.find((x) => x.topic === part.topic && x.partition === part.partition);
        if (pr === undefined) {
          // never assume delivery: a partition the broker did not answer for is retried
          fail(part, 13, `no acknowledgement for ${part.topic}/${part.partition} in the produce response`);
        } else if (pr.errorCode !== 0) {
          fail(part, pr.errorCode, `${errorName(pr.errorCode)} for ${pr.topic}/${pr.partition}`);
        }
      }
    });
    if (connectionError !== undefined) throw connectionError;
    return { parts: failed, topics: failedTopics, retriable, kind, message };
  }

  /**
   * One produce request to a leader: the request's own bytes and each
   * partition's batch header are written into one buffer (this leader's,
   * kept from its last request), and each partition's records go out from
   * their own buffer after their header, all in one writev.
   */
  private async produce(
    leader: number,
    parts: readonly PartitionRecords[],
  ): Promise<{ topic: string; partition: number; errorCode: number }[]> {
    const conn = await this.connection(leader);
    const acks = ACKS[this.opts.acks];
    const byTopic = new Map<string, PartitionRecords[]>();
    for (const p of parts) {
      let l = byTopic.get(p.topic);
      if (!l) byTopic.set(p.topic, (l = []));
      l.push(p);
    }
    const head = this.heads.get(leader) ?? new ByteWriter(1024);
    this.heads.delete(leader);
    head.pos = 0;
    head.nullableString(null).int16(acks).int32(this.opts.requestTimeoutMs).int32(byTopic.size);
    const cuts: number[] = [];
    const bodies: Buffer[] = [];
    for (const [topic, list] of byTopic) {
      head.string(topic).int32(list.length);
      for (const p of list) {
        head.int32(p.partition);
        const sizeAt = head.reserve(4);
        const records = await p.writeBatch(head, this.opts.compression);
        head.int32At(BATCH_HEADER_BYTES + records.length, sizeAt);
        cuts.push(head.pos);
        bodies.push(records);
      }
    }
    // (views of head only now: it may have grown while being written)
    const chunks: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < cuts.length; i++) {
      chunks.push(head.buf.subarray(from, cuts[i]), bodies[i]!);
      from = cuts[i]!;
    }
    const wait = this.opts.requestTimeoutMs + PRODUCE_TIMEOUT_MARGIN_MS;
    const body = await conn.request(API_PRODUCE, 3, chunks, 0, acks !== 0, wait);
    // answered (or written, acks=0): the socket is done with the bytes
    if (!this.closed) this.heads.set(leader, head);
    if (acks === 0) return [];
    return readProduceResponse(body);
  }

  disconnect(): Promise<void> {
    this.closed = true;
    this.heads.clear();
    this.bootstrap?.close();
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
    return Promise.resolve();
  }
}
