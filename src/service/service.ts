/**
 * Builds the running system from a validated Config: exporters and their
 * queues, per-pipeline processors, probe inputs; then runs it from live
 * bpftrace processes or from a record file.
 */
import type { Config } from '../config/schema.js';
import type { Env } from '../config/env.js';
import { BatchQueue, queueConfigSchema, type QueueConfig } from '../pipeline/batch-queue.js';
import type { Exporter, Processor } from '../pipeline/component.js';
import { PipelineGraph, type Route } from '../pipeline/graph.js';
import type { HostContext, PreparedProbe } from '../probes/types.js';
import type { ProbeConfig } from '../probes/config.js';
import type { Registry } from '../registry.js';
import { defaultSupervisorOptions, ProbeSupervisor, type SupervisorOptions } from '../runner/supervisor.js';
import type { Telemetry } from '../telemetry/internal-events.js';
import type { Logger } from '../telemetry/log.js';
import { ProbeInput } from './probe-input.js';
import { Recorder } from './recorder.js';
import { replayFile, type ReplayStats } from './replay.js';

export interface ServiceDeps {
  config: Config;
  registry: Registry;
  telemetry: Telemetry;
  logger: Logger;
  env: Env;
}

export interface StartReport {
  attached: string[];
  failed: { id: string; diagnosis: string }[];
}

export class Service {
  readonly graph: PipelineGraph;
  private readonly inputs = new Map<string, ProbeInput>();
  private readonly supervisors: ProbeSupervisor[] = [];
  private recorder: Recorder | undefined;
  private stopped = false;

  constructor(private readonly deps: ServiceDeps) {
    this.graph = buildGraph(deps);
  }

  /** Probe ids some pipeline uses, in config order. */
  probeIds(): string[] {
    return this.graph.probeIds();
  }

  private async prepare(id: string, host: HostContext): Promise<PreparedProbe> {
    const entry = this.deps.config.probes.get(id)!;
    const factory = this.deps.registry.probes.get(entry.type)!;
    return factory.definition.prepare(host);
  }

  /**
   * Starts one bpftrace process per probe and waits until each has attached
   * or failed its first attempt (failed ones keep retrying with back-off).
   */
  async startLive(host: HostContext, opts: { record?: string; supervisor?: Partial<SupervisorOptions>; attachTimeoutMs?: number } = {}): Promise<StartReport> {
    const { telemetry, logger } = this.deps;
    await this.graph.start();
    if (opts.record) this.recorder = new Recorder(opts.record, (host.clock as { offsetNs?: bigint }).offsetNs ?? 0n, telemetry);
    const report: StartReport = { attached: [], failed: [] };
    const firstOutcome: Promise<void>[] = [];
    for (const id of this.probeIds()) {
      let prepared: PreparedProbe;
      try {
        prepared = await this.prepare(id, host);
      } catch (e: unknown) {
        const diagnosis = `Probe ${id} could not be prepared: ${e instanceof Error ? e.message : String(e)}`;
        logger.error({ probe: id }, diagnosis);
        report.failed.push({ id, diagnosis });
        telemetry.probeState(id, false);
        continue;
      }
      const input = new ProbeInput(id, prepared.createParser, this.graph, telemetry);
      this.inputs.set(id, input);
      let settle!: () => void;
      firstOutcome.push(new Promise<void>((r) => (settle = r)));
      let starts = 0;
      const probeCfg = this.deps.config.probes.get(id)!.config as ProbeConfig;
      const sup = new ProbeSupervisor(
        id,
        prepared.program,
        prepared.env,
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
            if (starts === 1) report.attached.push(id);
            settle();
          },
          onExit: (info) => {
            telemetry.probeState(id, false);
            if (info.diagnosis) {
              telemetry.rl.error(`probe-failed:${id}`, { probe: id, retry_in_ms: info.restartInMs }, info.diagnosis);
              if (starts === 1) report.failed.push({ id, diagnosis: info.diagnosis });
            }
            if (info.restartInMs !== undefined) telemetry.probeRestarted(id, info.description, info.restartInMs);
            settle();
          },
        },
        logger,
        { ...defaultSupervisorOptions, backoffMaxMs: probeCfg.restart_backoff_max_ms, ...opts.supervisor },
      );
      this.supervisors.push(sup);
      sup.start();
    }
    const timeout = opts.attachTimeoutMs ?? 60_000;
    await Promise.race([Promise.all(firstOutcome), new Promise((r) => setTimeout(r, timeout).unref())]);
    return report;
  }

  /** Supervisor of a probe (tests kill it to check restarts). */
  supervisor(id: string): ProbeSupervisor | undefined {
    return this.supervisors.find((s) => s.id === id);
  }

  /** Runs a record file through the pipelines; resolves when all of it is queued. */
  async replay(file: string, host: HostContext): Promise<ReplayStats> {
    await this.graph.start();
    for (const id of this.probeIds()) {
      const prepared = await this.prepare(id, host);
      this.inputs.set(id, new ProbeInput(id, prepared.createParser, this.graph, this.deps.telemetry));
    }
    return replayFile(file, this.inputs, this.graph);
  }

  /** Stop probes, flush every queue within its deadline, shut exporters down. Safe twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.supervisors.map((s) => s.stop()));
    for (const input of this.inputs.values()) input.end();
    await this.graph.shutdown();
    await this.recorder?.close();
  }
}

function buildGraph({ config, registry, telemetry, logger, env }: ServiceDeps): PipelineGraph {
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
      list.push({ pipeline: name, processors, queues: routeQueues });
      routes.set(probeId, list);
    }
  }
  return new PipelineGraph(routes, queues, exporters);
}
