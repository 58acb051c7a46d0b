/**
 * OTLP/gRPC exporter: traces (connection traces), logs (one record per event)
 * and metrics.
 *
 * Spans and log records are written straight to protobuf when a batch is
 * prepared (spans-proto.ts, logs-proto.ts: the bytes the SDK's serializers
 * wrote for ReadableSpans and ReadableLogRecords, for a fraction of the CPU
 * and memory), each with its pod's resource, and sent over grpc-js with the
 * SDK's exporter options (transport.ts); one request carries many pods, and
 * requests are cut to the collector's default 4 MiB limit from the records'
 * known sizes. A collector's partial success counts the records it rejected
 * as dropped (reason "rejected").
 * A batch's buffers go back to a pool once it is settled (chunk-pool.ts).
 * Metrics go through a MeterProvider and the SDK's OTLP metric exporter (see
 * metrics.ts).
 *
 * Retries: the batch queue in front retries a batch on `retryable`. The
 * records built from a batch are kept until every signal has delivered them,
 * so a retry re-sends only the signals that failed, the stitcher and the
 * metric instruments see each event once, and nothing is duplicated. When the
 * queue gives up on a batch (no retry within retry.max_interval_ms + 1 s),
 * the records still undelivered are counted as dropped (reason "abandoned").
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { credentials as grpcCredentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ExportResult as SdkExportResult } from '@opentelemetry/core';
import type { OTLPGRPCExporterConfigNode } from '@opentelemetry/otlp-grpc-exporter-base';
import type { NetEvent } from '../../core/event.js';
import { resourceAttributes } from '../../otel/attributes.js';
import { repoRoot } from '../../paths.js';
import type { ComponentContext, Exporter, ExportResult } from '../../pipeline/component.js';
import { ChunkPool } from './chunk-pool.js';
import type { OtlpConfig } from './config.js';
import { classify, grpcCode } from './grpc-status.js';
import { LogEncoder } from './logs-proto.js';
import type { NetMetrics } from './metrics.js';
import { RequestAssembler, type EncodedRecord } from './request.js';
import { ResourceCache } from './resources.js';
import { SpanEncoder } from './spans-proto.js';
import { Stitcher, type Planned } from './stitch.js';
import { OtlpTelemetry, type RecordDropReason, type Signal } from './telemetry.js';
import { OtlpTransport, type TransportResult, type TransportSignal } from './transport.js';

type SdkConfig = OTLPGRPCExporterConfigNode;

type SendOutcome = { outcome: 'success' | 'failure' | 'retryable'; error?: string; remaining?: EncodedRecord[] };

interface Pending {
  /** Spans and log records still undelivered. */
  traces?: EncodedRecord[];
  logs?: EncodedRecord[];
  /** The buffers the records are in: back to the pool once the batch is settled. */
  chunks: Buffer[];
  inFlight?: Promise<ExportResult>;
  /** Date.now() when the last attempt finished. */
  lastAttemptEnd: number;
}

export interface OtlpExporterOptions {
  /** Monotonic processing clock in ms (tests inject one). */
  now?: () => number;
  /** How often held retransmits/drops are checked for expiry. */
  sweepIntervalMs?: number;
  /** Largest request sent without splitting (default: just under gRPC's 4 MiB; tests raise it). */
  maxRequestBytes?: number;
}

const GRPC_UNAVAILABLE = 14;
const ABANDON_SLACK_MS = 1_000;
/**
 * Largest request sent as one: gRPC's default maximum receive message size
 * (the Collector's too), less a margin. A collector with a lower limit still
 * gets its requests split on RESOURCE_EXHAUSTED (see send()).
 */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024 - 16 * 1024;

let cachedVersion: string | undefined;
export function netspanVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    cachedVersion =
      (JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    cachedVersion = '0.0.0';
  }
  return cachedVersion;
}

