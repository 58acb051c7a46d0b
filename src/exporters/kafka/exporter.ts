/**
 * Kafka exporter: one record per event (see encode.ts), produced through the
 * ProducerClient interface (client.ts).
 *
 * Delivery: an export resolves `success` only when every record is
 * acknowledged (per `acks`). A transient failure (broker down, leader moving,
 * timeout, not connected yet) returns `retryable`, and the pipeline queue
 * retries the whole batch with back-off — records of a batch that were
 * partly delivered may then be written twice (at-least-once). Records that
 * can never be delivered (larger than max_message_bytes, rejected as too
 * large, unknown topic, auth) make the export return `failure`.
 *
 * Connection: start() begins connecting in the background and returns after
 * at most connect_timeout_ms; until connected, export() returns retryable.
 * When the client loses its brokers it is replaced by a fresh one that
 * bootstraps again, with back-off (250 ms doubling to 5 s), until shutdown.
 *
 * Memory: one export in flight at a time (a second returns retryable), and
 * nothing is buffered here beyond the batch being sent.
 *
 * Counters: netspan_kafka_records_total{exporter, topic, outcome}:
 *   sent     acknowledged by Kafka
 *   retried  in an attempt that failed transiently (export returned retryable;
 *            the queue retries, or drops and counts them in
 *            netspan_events_dropped_total{reason="export_failed"})
 *   failed   rejected permanently by Kafka or the client (auth, topic, too large)
 *   dropped  not sent because the record itself is unsendable (over max_message_bytes, encoding error)
 * netspan_kafka_bytes_total{exporter, topic}: value bytes acknowledged.
 */
import { readFile } from 'node:fs/promises';
import type { NetEvent } from '../../core/event.js';
import type { ComponentContext, Exporter, ExportResult } from '../../pipeline/component.js';
import type { Counter } from '../../telemetry/metrics.js';
import { RateLimitedLog } from '../../telemetry/rate-limited-log.js';
import {
  KafkaSendError,
  kafkaJsClientFactory,
  redact,
  type KafkaRecord,
  type ProducerClient,
  type ProducerClientFactory,
  type ProducerClientOptions,
} from './client.js';
import type { KafkaConfig } from './config.js';
import {
  encodedRecordSize,
  encodeValue,
  keyInto,
  messageSize,
  toRecord,
  typeConst,
  wallClockNanos,
  type TypeConst,
} from './encode.js';
import { JsonWriter } from '../../core/json-writer.js';
import { ByteWriter } from './wire/bytes.js';
import { ProduceBatch, type TopicRecords } from './wire/produce-batch.js';
import { NetspanProducer, PRODUCE_TIMEOUT_MARGIN_MS } from './wire/producer.js';
import { errorKind, errorName } from './wire/protocol.js';
import { BATCH_HEADER_BYTES, type PartitionRecords } from './wire/record-batch.js';

/** `client: auto` takes netspan's own producer unless a setting needs kafkajs (TLS, SASL, idempotence). */
export function clientFactoryFor(
  cfg: Pick<KafkaConfig, 'client' | 'sasl' | 'idempotent' | 'tls'>,
): ProducerClientFactory {
  const kafkajs =
    cfg.client === 'kafkajs' ||
    (cfg.client === 'auto' && (cfg.sasl !== undefined || cfg.idempotent || cfg.tls.enabled));
  return kafkajs ? kafkaJsClientFactory : (opts) => new NetspanProducer(opts);
}

export type RecordOutcome = 'sent' | 'retried' | 'failed' | 'dropped';

/** A JSON buffer larger than this (a batch of huge events) is not kept for the next export. */
const MAX_KEPT_JSON = 8 * 1024 * 1024;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5_000;

/** The first few reasons why records of an export were not sent, for its error message. */
class Problems {
  readonly list: string[] = [];

  add(text: string): void {
    if (this.list.length < 3) this.list.push(text);
  }

  /** The reasons, then `message`. */
  before(message: string): string {
    return this.list.length ? `${this.list.join('; ')}; ${message}` : message;
  }
}

