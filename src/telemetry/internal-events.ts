/**
 * Every notable thing netspan does to events, as a named function that bumps a
 * `_total` counter with bounded labels and logs (rate-limited where it can
 * repeat per event). Modelled on Vector's instrumentation spec: a dropped event
 * always increments a drop counter with a reason; nothing is logged per event.
 *
 * Accounting identity per exporter (checked by tests):
 *   received = sent + dropped(all reasons) + queued
 */
import type { Logger } from './log.js';
import { HandleCache, MetricsRegistry, type Series } from './metrics.js';
import { RateLimitedLog } from './rate-limited-log.js';
import type { ParseErrorType } from '../core/parser.js';

/** Why an event was lost after it entered the pipeline (bounded). */
export type DropReason = 'queue_full' | 'export_failed' | 'shutdown' | 'processor_error' | 'no_pipeline';
/** Why an event was intentionally discarded by a processor (bounded). */
export type DiscardReason = 'filtered' | 'sampled_out' | 'rate_limited';

export class Telemetry {
  readonly metrics: MetricsRegistry;
  readonly rl: RateLimitedLog;

  readonly linesReceived;
  readonly eventsReceived;
  readonly parseErrors;
  readonly eventsLost;
  readonly eventsDiscarded;
  readonly eventsDropped;
  readonly eventsAccepted;
  readonly eventsSent;
  readonly exportErrors;
  readonly probeRestarts;
  readonly probeUp;
  readonly probeDownSeconds;
  readonly queueDepth;
  readonly recordErrors;
  readonly primeErrors;
  // Pre-bound series for the counters bumped per line / per event.
  private readonly linesByProbe: HandleCache;
  private readonly receivedByProbe: HandleCache;
  private readonly acceptedByExporter: HandleCache;
  private readonly sentByExporter: HandleCache;
  /** Per exporter: when it last delivered, and since when it has been failing (undefined = not failing). */
  readonly exporterHealth = new Map<string, { lastSuccessMs?: number; failingSinceMs?: number }>();

  constructor(
    readonly logger: Logger,
    metrics = new MetricsRegistry(),
    logIntervalMs = 10_000,
  ) {
    this.metrics = metrics;
    this.rl = new RateLimitedLog(logger, logIntervalMs);
    this.linesReceived = metrics.counter('netspan_probe_lines_total', 'Lines read from probe output');
    this.eventsReceived = metrics.counter(
      'netspan_events_received_total',
      'Events parsed from probe output, per probe',
    );
    this.parseErrors = metrics.counter('netspan_parse_errors_total', 'Probe output lines that could not be parsed');
    this.eventsLost = metrics.counter(
      'netspan_events_lost_total',
      'Events the kernel could not hand to bpftrace (perf ring buffer full), per probe',
    );
    this.eventsDiscarded = metrics.counter(
      'netspan_events_discarded_total',
      'Events intentionally discarded by a processor (filter, sample, rate_limit)',
    );
    this.eventsDropped = metrics.counter(
      'netspan_events_dropped_total',
      'Events lost inside netspan, per component and reason',
    );
    this.eventsAccepted = metrics.counter('netspan_exporter_received_total', 'Events handed to an exporter queue');
    this.eventsSent = metrics.counter('netspan_events_sent_total', 'Events an exporter delivered');
    this.exportErrors = metrics.counter(
      'netspan_export_errors_total',
      'Failed export attempts, per exporter and outcome',
    );
    this.probeRestarts = metrics.counter('netspan_probe_restarts_total', 'bpftrace processes restarted after exiting');
    this.probeUp = metrics.gauge('netspan_probe_up', '1 while the probe is attached, 0 otherwise');
    this.probeDownSeconds = metrics.counter(
      'netspan_probe_down_seconds_total',
      'Time between a bpftrace process exiting unexpectedly and its replacement attaching (events in that gap were not seen); added at re-attach',
    );
    this.queueDepth = metrics.gauge('netspan_exporter_queue_size', 'Events waiting in an exporter queue');
    this.recordErrors = metrics.counter('netspan_record_errors_total', 'Failures writing the --record file');
    this.primeErrors = metrics.counter(
      'netspan_processor_prime_errors_total',
      'A processor threw while reading ahead for an event (the event still goes through process())',
    );
    this.linesByProbe = new HandleCache(this.linesReceived, 'probe');
    this.receivedByProbe = new HandleCache(this.eventsReceived, 'probe');
    this.acceptedByExporter = new HandleCache(this.eventsAccepted, 'exporter');
    this.sentByExporter = new HandleCache(this.eventsSent, 'exporter');
  }

