/**
 * OTLP/gRPC exporter: traces (connection traces), logs (one record per event)
 * and metrics, shipped by the OpenTelemetry JS SDK's gRPC exporters.
 *
 * Spans are built as SDK ReadableSpan objects with per-pod resources and
 * handed straight to the SDK exporter's export(): the SDK providers carry a
 * single resource each, while the OTLP serializers group whatever records
 * they get by resource, so one request carries many pods. Log records are
 * written straight to protobuf (logs-proto.ts, same bytes as the SDK's
 * serializer, a fraction of the CPU) and sent by the SDK's gRPC transport
 * (logs-transport.ts); requests are cut to the collector's default 4 MiB
 * limit from the records' known sizes. Metrics go through a MeterProvider
 * (see metrics.ts).
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
import type { ExportResult as SdkExportResult } from '@opentelemetry/core';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { NetEvent } from '../../core/event.js';
import { resourceAttributes, splitAttributes } from '../../otel/attributes.js';
import { repoRoot } from '../../paths.js';
import type { ComponentContext, Exporter, ExportResult } from '../../pipeline/component.js';
import type { OtlpConfig } from './config.js';
import { classify, grpcCode } from './grpc-status.js';
import { LogEncoder, LogRequestAssembler, type EncodedLog } from './logs-proto.js';
import { OtlpLogsTransport } from './logs-transport.js';
import type { NetMetrics } from './metrics.js';
import { ResourceCache } from './resources.js';
import { buildSpan } from './spans.js';
import { Stitcher, type Planned } from './stitch.js';
import { OtlpTelemetry, type RecordDropReason, type Signal } from './telemetry.js';

type SdkConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

interface SignalExporter<T> {
  export(items: T[], cb: (r: SdkExportResult) => void): void;
  shutdown(): Promise<void>;
}

interface Pending {
  spans?: ReadableSpan[];
  logs?: EncodedLog[];
  inFlight?: Promise<ExportResult>;
  /** Date.now() when the last attempt finished. */
  lastAttemptEnd: number;
}

export interface OtlpExporterOptions {
  /** Monotonic processing clock in ms (tests inject one). */
  now?: () => number;
  /** How often held retransmits/drops are checked for expiry. */
  sweepIntervalMs?: number;
  /** Largest logs request sent without splitting (default: just under gRPC's 4 MiB; tests raise it). */
  maxLogsRequestBytes?: number;
}

const GRPC_UNAVAILABLE = 14;
const ABANDON_SLACK_MS = 1_000;
/**
 * Largest logs request sent as one: gRPC's default maximum receive message
 * size (the Collector's too), less a margin. A collector with a lower limit
 * still gets its requests split on RESOURCE_EXHAUSTED (see send()).
 */
