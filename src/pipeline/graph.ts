/**
 * The running pipelines: for each probe id, the routes its events take
 * (a pipeline's processors, then its exporters' queues). Processors are
 * instantiated per pipeline; an exporter id used by several pipelines is one
 * instance with one queue (as in the OpenTelemetry Collector).
 */
import type { NetEvent } from '../core/event.js';
import type { Telemetry } from '../telemetry/internal-events.js';
import type { BatchQueue } from './batch-queue.js';
import type { Exporter, Processor } from './component.js';

export interface Route {
  pipeline: string;
  processors: Processor[];
  /** Component ids of `processors`, in the same order (for counting a processor's failure). */
  processorIds: string[];
  queues: BatchQueue[];
}

export class PipelineGraph {
  private stopped = false;
  private started = false;

  constructor(
    private readonly routes: ReadonlyMap<string, readonly Route[]>,
    readonly queues: ReadonlyMap<string, BatchQueue>,
    readonly exporters: ReadonlyMap<string, Exporter>,
    private readonly telemetry: Telemetry,
  ) {}

  /** Probe ids that feed at least one pipeline. */
  probeIds(): string[] {
    return [...this.routes.keys()];
  }

  /** Lets the processors of this probe's routes read what they need now (Processor.prime). */
  prime(probeId: string, event: NetEvent): void {
    const routes = this.routes.get(probeId);
    if (!routes) return;
    for (const route of routes) {
      for (let i = 0; i < route.processors.length; i++) {
        try {
          route.processors[i]!.prime?.(event);
        } catch (err: unknown) {
          this.telemetry.processorError(route.processorIds[i]!, 'prime', err);
        }
      }
    }
  }

  ingest(probeId: string, event: NetEvent): void {
    const routes = this.routes.get(probeId);
    if (!routes) {
      // (a probe that a reload removed, still printing while it stops: never silently)
      this.telemetry.dropped(probeId, 'no_pipeline', 1, 'the probe is in no pipeline of the current configuration');
      return;
    }
    for (let r = 0; r < routes.length; r++) {
      const route = routes[r]!;
      let e: NetEvent | undefined = event;
      let i = 0;
      try {
        for (; i < route.processors.length && e; i++) e = route.processors[i]!.process(e);
      } catch (err: unknown) {
        // A processor bug costs this event on this route, never the daemon.
        this.telemetry.processorError(route.processorIds[i]!, 'process', err);
        continue;
      }
      if (!e) continue;
      for (let q = 0; q < route.queues.length; q++) route.queues[q]!.push(e);
    }
  }

  /** Start exporters and processors. Safe twice. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const e of this.exporters.values()) await e.start();
    for (const p of this.processors()) await p.start?.();
  }

  /** Events waiting in the fullest exporter queue. */
  backlog(): number {
    let max = 0;
    for (const q of this.queues.values()) max = Math.max(max, q.size());
    return max;
  }

  /** The smallest queue's capacity (events); Infinity without queues. */
  minCapacity(): number {
    let min = Infinity;
    for (const q of this.queues.values()) min = Math.min(min, q.capacity);
    return min;
  }

  /** The largest export batch of any queue (0 without queues). */
  maxBatchSize(): number {
    let max = 0;
    for (const q of this.queues.values()) max = Math.max(max, q.maxBatchSize);
    return max;
  }

  /** Resolves when every queue holds fewer than `n` events (back-pressure for sources that can wait: replay). */
  async waitUntilBelow(n: number): Promise<void> {
    for (const q of this.queues.values()) await q.waitUntilBelow(n);
  }

  /** Flush queues within their deadlines, then shut exporters and processors down. Safe twice. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([...this.queues.values()].map((q) => q.shutdown()));
    await Promise.all([...this.exporters.values()].map((e) => e.shutdown()));
    await Promise.all(this.processors().map((p) => (p.shutdown ? p.shutdown() : Promise.resolve())));
  }

  private processors(): Processor[] {
    const procs = new Set<Processor>();
    for (const routes of this.routes.values()) for (const r of routes) for (const p of r.processors) procs.add(p);
    return [...procs];
  }
}