  lines(probe: string, n: number): void {
    this.linesByProbe.get(probe).value += n;
  }

  received(probe: string): void {
    this.receivedByProbe.get(probe).value++;
  }

  parseError(probe: string, errorType: ParseErrorType, message: string): void {
    this.parseErrors.inc({ probe, error_type: errorType });
    this.rl.warn(
      `parse:${probe}:${errorType}`,
      { probe, error_type: errorType, detail: message.slice(0, 200) },
      'Probe output line rejected',
    );
  }

  lost(probe: string, count: number): void {
    this.eventsLost.inc({ probe }, count);
    this.rl.warn(
      `lost:${probe}`,
      { probe, count },
      'Kernel lost events before bpftrace could read them (perf buffer full)',
    );
  }

  discarded(component: string, reason: DiscardReason, n = 1): void {
    this.eventsDiscarded.inc({ component, reason }, n);
  }

  dropped(component: string, reason: DropReason, n: number, detail?: string): void {
    if (n <= 0) return;
    this.eventsDropped.inc({ component, reason }, n);
    this.rl.error(`drop:${component}:${reason}`, { component, reason, count: n, detail }, 'Events dropped');
  }

  /**
   * dropped() for one component and reason, made once: for a drop that can
   * happen once per event (a full queue under overload), the counter's
   * series is resolved once (at the first drop) and a drop inside the log
   * interval costs a counter bump and a map lookup. Its detail is fixed, and its summary
   * line is its own (dropped() shares one per component and reason and
   * shows the latest detail).
   */
  dropper(component: string, reason: DropReason, detail?: string): (n: number) => void {
    // the series is made at the first drop: a component that never drops has none (the stop summary lists series)
    let series: Series | undefined;
    // the detail is part of the key: two droppers for one reason keep their own summary lines
    const key = `drop:${component}:${reason}:${detail ?? ''}`;
    return (n) => {
      if (n <= 0) return;
      series ??= this.eventsDropped.handle({ component, reason });
      series.value += n;
      if (!this.rl.suppress(key, n)) this.rl.error(key, { component, reason, count: n, detail }, 'Events dropped');
    };
  }

  accepted(exporter: string, n = 1): void {
    this.acceptedByExporter.get(exporter).value += n;
  }

  sent(exporter: string, n: number): void {
    this.sentByExporter.get(exporter).value += n;
    this.exporterHealth.set(exporter, { lastSuccessMs: Date.now() });
  }

  exportError(exporter: string, outcome: 'failure' | 'retryable', error: string): void {
    this.exportErrors.inc({ exporter, outcome });
    const h = this.exporterHealth.get(exporter) ?? {};
    if (h.failingSinceMs === undefined) this.exporterHealth.set(exporter, { ...h, failingSinceMs: Date.now() });
    this.rl.warn(`export:${exporter}:${outcome}`, { exporter, outcome, error }, 'Export attempt failed');
  }

  probeState(probe: string, up: boolean): void {
    this.probeUp.set({ probe }, up ? 1 : 0);
  }

  probeRestarted(probe: string, exitDescription: string, delayMs: number): void {
    this.probeRestarts.inc({ probe });
    this.logger.warn({ probe, exit: exitDescription, restart_in_ms: delayMs }, 'bpftrace exited; restarting');
  }

  /** A restarted probe re-attached after `seconds` without a running bpftrace. */
  probeDown(probe: string, seconds: number): void {
    this.probeDownSeconds.inc({ probe }, seconds);
    this.logger.info({ probe, down_seconds: Math.round(seconds * 1000) / 1000 }, 'probe re-attached after a gap');
  }

  /**
   * A processor threw (a bug, not bad input: processors must not throw). In
   * process() the event is dropped and counted (reason processor_error); in
   * prime() nothing is lost, process() runs later as usual.
   */
  processorError(component: string, stage: 'process' | 'prime', error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (stage === 'process') this.eventsDropped.inc({ component, reason: 'processor_error' });
    else this.primeErrors.inc({ component });
    this.rl.error(
      `processor:${component}:${stage}`,
      { component, stage, error: message.slice(0, 200) },
      stage === 'process' ? 'Processor failed; event dropped' : 'Processor failed reading ahead; event goes on',
    );
  }

  recordError(error: string): void {
    this.recordErrors.inc();
    this.rl.error('record', { error }, 'Cannot write the --record file; recording stopped, events still flow');
  }
}
