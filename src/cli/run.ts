/**
 * `netspan run`: live from bpftrace, or --replay from a record file.
 * Stops on SIGINT/SIGTERM or after --duration, flushing every exporter, and
 * prints a one-line account of what happened to the events.
 */
import type { Env } from '../config/env.js';
import { hostContext } from '../host/context.js';
import { applyRuntime } from '../host/runtime.js';
import { MonotonicClock } from '../host/clock.js';
import type { Registry } from '../registry.js';
import { readRecordHeader } from '../service/replay.js';
import { Service } from '../service/service.js';
import { Telemetry } from '../telemetry/internal-events.js';
import { createLogger, type Logger } from '../telemetry/log.js';
import { loadOrReport } from './validate.js';
import { watchConfig } from './reload.js';
import { readFile } from 'node:fs/promises';
import { startHealthServer, type HealthServer } from '../health/server.js';

export interface RunOptions {
  configFile: string;
  durationS?: number | undefined;
  record?: string | undefined;
  replay?: string | undefined;
  env: Env;
  registry: Registry;
}

export async function runCommand(opts: RunOptions): Promise<number> {
  const config = await loadOrReport(opts.configFile, opts.registry, opts.env);
  if (!config) return 1;
  applyRuntime(config.runtime);
  const logger = createLogger(config.telemetry.log_level);
  const telemetry = new Telemetry(logger, undefined, config.telemetry.log_interval_ms);
  const service = new Service({ config, registry: opts.registry, telemetry, logger, env: opts.env });

  // stdout is the event stream; a closed pipe (| head) must not crash the daemon.
  process.stdout.on('error', (e: Error) => telemetry.rl.error('stdout', { error: e.message }, 'stdout closed'));

  if (opts.replay) {
    let offset: bigint;
    try {
      offset = await readRecordHeader(opts.replay);
    } catch (e: unknown) {
      logger.error(e instanceof Error ? e.message : String(e));
      return 1;
    }
    const started = process.hrtime.bigint();
    // SIGINT/SIGTERM stop reading the record; what was read is flushed and accounted for.
    const abort = new AbortController();
    const onReplaySignal = (sig: NodeJS.Signals): void => {
      if (!abort.signal.aborted) logger.info({ reason: sig }, 'stopping: flushing exporters');
      abort.abort();
    };
    process.on('SIGINT', onReplaySignal);
    process.on('SIGTERM', onReplaySignal);
    try {
      const stats = await service.replay(opts.replay, await hostContext(new MonotonicClock(offset)), abort.signal);
      await service.stop();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      summary(logger, telemetry, {
        replay_lines: stats.lines,
        replay_skipped: stats.skipped,
        seconds: round(seconds),
        ...(abort.signal.aborted ? { interrupted: true } : {}),
      });
    } finally {
      process.off('SIGINT', onReplaySignal);
      process.off('SIGTERM', onReplaySignal);
    }
    return 0;
  }

  const bpftrace = opts.env.NETSPAN_BPFTRACE ?? 'bpftrace';
  const host = await hostContext();
  let stopping: Promise<void> | undefined;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const stop = (why: string, code = 0): void => {
    if (stopping) return;
    logger.info({ reason: why }, 'stopping: flushing exporters');
    stopping = service.stop().then(() => {
      summary(logger, telemetry, {});
      resolveDone(code);
    });
  };
  const onSignal = (sig: NodeJS.Signals) => stop(sig);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let health: HealthServer | undefined;
  const hc = config.telemetry.health;
  if (hc.enabled) {
    try {
      health = await startHealthServer({
        host: hc.host,
        port: hc.port,
        telemetry,
        failingThresholdMs: hc.failing_threshold_ms,
      });
      logger.info({ port: health.port }, 'health endpoint listening (/healthz, /readyz, /metrics)');
    } catch (e: unknown) {
      logger.error(
        { error: e instanceof Error ? e.message : String(e) },
        'cannot start the health endpoint; continuing without it',
      );
    }
  }
  const report = await service.startLive(host, { record: opts.record, supervisor: { bpftrace } });
  const reloader = watchConfig(
    opts.configFile,
    service,
    opts.registry,
    opts.env,
    logger,
    await readFile(opts.configFile, 'utf8'),
  );
  if (report.attached.length === 0 && report.failed.length > 0) {
    for (const f of report.failed) process.stderr.write(`${f.diagnosis}\n`);
    process.stderr.write('netspan: no probe could start; run `netspan doctor` for details.\n');
    stop('no probe could start', 1);
  } else {
    logger.info({ attached: report.attached, failed: report.failed.map((f) => f.id) }, 'netspan running');
    if (opts.durationS !== undefined) setTimeout(() => stop('duration elapsed'), opts.durationS * 1000).unref();
  }
  const code = await done;
  reloader.close();
  await health?.close();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return code;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** One line accounting for every event: received, sent, dropped by reason, lost, parse errors. */
function summary(logger: Logger, t: Telemetry, extra: Record<string, unknown>): void {
  t.rl.flush(); // what the rate-limited warnings still held back, before the totals
  const dropped: Record<string, number> = {};
  for (const s of t.eventsDropped.snapshot()) dropped[`${s.labels.component}:${s.labels.reason}`] = s.value;
  const discarded: Record<string, number> = {};
  for (const s of t.eventsDiscarded.snapshot()) discarded[`${s.labels.component}:${s.labels.reason}`] = s.value;
  const perProbe: Record<string, number> = {};
  for (const s of t.eventsReceived.snapshot()) perProbe[s.labels.probe ?? '?'] = s.value;
  // Spans and log records an OTLP exporter did not deliver, per signal (a unit of its own: an event
  // makes up to one of each). Beyond the events counted above it holds those lost after their batch
  // was counted sent (retransmits/drops that waited for their connect, records a collector rejected in
  // a partial success); it also counts the records of batches dropped above (export_failed, shutdown).
  const records: Record<string, number> = {};
  const otlp = t.metrics.collect().find((m) => m.name === 'netspan_otlp_records_dropped_total');
  for (const s of otlp?.series ?? []) records[`${s.labels.exporter}:${s.labels.signal}:${s.labels.reason}`] = s.value;
  logger.info(
    {
      ...extra,
      events_received: t.eventsReceived.sum(),
      events_received_by_probe: perProbe,
      events_sent: t.eventsSent.sum(),
      events_dropped: dropped,
      events_discarded: discarded,
      kernel_lost: t.eventsLost.sum(),
      parse_errors: t.parseErrors.sum(),
      probe_restarts: t.probeRestarts.sum(),
      ...(Object.keys(records).length > 0 ? { otlp_records_dropped: records } : {}),
    },
    'netspan stopped',
  );
}
