/**
 * Builds the running system from a validated Config: exporters and their
 * queues, per-pipeline processors, probe inputs; runs it from live bpftrace
 * processes or from a record file; swaps to a new Config on reload without
 * losing events in flight and without restarting probes that did not change.
 */
import type { NetEvent } from '../core/event.js';
import type { Config } from '../config/schema.js';
import type { Env } from '../config/env.js';
import { BatchQueue, queueConfigSchema, type QueueConfig } from '../pipeline/batch-queue.js';
import type { Exporter, Processor } from '../pipeline/component.js';
import { PipelineGraph, type Route } from '../pipeline/graph.js';
import type { HostContext } from '../probes/types.js';
import type { ProbeConfig } from '../probes/config.js';
import type { Registry } from '../registry.js';
import { defaultSupervisorOptions, ProbeSupervisor, type SupervisorOptions } from '../runner/supervisor.js';
import type { Telemetry } from '../telemetry/internal-events.js';
import type { Logger } from '../telemetry/log.js';
import { ProbeInput, type EventSink } from './probe-input.js';
import { DEFAULT_REORDER_MAX_HELD, DEFAULT_REORDER_WINDOW_MS, Reorderer } from './reorder.js';
import { Recorder } from './recorder.js';
import { replayFile, type ReplayStats } from './replay.js';

export interface ServiceDeps {
  config: Config;
  registry: Registry;
  telemetry: Telemetry;
  logger: Logger;
  env: Env;
  /** Cross-probe reordering window (reorder.ts); 0 turns it off. */
  reorderWindowMs?: number;
}

export interface StartReport {
  attached: string[];
  failed: { id: string; diagnosis: string }[];
}

export interface LiveOptions {
  record?: string | undefined;
  supervisor?: Partial<SupervisorOptions>;
  attachTimeoutMs?: number;
}

export interface ReloadReport {
  started: string[];
  stopped: string[];
  kept: string[];
}

export class Service implements EventSink {
  private current: PipelineGraph;
  private config: Config;
  private readonly inputs = new Map<string, ProbeInput>();
  private readonly supervisors = new Map<string, ProbeSupervisor>();
  private recorder: Recorder | undefined;
  private host: HostContext | undefined;
  private live: LiveOptions | undefined;
  private stopped = false;
  private reloading: Promise<unknown> = Promise.resolve();
  /** Events of all probes, back in kernel-time order, go on to the current graph. */
  private readonly reorder: Reorderer;

  constructor(private readonly deps: ServiceDeps) {
    this.config = deps.config;
    this.current = buildGraph(deps, deps.config);
    // Held events are at most a quarter of the smallest queue (and at most half of replay's back-log,
    // see replayBacklog), so replay's budget always has room for them.
    this.reorder = new Reorderer(
      () => this.current,
      deps.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS,
      () => Math.max(1, Math.min(DEFAULT_REORDER_MAX_HELD, Math.floor(this.current.minCapacity() / 4))),
    );
  }

  get graph(): PipelineGraph {
    return this.current;
  }

  ingest(probeId: string, event: NetEvent): void {
    this.reorder.ingest(probeId, event);
  }

  /** Probe ids some pipeline uses, in config order. */
  probeIds(): string[] {
    return this.current.probeIds();
  }

  private async createInput(
    id: string,
    host: HostContext,
  ): Promise<{ input: ProbeInput; program: string; env: Record<string, string> }> {
    const entry = this.config.probes.get(id)!;
    const prepared = await this.deps.registry.probes
      .get(entry.type)!
      .definition.prepare(host, entry.config as ProbeConfig);
    const input = new ProbeInput(id, () => prepared.createParser(), this, this.deps.telemetry);
    this.inputs.set(id, input);
    const rb = (entry.config as ProbeConfig).perf_rb_pages;
    return { input, program: prepared.program, env: { ...prepared.env, BPFTRACE_PERF_RB_PAGES: String(rb) } };
  }

  /**
   * Starts one bpftrace process per probe and waits until each has attached
   * or failed its first attempt (failed ones keep retrying with back-off).
   */
  async startLive(host: HostContext, opts: LiveOptions = {}): Promise<StartReport> {
    this.host = host;
    this.live = opts;
    await this.current.start();
    if (opts.record)
      this.recorder = new Recorder(
        opts.record,
        (host.clock as { offsetNs?: bigint }).offsetNs ?? 0n,
        this.deps.telemetry,
      );
    return this.startProbes(this.probeIds(), host, opts);
  }