export class KafkaExporter implements Exporter {
  private readonly records: Counter;
  private readonly bytes: Counter;
  private readonly rl: RateLimitedLog;
  private client: ProducerClient | undefined;
  private connected = false;
  private started = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private inFlight: Promise<ExportResult> | undefined;
  private inFlightBatch: readonly NetEvent[] | undefined;
  /** Outcome of batches whose attempt finished (success or permanent failure), for a late retry of the same batch. */
  private readonly settled = new WeakMap<readonly NetEvent[], ExportResult>();
  /** The JSON values' buffer (see exportRecords); exportDirect writes into the records' buffers with it. */
  private json: JsonWriter | undefined;
  /** exportDirect's records, per topic and partition, kept for the next export. */
  private produceBatch: ProduceBatch | undefined;
  /** exportDirect's key bytes. */
  private keyBuf: ByteWriter | undefined;
  /** JSON bytes per event of the last batch (sizes the next batch's buffer). */
  private jsonBytesPerEvent = 512;
  private lastError = 'not connected yet';
  private options: ProducerClientOptions | undefined;
  private secrets: string[] = [];

  constructor(
    private readonly cfg: KafkaConfig,
    private readonly ctx: ComponentContext,
    private readonly clientFactory: ProducerClientFactory = clientFactoryFor(cfg),
  ) {
    this.records = ctx.telemetry.metrics.counter(
      'netspan_kafka_records_total',
      'Kafka records per exporter, topic and outcome (sent, retried, failed, dropped)',
    );
    this.bytes = ctx.telemetry.metrics.counter(
      'netspan_kafka_bytes_total',
      'Record value bytes acknowledged by Kafka, per exporter and topic',
    );
    this.rl = new RateLimitedLog(ctx.logger, 10_000);
  }