export class OtlpExporter implements Exporter {
  readonly otel: OtlpTelemetry;
  readonly stitcher: Stitcher;
  private readonly resources: ResourceCache;
  private readonly scope: InstrumentationScope;
  private readonly now: () => number;
  private traces?: OtlpTransport;
  private logs?: OtlpTransport;
  readonly pool = new ChunkPool();
  private readonly spanEncoder = new SpanEncoder(this.pool);
  private readonly logEncoder = new LogEncoder(this.pool);
  private readonly assembler: RequestAssembler;
  private metrics?: NetMetrics;
  private sdkConfig?: SdkConfig;
  private readonly pending = new Map<readonly NetEvent[], Pending>();
  /** Outcome of batches whose attempts are over (success or permanent failure), for a late retry of the same batch. */
  private readonly completed = new WeakMap<readonly NetEvent[], ExportResult>();
  private readonly abandoned = new WeakSet<readonly NetEvent[]>();
  private readonly needsReset: Record<'traces' | 'logs', boolean> = { traces: false, logs: false };
  private sweeper: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private ok = true;

  constructor(
    private readonly cfg: OtlpConfig,
    private readonly ctx: ComponentContext,
    private readonly opts: OtlpExporterOptions = {},
  ) {
    this.otel = new OtlpTelemetry(ctx.telemetry, ctx.id);
    this.now = opts.now ?? (() => performance.now());
    const ct = cfg.connection_traces;
    this.stitcher = new Stitcher(
      { enabled: ct.enabled, windowMs: ct.window_ms, connectTtlMs: ct.connect_ttl_ms, maxEntries: ct.max_entries },
      this.otel,
    );
    this.resources = new ResourceCache(cfg.resource_attributes, cfg.host_service_name);
    this.scope = { name: 'netspan', version: netspanVersion() };
    this.assembler = new RequestAssembler(this.scope);
  }