  private async startProbes(ids: readonly string[], host: HostContext, opts: LiveOptions): Promise<StartReport> {
    const report: StartReport = { attached: [], failed: [] };
    const outcomes = ids.map((id) => this.startProbe(id, host, opts, report));
    const timeout = opts.attachTimeoutMs ?? 60_000;
    await Promise.race([Promise.all(outcomes), new Promise((r) => setTimeout(r, timeout).unref())]);
    return report;
  }

  /** Resolves at the probe's first attach or first failure. */
  private async startProbe(id: string, host: HostContext, opts: LiveOptions, report: StartReport): Promise<void> {
    const { telemetry, logger } = this.deps;
    let created;
    try {
      created = await this.createInput(id, host);
    } catch (e: unknown) {
      const diagnosis = `Probe ${id} could not be prepared: ${e instanceof Error ? e.message : String(e)}`;
      logger.error({ probe: id }, diagnosis);
      report.failed.push({ id, diagnosis });
      telemetry.probeState(id, false);
      return;
    }
    const { input, program, env } = created;
    let settle!: () => void;
    const outcome = new Promise<void>((r) => (settle = r));
    let starts = 0;
    /** When the last bpftrace process exited unexpectedly (undefined while attached). */
    let downSince: number | undefined;
    const probeCfg = this.config.probes.get(id)!.config as ProbeConfig;
    const sup = new ProbeSupervisor(
      id,
      program,
      env,
      {
        onStart: () => {
          if (starts++ > 0) input.restart();
        },
        onLine: (line) => {
          this.recorder?.write(id, line);
          input.line(line);
        },
        onOverlong: (n) => input.overlong(n),
        onAttached: () => {
          telemetry.probeState(id, true);
          logger.info({ probe: id }, 'probe attached');
          if (downSince !== undefined) telemetry.probeDown(id, (Date.now() - downSince) / 1000);
          downSince = undefined;
          if (starts === 1) report.attached.push(id);
          settle();
        },
        onExit: (info) => {
          telemetry.probeState(id, false);
          if (info.diagnosis) {
            telemetry.rl.error(`probe-failed:${id}`, { probe: id, retry_in_ms: info.restartInMs }, info.diagnosis);
            if (starts === 1) report.failed.push({ id, diagnosis: info.diagnosis });
          }
          if (info.restartInMs !== undefined) {
            telemetry.probeRestarted(id, info.description, info.restartInMs);
            if (info.attached) downSince ??= Date.now();
          }
          settle();
        },
      },
      logger,
      { ...defaultSupervisorOptions, backoffMaxMs: probeCfg.restart_backoff_max_ms, ...opts.supervisor },
    );
    this.supervisors.set(id, sup);
    sup.start();
    await outcome;
  }

  /** Supervisor of a probe (tests kill it to check restarts). */
  supervisor(id: string): ProbeSupervisor | undefined {
    return this.supervisors.get(id);
  }

  /** Runs a record file through the pipelines; resolves when all of it is queued. */
  async replay(file: string, host: HostContext, signal?: AbortSignal): Promise<ReplayStats> {
    this.host = host;
    await this.current.start();
    for (const id of this.probeIds()) await this.createInput(id, host);
    const stats = await replayFile(
      file,
      this.inputs,
      {
        // events held for reordering count against the backlog
        freeSpace: () => this.replayBacklog() - this.current.backlog() - this.reorder.size,
        waitForSpace: () => this.current.waitUntilBelow(Math.max(1, Math.floor(this.replayBacklog() / 4))),
      },
      signal,
    );
    this.reorder.flush(); // replayFile ended the inputs: their last events are here
    return stats;
  }

  /**
   * The most events replay keeps queued in front of the exporters: a few
   * batches, enough to keep every exporter busy, not the whole queue. Events
   * that wait long in a queue outlive two young-generation collections and
   * are promoted, and the old generation then fills with them until a full
   * GC. It is at least twice the reorder stage's hold, so after waiting for
   * the queues to drain to a quarter of it there is always room.
   */
  private replayBacklog(): number {
    const g = this.current;
    return Math.min(g.minCapacity(), Math.max(8 * g.maxBatchSize(), 2 * DEFAULT_REORDER_MAX_HELD));
  }

