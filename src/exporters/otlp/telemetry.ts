/**
 * The OTLP exporter's own counters, registered on the shared Telemetry
 * registry (so they are exported like every other self-metric). Labels are
 * bounded: exporter id, signal, outcome/reason, stitch kind.
 *
 * Record accounting per exporter and signal (spans, log records):
 *   produced = sent + dropped + held-by-the-stitcher + waiting-for-a-retry
 */
import type { Telemetry } from '../../telemetry/internal-events.js';
import type { Series } from '../../telemetry/metrics.js';

export type Signal = 'traces' | 'logs' | 'metrics';
export type RequestOutcome = 'success' | 'failure' | 'retryable' | 'too_large';
/** Why records were given up by the exporter itself (the batch queue counts events separately); rejected: the collector's partial success. */
export type RecordDropReason = 'export_failed' | 'abandoned' | 'shutdown' | 'rejected';
export type StitchKind = 'dns_connect' | 'retransmit' | 'drop';
/**
 * matched: a connect joined the trace of the DNS lookup that resolved its address.
 * absorbed: became a span event on its connect span. linked: own span in the connect's trace.
 * standalone: no connect known (own trace). expired/overflow/shutdown: held, then released as standalone.
 */
export type StitchOutcome = 'matched' | 'absorbed' | 'linked' | 'standalone' | 'expired' | 'overflow' | 'shutdown';

export class OtlpTelemetry {
  private readonly requests;
  private readonly recordsSent;
  private readonly recordsDropped;
  private readonly stitches;
  private readonly evictions;
  private readonly held;

  constructor(
    private readonly t: Telemetry,
    private readonly exporter: string,
  ) {
    const m = t.metrics;
    this.requests = m.counter('netspan_otlp_requests_total', 'OTLP export requests, per exporter, signal and outcome');
    this.recordsSent = m.counter(
      'netspan_otlp_records_sent_total',
      'Spans, log records and metric points delivered, per signal',
    );
    this.recordsDropped = m.counter(
      'netspan_otlp_records_dropped_total',
      'Spans and log records the OTLP exporter gave up, per signal and reason',
    );
    this.stitches = m.counter(
      'netspan_otlp_stitch_total',
      'Connection-trace stitching decisions, per kind and outcome',
    );
    this.evictions = m.counter(
      'netspan_otlp_stitch_evictions_total',
      'Stitching map entries evicted because a map was full',
    );
    this.held = m.gauge('netspan_otlp_stitch_held', 'Retransmits and drops waiting for their connect event');
  }

  request(signal: Signal, outcome: RequestOutcome, error?: string): void {
    this.requests.inc({ exporter: this.exporter, signal, outcome });
    if (outcome !== 'success') {
      this.t.rl.warn(
        `otlp:${this.exporter}:${signal}:${outcome}`,
        { exporter: this.exporter, signal, outcome, error },
        'OTLP export request failed',
      );
    }
  }

  sent(signal: Signal, n: number): void {
    if (n > 0) this.recordsSent.inc({ exporter: this.exporter, signal }, n);
  }

  dropped(signal: Signal, reason: RecordDropReason, n: number, detail?: string): void {
    if (n <= 0) return;
    this.recordsDropped.inc({ exporter: this.exporter, signal, reason }, n);
    this.t.rl.error(
      `otlp-drop:${this.exporter}:${signal}:${reason}`,
      { exporter: this.exporter, signal, reason, count: n, detail },
      'OTLP records dropped',
    );
  }

  /** Series handles per kind and outcome: stitch() is called for most events, so no label key is built per call. */
  private readonly stitchSeries: Partial<Record<StitchKind, Partial<Record<StitchOutcome, Series>>>> = {};

  stitch(kind: StitchKind, outcome: StitchOutcome, n = 1): void {
    const byOutcome = (this.stitchSeries[kind] ??= {});
    (byOutcome[outcome] ??= this.stitches.handle({ exporter: this.exporter, kind, outcome })).value += n;
  }

  evicted(map: 'dns' | 'connects' | 'held', n = 1): void {
    this.evictions.inc({ exporter: this.exporter, map }, n);
  }

  private heldSeries: Series | undefined;

  /** Called on every hold and release: through a kept handle. */
  heldNow(n: number): void {
    (this.heldSeries ??= this.held.handle({ exporter: this.exporter })).value = n;
  }

  /** Read side for tests and the health endpoint. */
  get counters() {
    return {
      requests: this.requests,
      recordsSent: this.recordsSent,
      recordsDropped: this.recordsDropped,
      stitches: this.stitches,
      evictions: this.evictions,
    };
  }
}