const MAX_LOGS_REQUEST_BYTES = 4 * 1024 * 1024 - 16 * 1024;

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
  private traces?: SignalExporter<ReadableSpan>;
  /** Makes the SDK trace exporter (a fresh channel each time, see resetChannel). */
  private makeTraces?: () => SignalExporter<ReadableSpan>;
  private logs?: SignalExporter<EncodedLog>;
  private readonly logEncoder = new LogEncoder();
  private readonly logAssembler: LogRequestAssembler;
  private metrics?: NetMetrics;
  private sdkConfig?: SdkConfig;
  private readonly pending = new Map<readonly NetEvent[], Pending>();
  private readonly completed = new WeakSet<readonly NetEvent[]>();
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
    this.logAssembler = new LogRequestAssembler(this.scope);
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
    };
    // the SDK's trace and metric exporters are loaded only for their signals (~0.1 s of start-up CPU when only logs are on)
    if (this.cfg.signals.traces) {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
      const sdkConfig = this.sdkConfig;
      this.makeTraces = () => new OTLPTraceExporter(sdkConfig);
      this.traces = this.makeTraces();
    }
    if (this.cfg.signals.logs) this.logs = new OtlpLogsTransport(this.sdkConfig, this.logAssembler);
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
      if (batch.length === 0 || this.completed.has(batch)) return { code: 'success' };
      this.reapAbandoned();
      if (this.abandoned.has(batch)) return { code: 'failure', error: 'batch was given up after its retries stopped' };
      let p = this.pending.get(batch);
      if (p?.inFlight) {
        // the queue timed out an attempt that is still running: let it finish first
        await p.inFlight;
        if (this.completed.has(batch)) return { code: 'success' };
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
        this.completed.add(batch);
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
      for (const e of batch) {
        const { resource, record } = splitAttributes(e);
        this.metrics.record(e, resource, record);
      }
    }
    // the stitcher only places events into spans: without traces, records carry no span and nothing waits for a connect
    if (!this.traces) return this.buildLogs(batch);
    const now = this.now();
    const planned: Planned[] = [];
    for (const e of batch) for (const p of this.stitcher.add(e, now)) planned.push(p);
    for (const p of this.stitcher.expire(now)) planned.push(p);
    return this.build(planned);
  }

  private build(planned: readonly Planned[]): Pending {
    const spans: ReadableSpan[] = [];
    if (this.logs) this.logEncoder.begin(BigInt(Date.now()) * 1_000_000n);
    for (const p of planned) {
      const { resource, record } = splitAttributes(p.event);
      const res = this.resources.get(resource);
      if (this.traces && p.span) spans.push(buildSpan(p.event, p.span, record, res, this.scope));
      if (this.logs) this.logEncoder.add(p.event, record, res, this.traces ? p.ctx : undefined);
    }
    return this.toPending(spans, this.logs ? this.logEncoder.finish() : []);
  }

  /** build() without traces: a log record per event, in batch order. */
  private buildLogs(events: readonly NetEvent[]): Pending {
    if (!this.logs) return this.toPending([], []);
    this.logEncoder.begin(BigInt(Date.now()) * 1_000_000n);
    // the record's attributes are written from the event (no attributes object per event)
    for (const e of events) {
      // (an event without enrichment has the node's resource: no lookup)
      const res = e.attributes === undefined ? this.resources.node : this.resources.get(resourceAttributes(e));
      this.logEncoder.add(e, undefined, res, undefined);
    }
    return this.toPending([], this.logEncoder.finish());
  }

  private toPending(spans: ReadableSpan[], logs: EncodedLog[]): Pending {
    const out: Pending = { lastAttemptEnd: Date.now() };
    if (spans.length) out.spans = spans;
    if (logs.length) out.logs = logs;
    return out;
  }

  /** Send every signal still undelivered in `p`; successful and permanently failed signals are settled. */
  private async ship(p: Pending): Promise<ExportResult> {
    const tasks: Promise<{ signal: Signal; outcome: string; error?: string }>[] = [];
    const spans = p.spans;
    if (spans && this.traces) {
      tasks.push(
        this.send('traces', () => this.traces, spans).then((c) => {
          p.spans = c.outcome === 'retryable' ? (c.remaining ?? spans) : undefined;
          if (c.outcome === 'failure')
            this.otel.dropped('traces', 'export_failed', (c.remaining ?? spans).length, c.error);
          return { signal: 'traces', ...c };
        }),
      );
    }
    const logs = p.logs;
    if (logs && this.logs) {
      tasks.push(
        this.sendLogs(logs).then((c) => {
          p.logs = c.outcome === 'retryable' ? (c.remaining ?? logs) : undefined;
          if (c.outcome === 'failure')
            this.otel.dropped('logs', 'export_failed', (c.remaining ?? logs).length, c.error);
          return { signal: 'logs', ...c };
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
   * Logs in requests of at most MAX_LOGS_REQUEST_BYTES (a record larger than
   * that alone still goes out alone), one after the other; `remaining` is
   * what is undelivered when one of them does not succeed.
   */
  private async sendLogs(
    items: EncodedLog[],
  ): Promise<{ outcome: 'success' | 'failure' | 'retryable'; error?: string; remaining?: EncodedLog[] }> {
    const chunks = this.splitLogs(items);
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      const r = await this.send('logs', () => this.logs, chunk);
      if (r.outcome !== 'success')
        return { ...r, remaining: [...(r.remaining ?? chunk), ...chunks.slice(i + 1).flat()] };
    }
    return { outcome: 'success' };
  }

  private splitLogs(items: EncodedLog[]): EncodedLog[][] {
    const max = this.opts.maxLogsRequestBytes ?? MAX_LOGS_REQUEST_BYTES;
    const chunks: EncodedLog[][] = [];
    let chunk: EncodedLog[] = [];
    let size = 0;
    let seen = new Set<unknown>();
    for (const item of items) {
      let add = LogRequestAssembler.recordSize(item);
      if (!seen.has(item.resource)) add += this.logAssembler.resourceOverhead(item.resource);
      if (chunk.length > 0 && size + add > max) {
        chunks.push(chunk);
        chunk = [];
        seen = new Set<unknown>();
        add = LogRequestAssembler.recordSize(item) + this.logAssembler.resourceOverhead(item.resource);
        size = 0;
      }
      seen.add(item.resource);
      chunk.push(item);
      size += add;
    }
    if (chunk.length) chunks.push(chunk);
    return chunks;
  }

  /**
   * One export request per signal. A request the collector rejects as larger
   * than its maximum message size (gRPC RESOURCE_EXHAUSTED, 4 MiB by default
   * in the Collector) is split in halves and sent again; `remaining` is what
   * is still undelivered when the outcome is not success. A single record
   * that is too large on its own is a permanent failure.
   */
  private async send<T>(
    signal: 'traces' | 'logs',
    current: () => SignalExporter<T> | undefined,
    items: T[],
  ): Promise<{ outcome: 'success' | 'failure' | 'retryable'; error?: string; remaining?: T[] }> {
    if (items.length === 0) return { outcome: 'success' };
    if (this.needsReset[signal]) this.resetChannel(signal);
    const exp = current();
    if (!exp) return { outcome: 'failure', error: `${signal} exporter is not running` };
    const result = await new Promise<SdkExportResult>((resolve) => {
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
      const a = await this.send(signal, current, head);
      if (a.outcome !== 'success') return { ...a, remaining: [...(a.remaining ?? head), ...tail] };
      return this.send(signal, current, tail);
    }
    this.otel.request(signal, c.outcome, error);
    if (c.outcome === 'success') this.otel.sent(signal, items.length);
    else if (grpcCode(result.error) === GRPC_UNAVAILABLE) this.needsReset[signal] = true;
    return { outcome: c.outcome, error };
  }

  /**
   * After UNAVAILABLE, the next attempt gets a fresh SDK exporter (and so a
   * fresh gRPC channel): grpc-js backs off reconnects for up to two minutes,
   * and the batch queue's retry back-off is the one that should decide when
   * to try again. Attempts are paced by that back-off, so resets are too.
   */
  private resetChannel(signal: 'traces' | 'logs'): void {
    this.needsReset[signal] = false;
    if (!this.sdkConfig || this.stopped) return;
    const old = signal === 'traces' ? this.traces : this.logs;
    if (signal === 'traces') this.traces = this.makeTraces?.();
    else this.logs = new OtlpLogsTransport(this.sdkConfig, this.logAssembler);
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
      if (p.spans) this.otel.dropped('traces', reason, p.spans.length, 'batch not retried');
      if (p.logs) this.otel.dropped('logs', reason, p.logs.length, 'batch not retried');
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

  /** Release held retransmits/drops whose wait is over and ship them (one attempt; failures are counted). */
  async sweep(): Promise<void> {
    this.reapAbandoned();
    const planned = this.stitcher.expire(this.now());
    if (planned.length === 0) return;
    await this.ship(this.build(planned));
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
    if (rest.length) await this.ship(this.build(rest));
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