  /**
   * Swap to a new (already validated) config. New events go to the new
   * pipelines from the moment of the swap; the old pipelines flush what they
   * hold. Probes whose config is unchanged keep running.
   */
  async reload(next: Config): Promise<ReloadReport> {
    const run = this.reloading.then(() => this.doReload(next));
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async doReload(next: Config): Promise<ReloadReport> {
    const none: ReloadReport = { started: [], stopped: [], kept: [] };
    // A reload that comes in while stopping (SIGHUP, a config file change) must not start what stop() would miss.
    if (this.stopped) return this.reloadIgnored(none);
    const nextGraph = buildGraph(this.deps, next);
    await nextGraph.start();
    if (this.stopped) {
      await nextGraph.shutdown();
      return this.reloadIgnored(none);
    }
    const before = this.config;
    const oldGraph = this.current;
    const oldIds = new Set(oldGraph.probeIds());
    const newIds = new Set(nextGraph.probeIds());
    const same = (id: string) => JSON.stringify(before.probes.get(id)) === JSON.stringify(next.probes.get(id));
    const report: ReloadReport = { started: [], stopped: [], kept: [] };
    for (const id of oldIds) {
      if (newIds.has(id) && same(id)) report.kept.push(id);
      else report.stopped.push(id);
    }
    for (const id of newIds) if (!report.kept.includes(id)) report.started.push(id);

    // Probes that go away are stopped first, and their parsers flushed: everything they
    // printed goes to the old pipelines, which still route them.
    for (const id of report.stopped) {
      await this.supervisors.get(id)?.stop();
      this.supervisors.delete(id);
      this.inputs.get(id)?.end();
      this.inputs.delete(id);
      this.deps.telemetry.probeState(id, false);
    }
    // The swap itself is synchronous: no event can fall between the two graphs.
    // Events read before it (some still held for reordering) belong to the old pipelines.
    this.reorder.flush();
    this.current = nextGraph;
    this.config = next;

    if (this.host && report.started.length) {
      if (this.live) await this.startProbes(report.started, this.host, this.live);
      else for (const id of report.started) await this.createInput(id, this.host);
    }
    await oldGraph.shutdown();
    this.deps.logger.info(report, 'configuration reloaded');
    return report;
  }

  private reloadIgnored(report: ReloadReport): ReloadReport {
    this.deps.logger.warn('configuration not reloaded: netspan is stopping');
    return report;
  }

  /** Stop probes, flush every queue within its deadline, shut exporters down. Safe twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.reloading;
    await Promise.all([...this.supervisors.values()].map((s) => s.stop()));
    for (const input of this.inputs.values()) input.end();
    this.reorder.close();
    await this.current.shutdown();
    await this.recorder?.close();
  }
}

function buildGraph({ registry, telemetry, logger, env }: ServiceDeps, config: Config): PipelineGraph {
  const exporters = new Map<string, Exporter>();
  const queues = new Map<string, BatchQueue>();
  const routes = new Map<string, Route[]>();
  const ctx = (id: string) => ({ id, telemetry, logger: logger.child({ component: id }), env });

  for (const [name, p] of config.pipelines) {
    const routeQueues: BatchQueue[] = [];
    for (const id of p.exporters) {
      let q = queues.get(id);
      if (!q) {
        const entry = config.exporters.get(id)!;
        const exporter = registry.exporters.get(entry.type)!.create(entry.config, ctx(id));
        const queueCfg: QueueConfig = (entry.config as { queue?: QueueConfig }).queue ?? queueConfigSchema.parse({});
        q = new BatchQueue(id, exporter, queueCfg, telemetry);
        exporters.set(id, exporter);
        queues.set(id, q);
      }
      routeQueues.push(q);
    }
    // Processors are instantiated per pipeline (shared by its probes), as in the Collector.
    const processors: Processor[] = p.processors.map((id) => {
      const entry = config.processors.get(id)!;
      return registry.processors.get(entry.type)!.create(entry.config, ctx(id));
    });
    for (const probeId of p.probes) {
      const list = routes.get(probeId) ?? [];
      list.push({ pipeline: name, processors, processorIds: p.processors, queues: routeQueues });
      routes.set(probeId, list);
    }
  }
  return new PipelineGraph(routes, queues, exporters, telemetry);
}