  get healthy(): boolean {
    return this.connected && !this.stopped;
  }

  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.started = true;
    this.options = await this.clientOptions();
    // Settings the client rejects are configuration errors: fail start() instead of retrying forever.
    let firstClient: ProducerClient;
    try {
      firstClient = this.clientFactory(this.options);
    } catch (e) {
      throw new Error(`${this.ctx.id}: invalid Kafka client settings: ${this.message(e)}`);
    }
    const first = this.ensureLoop(firstClient);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([first, new Promise<void>((r) => (timer = setTimeout(r, this.cfg.connect_timeout_ms)))]);
    clearTimeout(timer);
    if (!this.connected) {
      this.ctx.logger.warn(
        { exporter: this.ctx.id, brokers: this.cfg.brokers, error: this.lastError },
        'Kafka brokers not reachable yet; exports are retried until they are',
      );
    }
  }

  /** Reads TLS and SASL material now, so a missing file fails start() with a clear message. */
  private async clientOptions(): Promise<ProducerClientOptions> {
    const c = this.cfg;
    const read = async (path: string, what: string): Promise<string> => {
      try {
        return await readFile(path, 'utf8');
      } catch (e) {
        throw new Error(`${this.ctx.id}: cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    };
    const opts: ProducerClientOptions = {
      brokers: c.brokers,
      clientId: c.client_id,
      acks: c.acks,
      compression: c.compression,
      idempotent: c.idempotent,
      connectTimeoutMs: c.connect_timeout_ms,
      requestTimeoutMs: c.request_timeout_ms,
      retries: c.client_retries,
      log: (level, namespace, message, fields) =>
        this.rl[level](
          `kafka:${this.ctx.id}:${namespace}:${level}`,
          { exporter: this.ctx.id, client: namespace, ...fields },
          `Kafka client: ${message}`,
        ),
    };
    if (c.tls.enabled) {
      opts.tls = { rejectUnauthorized: !c.tls.insecure_skip_verify };
      if (c.tls.ca_file) opts.tls.ca = await read(c.tls.ca_file, 'tls.ca_file');
      if (c.tls.cert_file) opts.tls.cert = await read(c.tls.cert_file, 'tls.cert_file');
      if (c.tls.key_file) opts.tls.key = await read(c.tls.key_file, 'tls.key_file');
      if (c.tls.server_name) opts.tls.servername = c.tls.server_name;
      if (opts.tls.key) this.secrets.push(opts.tls.key);
    }
    if (c.sasl) {
      let password: string;
      if (c.sasl.password_file !== undefined) {
        password = (await read(c.sasl.password_file, 'sasl.password_file')).replace(/\r?\n$/, '');
      } else {
        const name = c.sasl.password_env!;
        const v = this.ctx.env[name];
        if (v === undefined || v === '')
          throw new Error(`${this.ctx.id}: environment variable ${name} (sasl.password_env) is not set`);
        password = v;
      }
      if (password === '') throw new Error(`${this.ctx.id}: the SASL password is empty`);
      this.secrets.push(password);
      opts.sasl = { mechanism: c.sasl.mechanism, username: c.sasl.username, password };
    }
    return opts;
  }

  /** Runs the connect loop unless it is running; resolves when connected or stopped. */
  private ensureLoop(firstClient?: ProducerClient): Promise<void> {
    this.loop ??= this.connectLoop(firstClient).finally(() => (this.loop = undefined));
    return this.loop;
  }

  private async connectLoop(firstClient: ProducerClient | undefined): Promise<void> {
    let delay = BACKOFF_MIN_MS;
    let next = firstClient;
    while (!this.stopped && !this.connected && this.options) {
      let client: ProducerClient | undefined = next;
      next = undefined;
      try {
        client ??= this.clientFactory(this.options);
        await client.connect();
        if (this.stopped) {
          await client.disconnect();
          return;
        }
        this.client = client;
        this.connected = true;
        this.ctx.logger.info({ exporter: this.ctx.id, brokers: this.cfg.brokers }, 'Connected to Kafka');
        return;
      } catch (e) {
        this.lastError = this.message(e);
        await client?.disconnect();
        this.rl.warn(
          `kafka:${this.ctx.id}:connect`,
          { exporter: this.ctx.id, error: this.lastError, retry_in_ms: delay },
          'Cannot connect to Kafka',
        );
      }
      await this.sleep(delay);
      delay = Math.min(delay * 2, BACKOFF_MAX_MS);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    }).then(() => {
      this.wake = undefined;
      this.sleepTimer = undefined;
    });
  }

  private message(e: unknown): string {
    return redact(e instanceof Error ? e.message : String(e), this.secrets);
  }

  /** Counts records per topic (one counter update per topic, not per record). */
  private count(records: readonly KafkaRecord[], outcome: RecordOutcome, bytes = false): void {
    const perTopic = new Map<string, { n: number; bytes: number }>();
    for (const r of records) {
      const t = perTopic.get(r.topic);
      if (t) {
        t.n++;
        t.bytes += r.value.length;
      } else perTopic.set(r.topic, { n: 1, bytes: r.value.length });
    }
    for (const [topic, t] of perTopic) {
      this.records.inc({ exporter: this.ctx.id, topic, outcome }, t.n);
      if (bytes) this.bytes.inc({ exporter: this.ctx.id, topic }, t.bytes);
    }
  }

  async export(batch: readonly NetEvent[]): Promise<ExportResult> {
    if (this.stopped) return { code: 'failure', error: 'Kafka exporter is shut down' };
    if (!this.started) return { code: 'retryable', error: 'Kafka exporter not started' };
    // The queue gave up waiting on an attempt (export_timeout_ms) and retries the same batch: the
    // attempt still running is this one's, and an attempt that finished is not sent again.
    const done = this.settled.get(batch);
    if (done) return done;
    if (this.inFlight) {
      if (this.inFlightBatch === batch) return this.inFlight;
      return { code: 'retryable', error: 'previous Kafka send still in progress' };
    }
    const p = this.exportNow(batch);
    this.inFlight = p;
    this.inFlightBatch = batch;
    try {
      const r = await p;
      if (r.code !== 'retryable') this.settled.set(batch, r);
      return r;
    } finally {
      this.inFlight = undefined;
      this.inFlightBatch = undefined;
    }
  }

  private exportNow(batch: readonly NetEvent[]): Promise<ExportResult> {
    const client = this.client;
    if (this.connected && client instanceof NetspanProducer) return this.exportDirect(batch, client);
    return this.exportRecords(batch);
  }

  /**
   * Through netspan's producer: each event's record is written straight into
   * its partition's buffer (key bytes, then the value in place), and the
   * buffers go out as produce requests of at most max_batch_bytes, in which
   * no partition's RecordBatch is over max_message_bytes (the broker checks
   * each batch against the topic's max.message.bytes).
   */
  private async exportDirect(batch: readonly NetEvent[], client: NetspanProducer): Promise<ExportResult> {
    const pb = (this.produceBatch ??= new ProduceBatch());
    pb.reset();
    const slots = this.slotsOf(batch, pb);
    const topics = [...new Set([...slots.values()].map((s) => s.t.topic))];
    let unready: Map<string, number>;
    try {
      unready = await client.prepare(pb, topics);
    } catch (e) {
      return this.sendError(e, client, (o) => this.countEvents(batch, 0, o), 0, new Problems());
    }
    const problems = new Problems();
    for (const [topic, code] of unready) {
      const text = `${errorName(code)} for topic ${topic} (from the cluster metadata)`;
      if (errorKind(code) === 'transient') {
        this.countEvents(batch, 0, 'retried');
        return { code: 'retryable', error: text };
      }
      problems.add(text);
    }
    const json = this.cfg.encoding === 'json' ? (this.json ??= new JsonWriter(64)) : undefined;
    const key = (this.keyBuf ??= new ByteWriter(256));
    const max = this.cfg.max_message_bytes;
    let delivered = 0;
    let unsendable = 0;
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!;
      const { t, topic } = slots.get(e.type)!;
      if (unready.has(t.topic)) {
        unsendable++;
        this.records.inc({ exporter: this.ctx.id, topic: t.topic, outcome: 'failed' });
        continue;
      }
      const keyLen = keyInto(e, this.cfg.key, key);
      const part = topic.partitionFor(key.buf, keyLen);
      const ts = Number(e.timeUnixNano / 1_000_000n);
      const start = part.begin(ts, key.buf, keyLen);
      const valueAt = part.w.pos;
      try {
        if (json !== undefined) json.eventInto(part.w, e);
        else part.w.raw(encodeValue(e, this.cfg.encoding, this.cfg.otlp_body, wallClockNanos));
      } catch (err) {
        part.abandon(start);
        unsendable++;
        this.records.inc({ exporter: this.ctx.id, topic: t.topic, outcome: 'dropped' });
        problems.add(this.encodeProblem(e, err));
        continue;
      }
      const size = messageSize(part.w.pos - valueAt, keyLen, t.headerBytes);
      if (size + BATCH_HEADER_BYTES > max) {
        part.abandon(start);
        unsendable++;
        this.records.inc({ exporter: this.ctx.id, topic: t.topic, outcome: 'dropped' });
        problems.add(this.tooLargeProblem(e, size, t.topic));
        continue;
      }
      // (`start`: the bytes of the partition's records before this one)
      if (pb.bytes > 0 && (pb.bytes + size > this.cfg.max_batch_bytes || start + size + BATCH_HEADER_BYTES > max)) {
        // a full request or a full partition batch: send the records before this one, then write it
        // again into the emptied batch
        part.abandon(start);
        const parts = pb.filled();
        try {
          await client.sendBatch(pb);
        } catch (err) {
          return this.sendError(err, client, this.countRest(parts, batch, i), delivered, problems);
        }
        delivered += this.countParts(parts, 'sent');
        pb.reset();
        i--;
        continue;
      }
      part.end(start, ts, t.headerBuf);
      pb.bytes += size;
    }
    const parts = pb.filled();
    if (parts.length > 0) {
      try {
        await client.sendBatch(pb);
      } catch (err) {
        return this.sendError(err, client, this.countRest(parts, batch, batch.length), delivered, problems);
      }
      delivered += this.countParts(parts, 'sent');
    }
    return unsendable > 0 ? this.partlySent(unsendable, batch.length, problems, delivered) : { code: 'success' };
  }

  /** Per event type in the batch (a handful): its constants and its topic's records. */
  private slotsOf(batch: readonly NetEvent[], pb: ProduceBatch): Map<string, { t: TypeConst; topic: TopicRecords }> {
    const out = new Map<string, { t: TypeConst; topic: TopicRecords }>();
    let last: NetEvent['type'] | undefined;
    for (const e of batch) {
      if (e.type === last || out.has(e.type)) continue;
      last = e.type;
      const t = typeConst(e.type, this.cfg);
      out.set(e.type, { t, topic: pb.topic(t.topic) });
    }
    return out;
  }

  /**
   * A send that threw: `count` counts what was not delivered as retried
   * (transient) or failed, and the outcome is returned.
   */
  private sendError(
    e: unknown,
    client: ProducerClient,
    count: (outcome: RecordOutcome) => void,
    delivered: number,
    problems: Problems,
  ): ExportResult {
    const err = e instanceof KafkaSendError ? e : new KafkaSendError('transient', this.message(e));
    const msg = redact(err.message, this.secrets);
    if (err.connectionLost) this.lostConnection(client, msg);
    count(err.kind === 'transient' ? 'retried' : 'failed');
    if (err.kind === 'transient') return { code: 'retryable', error: msg };
    return { code: 'failure', error: problems.before(msg), ...(delivered > 0 ? { delivered } : {}) };
  }

  /** exportDirect's undelivered: the records in `parts` and the events from `from` on (not written yet). */
  private countRest(
    parts: readonly PartitionRecords[],
    batch: readonly NetEvent[],
    from: number,
  ): (outcome: RecordOutcome) => void {
    return (outcome) => {
      this.countParts(parts, outcome);
      this.countEvents(batch, from, outcome);
    };
  }

  /** Some records could not be sent (unsendable), the others were delivered. */
  private partlySent(unsendable: number, total: number, problems: Problems, delivered: number): ExportResult {
    return {
      code: 'failure',
      error: `${unsendable} of ${total} records not sent: ${problems.list.join('; ')}; the other ${delivered} were delivered`,
      delivered,
    };
  }

  private encodeProblem(e: NetEvent, err: unknown): string {
    return `cannot encode a ${e.type} event: ${this.message(err)}`;
  }

  /** `size`: the record's; the bytes said are with the batch header around it, as max_message_bytes counts them. */
  private tooLargeProblem(e: NetEvent, size: number, topic: string): string {
    return `a ${e.type} record of ${size + BATCH_HEADER_BYTES} bytes for topic ${topic} exceeds max_message_bytes=${this.cfg.max_message_bytes}`;
  }

  /** Counts the records of these partitions per topic; returns how many. */
  private countParts(parts: readonly PartitionRecords[], outcome: RecordOutcome): number {
    let n = 0;
    for (const p of parts) {
      n += p.count;
      this.records.inc({ exporter: this.ctx.id, topic: p.topic, outcome }, p.count);
      if (outcome === 'sent') this.bytes.inc({ exporter: this.ctx.id, topic: p.topic }, p.valueBytes);
    }
    return n;
  }

  /** Counts the events from `from` on per topic (not encoded yet). */
  private countEvents(batch: readonly NetEvent[], from: number, outcome: RecordOutcome): void {
    const perTopic = new Map<string, number>();
    for (let i = from; i < batch.length; i++) {
      const topic = typeConst(batch[i]!.type, this.cfg).topic;
      perTopic.set(topic, (perTopic.get(topic) ?? 0) + 1);
    }
    for (const [topic, n] of perTopic) this.records.inc({ exporter: this.ctx.id, topic, outcome }, n);
  }

  /** Through a ProducerClient that takes KafkaRecord objects (kafkajs). */
  private async exportRecords(batch: readonly NetEvent[]): Promise<ExportResult> {
    // Encode first: unsendable records are known before anything is sent.
    const ok: KafkaRecord[] = [];
    const sizes: number[] = [];
    const problems = new Problems();
    let unsendable = 0;
    // JSON values are written into one buffer, reused by every export (one export at a time, and
    // nothing refers to a record after its export), made room for from the last batch's bytes per
    // event so that it rarely grows in the middle of a batch (a copy each time)
    let json: JsonWriter | undefined;
    if (this.cfg.encoding === 'json') {
      json = this.json ??= new JsonWriter(64 * 1024);
      json.pos = 0;
      json.ensure(Math.ceil(batch.length * this.jsonBytesPerEvent * 1.25));
    }
    for (const e of batch) {
      let r: KafkaRecord;
      try {
        r = toRecord(e, this.cfg, wallClockNanos, json);
      } catch (err) {
        unsendable++;
        this.records.inc({ exporter: this.ctx.id, topic: 'unknown', outcome: 'dropped' });
        problems.add(this.encodeProblem(e, err));
        continue;
      }
      const size = encodedRecordSize(e, r, this.cfg);
      if (size + BATCH_HEADER_BYTES > this.cfg.max_message_bytes) {
        unsendable++;
        this.count([r], 'dropped');
        problems.add(this.tooLargeProblem(e, size, r.topic));
        continue;
      }
      ok.push(r);
      sizes.push(size);
    }
    if (json !== undefined && batch.length > 0) {
      this.jsonBytesPerEvent = Math.min(Math.max(json.pos / batch.length, 64), 64 * 1024);
      if (json.buf.length > MAX_KEPT_JSON) this.json = undefined;
    }

    if (ok.length > 0) {
      if (!this.connected || !this.client) {
        void this.ensureLoop();
        this.count(ok, 'retried');
        return {
          code: 'retryable',
          error: `not connected to Kafka (${this.cfg.brokers.join(',')}): ${this.lastError}`,
        };
      }
      const client = this.client;
      // Split into sends of at most max_batch_bytes, and of at most one RecordBatch's max_message_bytes: kafkajs
      // puts a send's records for one partition into one RecordBatch and picks the partitions itself, so a send
      // any larger could go to one partition (a one-partition topic, one key) and be refused as too large.
      const cap = Math.min(this.cfg.max_batch_bytes, this.cfg.max_message_bytes - BATCH_HEADER_BYTES);
      let start = 0;
      while (start < ok.length) {
        let end = start;
        let bytes = 0;
        while (end < ok.length && (end === start || bytes + sizes[end]! <= cap)) bytes += sizes[end++]!;
        const chunk = ok.slice(start, end);
        try {
          await client.send(chunk);
        } catch (e) {
          const rest = ok.slice(start);
          return this.sendError(e, client, (outcome) => this.count(rest, outcome), start, problems);
        }
        this.count(chunk, 'sent', true);
        start = end;
      }
    }
    return unsendable > 0 ? this.partlySent(unsendable, batch.length, problems, ok.length) : { code: 'success' };
  }

  private lostConnection(client: ProducerClient, error: string): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.connected = false;
    this.lastError = error;
    this.ctx.logger.warn({ exporter: this.ctx.id, error }, 'Lost the Kafka brokers; reconnecting');
    void client.disconnect().then(() => this.ensureLoop());
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    const bound = (p: Promise<unknown> | undefined, ms: number): Promise<unknown> => {
      if (!p) return Promise.resolve();
      let t: NodeJS.Timeout | undefined;
      return Promise.race([p.catch(() => undefined), new Promise((r) => (t = setTimeout(r, ms)))]).finally(() =>
        clearTimeout(t),
      );
    };
    // as long as a produce request may wait for its answer (the broker may still write what is in flight)
    await bound(this.inFlight, this.cfg.request_timeout_ms + PRODUCE_TIMEOUT_MARGIN_MS);
    await bound(this.loop, this.cfg.connect_timeout_ms + 1_000);
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    await bound(client?.disconnect(), 2_000);
    this.rl.flush();
  }
}