  get healthy(): boolean {
    return this.started && !this.stopped && this.ok;
  }

  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    const insecure = this.cfg.tls.insecure ?? this.cfg.endpoint.startsWith('http://');
    let creds: ChannelCredentials;
    if (insecure) creds = grpcCredentials.createInsecure();
    else {
      const read = async (f: string | undefined, what: string): Promise<Buffer | null> => {
        if (f === undefined) return null;
        try {
          return await readFile(f);
        } catch (e) {
          throw new Error(`otlp exporter ${this.ctx.id}: cannot read tls.${what} ${f}: ${(e as Error).message}`);
        }
      };
      const [ca, key, cert] = await Promise.all([
        read(this.cfg.tls.ca_file, 'ca_file'),
        read(this.cfg.tls.key_file, 'key_file'),
        read(this.cfg.tls.cert_file, 'cert_file'),
      ]);
      creds = grpcCredentials.createSsl(ca, key, cert);
    }
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(this.cfg.headers)) metadata.set(k.toLowerCase(), v);
    this.sdkConfig = {
      url: this.cfg.endpoint,
      credentials: creds,
      metadata,
      compression: this.cfg.compression as SdkConfig['compression'],
      // finish (with DEADLINE_EXCEEDED) a little before the batch queue's own timeout gives up on the attempt
      timeoutMillis: Math.max(1, Math.floor(this.cfg.queue.export_timeout_ms * 0.9)),
      userAgent: `netspan/${netspanVersion()}`,
    };
    if (this.cfg.signals.traces) this.traces = this.transport('traces');
    if (this.cfg.signals.logs) this.logs = this.transport('logs');
    // the SDK's metric exporter is loaded only for its signal (start-up CPU)
    if (this.cfg.signals.metrics) {
      const [{ OTLPMetricExporter }, { NetMetrics }] = await Promise.all([
        import('@opentelemetry/exporter-metrics-otlp-grpc'),
        import('./metrics.js'),
      ]);
      const sdkConfig = this.sdkConfig;
      this.metrics = new NetMetrics(
        {
          makeExporter: () => new OTLPMetricExporter(sdkConfig),
          resource: this.resources.self(netspanVersion()),
          intervalMs: this.cfg.metrics.export_interval_ms,
          timeoutMs: this.sdkConfig.timeoutMillis ?? 10_000,
          dimensions: this.cfg.metrics.dimensions,
          cardinalityLimit: this.cfg.metrics.cardinality_limit,
          histogram:
            this.cfg.metrics.histogram === 'explicit'
              ? { kind: 'explicit', bounds: this.cfg.metrics.explicit_bounds }
              : { kind: 'exponential' },
          selfMetrics: this.cfg.metrics.self_metrics ? this.ctx.telemetry.metrics : undefined,
          version: netspanVersion(),
        },
        this.otel,
      );
    }
    const every =
      this.opts.sweepIntervalMs ?? Math.min(1_000, Math.max(50, Math.floor(this.cfg.connection_traces.window_ms / 4)));
    this.sweeper = setInterval(() => this.sweepSoon(), every);
    this.sweeper.unref();
    this.started = true;
  }

  async export(batch: readonly NetEvent[]): Promise<ExportResult> {
    if (!this.started || this.stopped) return { code: 'failure', error: `otlp exporter ${this.ctx.id} is not running` };
    try {
      if (batch.length === 0) return { code: 'success' };
      const done = this.completed.get(batch);
      if (done) return done;
      this.reapAbandoned();
      if (this.abandoned.has(batch)) return { code: 'failure', error: 'batch was given up after its retries stopped' };
      let p = this.pending.get(batch);
      if (p?.inFlight) {
        // the queue timed out an attempt that is still running: let it finish first
        await p.inFlight;
        const settled = this.completed.get(batch);
        if (settled) return settled;
        p = this.pending.get(batch);
      }
      if (!p) {
        p = this.prepare(batch);
        this.pending.set(batch, p);
      }
      const attempt = this.ship(p);
      p.inFlight = attempt;
      const result = await attempt;
      p.inFlight = undefined;
      p.lastAttemptEnd = Date.now();
      if (result.code !== 'retryable') {
        this.pending.delete(batch);
        this.completed.set(batch, result);
        this.settle(p);
      }
      this.ok = result.code === 'success';
      return result;
    } catch (e) {
      return { code: 'failure', error: `otlp exporter: ${(e as Error).message}` };
    }
  }

  /** Stitch, count metrics, build records: exactly once per batch. */
  private prepare(batch: readonly NetEvent[]): Pending {
    if (this.metrics) {
      for (const e of batch) this.metrics.record(e, resourceAttributes(e));
    }
    // the stitcher only places events into spans: without traces, records carry no span and nothing waits for a connect
    if (!this.traces) return this.buildLogs(batch);
    const now = this.now();
    const planned: Planned[] = [];
    for (const e of batch) this.stitcher.add(e, now, planned);
    this.stitcher.expire(now, planned);
    return this.build(planned);
  }

  /** The event's resource (an event without enrichment has the node's: no lookup). */
  private resourceOf(e: NetEvent): Resource {
    return e.attributes === undefined ? this.resources.node : this.resources.get(resourceAttributes(e));
  }

  /** Spans and log records of placed events; the attributes are written from each event (no object per event). */
  private build(planned: readonly Planned[]): Pending {
    const spans = this.traces ? this.spanEncoder : undefined;
    const logs = this.logs ? this.logEncoder : undefined;
    spans?.begin();
    logs?.begin(BigInt(Date.now()) * 1_000_000n);
    for (const p of planned) {
      const res = this.resourceOf(p.event);
      if (spans && p.span) spans.add(p.event, p.span, res);
      logs?.add(p.event, undefined, res, spans ? p.ctx : undefined);
    }
    return this.toPending(spans?.finish() ?? [], logs?.finish() ?? []);
  }

  /** build() without traces: a log record per event, in batch order. */
  private buildLogs(events: readonly NetEvent[]): Pending {
    if (!this.logs) return this.toPending([], []);
    this.logEncoder.begin(BigInt(Date.now()) * 1_000_000n);
    for (const e of events) this.logEncoder.add(e, undefined, this.resourceOf(e), undefined);
    return this.toPending([], this.logEncoder.finish());
  }

  private toPending(spans: EncodedRecord[], logs: EncodedRecord[]): Pending {
    const out: Pending = { lastAttemptEnd: Date.now(), chunks: [] };
    if (spans.length) {
      out.traces = spans;
      out.chunks.push(spans[0]!.chunk);
    }
    if (logs.length) {
      out.logs = logs;
      out.chunks.push(logs[0]!.chunk);
    }
    return out;
  }

  /** A batch is done with (delivered, or its records counted as dropped): its buffers can be written again. */
  private settle(p: Pending): void {
    for (const c of p.chunks) this.pool.give(c);
    p.chunks = [];
    p.traces = undefined;
    p.logs = undefined;
  }

  /** Send every signal still undelivered in `p`; successful and permanently failed signals are settled. */
  private async ship(p: Pending): Promise<ExportResult> {
    const tasks: Promise<{ signal: Signal; outcome: string; error?: string }>[] = [];
    for (const signal of ['traces', 'logs'] as const) {
      const items = p[signal];
      if (!items || !this[signal]) continue;
      tasks.push(
        this.sendRecords(signal, items).then((c) => {
          p[signal] = c.outcome === 'retryable' ? (c.remaining ?? items) : undefined;
          if (c.outcome === 'failure')
            this.otel.dropped(signal, 'export_failed', (c.remaining ?? items).length, c.error);
          return { signal, ...c };
        }),
      );
    }
    const results = await Promise.all(tasks);
    const retry = results.filter((r) => r.outcome === 'retryable');
    const fail = results.filter((r) => r.outcome === 'failure');
    const describe = (rs: typeof results) => rs.map((r) => `${r.signal}: ${r.error ?? r.outcome}`).join('; ');
    if (retry.length) return { code: 'retryable', error: describe([...retry, ...fail]) };
    if (fail.length) return { code: 'failure', error: describe(fail) };
    return { code: 'success' };
  }

  /**
   * Ship records no batch owns (released by the stitcher's sweep, or at
   * shutdown) in one attempt: there is no queue to retry them, so what is
   * still undelivered after it is counted as dropped.
   */
  private async shipOnce(p: Pending, reason: RecordDropReason): Promise<void> {
    await this.ship(p);
    if (p.traces) this.otel.dropped('traces', reason, p.traces.length, 'not delivered in its one attempt');
    if (p.logs) this.otel.dropped('logs', reason, p.logs.length, 'not delivered in its one attempt');
    this.settle(p);
  }

  /**
   * Records in requests of at most MAX_REQUEST_BYTES (a record larger than
   * that alone still goes out alone), one after the other; `remaining` is
   * what is undelivered when one of them does not succeed.
   */
  private async sendRecords(signal: TransportSignal, items: EncodedRecord[]): Promise<SendOutcome> {
    const chunks = this.assembler.split(items, this.opts.maxRequestBytes ?? MAX_REQUEST_BYTES);
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      const r = await this.send(signal, chunk);
      if (r.outcome !== 'success')
        return { ...r, remaining: [...(r.remaining ?? chunk), ...chunks.slice(i + 1).flat()] };
    }
    return { outcome: 'success' };
  }

  /**
   * One export request. A request the collector rejects as larger than its
   * maximum message size (gRPC RESOURCE_EXHAUSTED, 4 MiB by default in the
   * Collector) is split in halves and sent again; `remaining` is what is
   * still undelivered when the outcome is not success. A single record that
   * is too large on its own is a permanent failure.
   */
  private async send(signal: TransportSignal, items: EncodedRecord[]): Promise<SendOutcome> {
    if (items.length === 0) return { outcome: 'success' };
    if (this.needsReset[signal]) this.resetChannel(signal);
    const exp = this[signal];
    if (!exp) return { outcome: 'failure', error: `${signal} exporter is not running` };
    const result = await new Promise<TransportResult>((resolve) => {
      try {
        exp.export(items, resolve);
      } catch (e) {
        resolve({ code: 1, error: e instanceof Error ? e : new Error(String(e)) });
      }
    });
    const c = classify(result);
    const error = c.status ? `${c.status}: ${c.error ?? ''}` : c.error;
    if (c.outcome !== 'success' && isTooLarge(result)) {
      this.otel.request(signal, 'too_large', error);
      if (items.length === 1)
        return {
          outcome: 'failure',
          error: `a single ${signal} record exceeds the collector's maximum message size: ${error ?? ''}`,
        };
      const mid = items.length >> 1;
      const head = items.slice(0, mid);
      const tail = items.slice(mid);
      const a = await this.send(signal, head);
      if (a.outcome !== 'success') return { ...a, remaining: [...(a.remaining ?? head), ...tail] };
      return this.send(signal, tail);
    }
    this.otel.request(signal, c.outcome, error);
    if (c.outcome === 'success') {
      // partial success: the collector took the request but not every record in it
      const rejected = Math.min(result.rejected ?? 0, items.length);
      this.otel.sent(signal, items.length - rejected);
      this.otel.dropped(signal, 'rejected', rejected, result.rejection);
    } else if (grpcCode(result.error) === GRPC_UNAVAILABLE) this.needsReset[signal] = true;
    return { outcome: c.outcome, error };
  }

  /** The gRPC transport for `signal` (transport.ts). */
  private transport(signal: TransportSignal): OtlpTransport {
    return new OtlpTransport(signal, this.sdkConfig!, this.assembler);
  }

  /**
   * After UNAVAILABLE, the next attempt gets a fresh transport (and so a
   * fresh gRPC channel): grpc-js backs off reconnects for up to two minutes,
   * and the batch queue's retry back-off is the one that should decide when
   * to try again. Attempts are paced by that back-off, so resets are too.
   */
  private resetChannel(signal: TransportSignal): void {
    this.needsReset[signal] = false;
    if (!this.sdkConfig || this.stopped) return;
    const old = this[signal];
    this[signal] = this.transport(signal);
    old?.shutdown().catch(() => undefined);
  }

  /**
   * Batches the queue gave up on: the queue retries a batch at most
   * retry.max_interval_ms after the previous attempt ended, so a retryable
   * batch untouched for longer than that (plus a second of slack) will not
   * come back. Count the records it still held as dropped. At shutdown,
   * every batch not in flight is given up.
   */
  private reapAbandoned(shutdown = false): void {
    const cutoff = Date.now() - (this.cfg.queue.retry.max_interval_ms + ABANDON_SLACK_MS);
    for (const [b, p] of this.pending) {
      if (p.inFlight || (!shutdown && p.lastAttemptEnd > cutoff)) continue;
      this.pending.delete(b);
      this.abandoned.add(b);
      const reason: RecordDropReason = shutdown ? 'shutdown' : 'abandoned';
      if (p.traces) this.otel.dropped('traces', reason, p.traces.length, 'batch not retried');
      if (p.logs) this.otel.dropped('logs', reason, p.logs.length, 'batch not retried');
      this.settle(p);
    }
  }

  private sweepSoon(): void {
    if (this.sweeping || this.stopped) return;
    this.sweeping = this.sweep()
      .catch((e: unknown) => this.ctx.logger.warn({ exporter: this.ctx.id, error: String(e) }, 'OTLP sweep failed'))
      .finally(() => {
        this.sweeping = undefined;
      });
  }

  /** Release held retransmits/drops whose wait is over and ship them (one attempt; what fails is counted). */
  async sweep(): Promise<void> {
    this.reapAbandoned();
    const planned = this.stitcher.expire(this.now());
    if (planned.length === 0) return;
    await this.shipOnce(this.build(planned), 'export_failed');
  }

  /** Collect and export metrics now (tests). */
  async flushMetrics(): Promise<void> {
    await this.metrics?.flush();
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    if (!this.started) return;
    if (this.sweeping) await this.sweeping;
    const rest = this.stitcher.drain();
    if (rest.length) await this.shipOnce(this.build(rest), 'shutdown');
    for (const p of this.pending.values()) if (p.inFlight) await p.inFlight;
    this.reapAbandoned(true);
    const stops: Promise<void>[] = [];
    if (this.metrics) stops.push(this.metrics.shutdown());
    if (this.traces) stops.push(this.traces.shutdown());
    if (this.logs) stops.push(this.logs.shutdown());
    const settled = await Promise.allSettled(stops);
    for (const s of settled) {
      if (s.status === 'rejected')
        this.ctx.logger.warn({ exporter: this.ctx.id, error: String(s.reason) }, 'OTLP exporter shutdown error');
    }
  }
}

/** The collector refused the request for its size (grpc-js: "Received message larger than max"). */
function isTooLarge(result: SdkExportResult): boolean {
  const msg = result.error?.message ?? '';
  return (grpcCode(result.error) === 8 || /RESOURCE_EXHAUSTED/.test(msg)) && /larger than max/i.test(msg);
}
