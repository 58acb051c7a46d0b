/**
 * Bounded queue + batching + retries in front of one exporter, in the manner
 * of opentelemetry-js's BatchSpanProcessorBase: events are buffered up to
 * `maxQueueSize`; a full queue drops the new event and counts it; batches of
 * up to `maxBatchSize` are exported when full or after `scheduledDelayMs`;
 * retryable outcomes are retried with back-off until `maxElapsedMs`. Up to
 * `num_consumers` batches are exported at once (the Collector's
 * sending_queue.num_consumers): one at a time, an exporter delivers at most
 * max_batch_size events per round trip.
 * Shutdown flushes within `shutdownTimeoutMs` and counts what is left.
 *
 * Accounting: accepted = sent + dropped + size()  (every event ends in one).
 */
import { z } from 'zod';
import type { NetEvent } from '../core/event.js';
import type { Telemetry } from '../telemetry/internal-events.js';
import type { Exporter, ExportResult } from './component.js';

/** The queue options, with `num_consumers` defaulting to `consumers` (exporters that keep order use 1). */
export function queueConfig(consumers: number) {
  return z
    .strictObject({
      max_queue_size: z
        .int()
        .min(1)
        .max(10_000_000)
        .default(20_000)
        .describe(
          'Events buffered in front of the exporter; beyond this new events are dropped and counted (reason queue_full)',
        ),
      max_batch_size: z.int().min(1).max(100_000).default(512).describe('Events per export call'),
      num_consumers: z
        .int()
        .min(1)
        .max(64)
        .default(consumers)
        .describe(
          'Batches exported at once; more than one keeps up with a collector whose round trip is long, but batches may arrive out of order',
        ),
      scheduled_delay_ms: z
        .int()
        .min(0)
        .max(600_000)
        .default(200)
        .describe('Longest time an event waits for its batch to fill'),
      export_timeout_ms: z
        .int()
        .min(1)
        .max(600_000)
        .default(10_000)
        .describe('An export call taking longer counts as a retryable failure'),
      retry: z
        .strictObject({
          enabled: z.boolean().default(true).describe('Retry batches whose export failed transiently'),
          initial_interval_ms: z.int().min(1).default(500).describe('First back-off; doubles per attempt'),
          max_interval_ms: z.int().min(1).default(5_000).describe('Back-off ceiling'),
          max_elapsed_ms: z
            .int()
            .min(0)
            .default(30_000)
            .describe('Give up on a batch after this long (dropped, reason export_failed)'),
        })
        .prefault({})
        .describe('Retries of transient export failures'),
      shutdown_timeout_ms: z
        .int()
        .min(0)
        .max(600_000)
        .default(5_000)
        .describe('On stop, time allowed to flush; what is left is dropped and counted (reason shutdown)'),
    })
    .prefault({})
    .describe('Queue, batching and retries in front of the exporter');
}

export const queueConfigSchema = queueConfig(1);
export type QueueConfig = z.infer<typeof queueConfigSchema>;

export class BatchQueue {
  /**
   * The queued events in chunks of at most max_batch_size, oldest first; a
   * full chunk is a batch as it is (no copy). Each chunk is a new array, so
   * it is young while it is filled: a long-lived array would reach the old
   * generation, and every event stored into it would then be an old-to-new
   * pointer for the write barrier and every young-generation collection.
   */
  private chunks: NetEvent[][] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Export loops running (at most num_consumers). */
  private readonly exporting = new Set<Promise<void>>();
  private stopped = false;
  private waiters: { below: number; resolve: () => void }[] = [];
  /**
   * Batches taken off the queue whose export (with retries) has not finished:
   * counted neither as sent nor dropped yet. Shutdown counts the ones it gives
   * up on and marks them abandoned, so their late outcome is not counted twice.
   */
  private readonly inFlight = new Set<{ n: number; abandoned: boolean }>();

  /** The per-event drops (a full queue under overload, pushes after shutdown): resolved once. */
  private readonly dropFull: (n: number) => void;
  private readonly dropStopped: (n: number) => void;

  constructor(
    private readonly id: string,
    private readonly exporter: Exporter,
    private readonly cfg: QueueConfig,
    private readonly telemetry: Telemetry,
  ) {
    this.dropFull = telemetry.dropper(id, 'queue_full', `queue holds ${cfg.max_queue_size} events`);
    this.dropStopped = telemetry.dropper(id, 'shutdown', 'exporter already shut down');
  }

  size(): number {
    return this.queued;
  }

  /** Enqueue one event. Never blocks; a full queue drops and counts. */
  push(event: NetEvent): void {
    this.telemetry.accepted(this.id);
    if (this.stopped) {
      this.dropStopped(1);
      return;
    }
    if (this.queued >= this.cfg.max_queue_size) {
      this.dropFull(1);
      return;
    }
    const last = this.chunks[this.chunks.length - 1];
    if (last !== undefined && last.length < this.cfg.max_batch_size) last.push(event);
    else this.chunks.push([event]);
    this.queued++;
    if (this.size() >= this.cfg.max_batch_size) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.cfg.scheduled_delay_ms);
  }

  get capacity(): number {
    return this.cfg.max_queue_size;
  }

  get maxBatchSize(): number {
    return this.cfg.max_batch_size;
  }

  /** Resolves when fewer than `n` events are queued, or at shutdown (back-pressure for replay). */
  async waitUntilBelow(n: number): Promise<void> {
    if (this.size() < n || this.stopped) return;
    await new Promise<void>((resolve) => this.waiters.push({ below: n, resolve }));
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    const size = this.size();
    const stopped = this.stopped;
    this.waiters = this.waiters.filter((w) => {
      if (size >= w.below && !stopped) return true;
      w.resolve();
      return false;
    });
  }

  /** Start export loops: one for what is queued (full batch or timer), more while full batches wait. */
  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const max = this.cfg.num_consumers;
    if (this.size() > 0 && this.exporting.size < max) this.startLoop();
    while (this.size() >= this.cfg.max_batch_size && this.exporting.size < max && !this.stopped) this.startLoop();
  }

  private startLoop(): void {
    const loop: Promise<void> = this.drain().finally(() => {
      this.exporting.delete(loop);
      if (this.size() > 0 && !this.stopped) this.timer ??= setTimeout(() => this.kick(), this.cfg.scheduled_delay_ms);
    });
    this.exporting.add(loop);
  }

  private takeBatch(): NetEvent[] {
    // (only the newest chunk may be short of max_batch_size)
    const batch = this.chunks.shift() ?? [];
    this.queued -= batch.length;
    this.telemetry.queueDepth.set({ exporter: this.id }, this.size());
    this.wakeWaiters();
    return batch;
  }

  /** Export the batch that woke us (full, or partial on the timer), then full batches. Takes its first batch at once. */
  private async drain(): Promise<void> {
    do {
      await this.exportWithRetry(this.takeBatch(), Infinity);
    } while (this.size() >= this.cfg.max_batch_size && !this.stopped);
  }

  private async exportWithRetry(batch: NetEvent[], deadline: number): Promise<void> {
    const flight = { n: batch.length, abandoned: false };
    this.inFlight.add(flight);
    try {
      await this.exportWithRetryLoop(batch, deadline, flight);
    } finally {
      this.inFlight.delete(flight);
    }
  }

  private async exportWithRetryLoop(
    batch: NetEvent[],
    deadline: number,
    flight: { abandoned: boolean },
  ): Promise<void> {
    const started = Date.now();
    let interval = this.cfg.retry.initial_interval_ms;
    for (;;) {
      const result = await this.exportOnce(batch);
      if (flight.abandoned) return; // already counted as dropped (shutdown)
      if (result.code === 'success') {
        this.telemetry.sent(this.id, batch.length);
        return;
      }
      this.telemetry.exportError(this.id, result.code, result.error);
      if (result.code === 'failure' && result.delivered) {
        const delivered = Math.min(result.delivered, batch.length);
        this.telemetry.sent(this.id, delivered);
        this.telemetry.dropped(this.id, 'export_failed', batch.length - delivered, result.error);
        return;
      }
      const elapsed = Date.now() - started;
      const canRetry =
        result.code === 'retryable' &&
        this.cfg.retry.enabled &&
        elapsed + interval <= this.cfg.retry.max_elapsed_ms &&
        Date.now() + interval < deadline;
      if (!canRetry) {
        this.telemetry.dropped(this.id, 'export_failed', batch.length, result.error);
        return;
      }
      await new Promise((r) => setTimeout(r, interval));
      if (flight.abandoned) return;
      interval = Math.min(interval * 2, this.cfg.retry.max_interval_ms);
    }
  }

  private async exportOnce(batch: NetEvent[]): Promise<ExportResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ExportResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ code: 'retryable', error: `export timed out after ${this.cfg.export_timeout_ms} ms` }),
        this.cfg.export_timeout_ms,
      );
    });
    try {
      return await Promise.race([
        this.exporter.export(batch).catch((e: unknown) => ({ code: 'failure' as const, error: String(e) })),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Export everything queued now (used by tests and --duration). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.idle();
    await this.drainAll(Infinity);
  }

  /** Until no export loop runs. */
  private async idle(): Promise<void> {
    while (this.exporting.size > 0) await Promise.all(this.exporting);
  }

  private async drainAll(deadline: number): Promise<void> {
    while (this.size() > 0 && Date.now() < deadline) {
      await this.exportWithRetry(this.takeBatch(), deadline);
    }
  }

  /** Flush within the shutdown timeout; count whatever could not be sent. Safe twice. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + this.cfg.shutdown_timeout_ms;
    const work = (async () => {
      await this.idle();
      await this.drainAll(deadline);
    })();
    await Promise.race([work, new Promise((r) => setTimeout(r, this.cfg.shutdown_timeout_ms + 50).unref())]);
    let left = this.size();
    this.chunks = [];
    this.queued = 0;
    // Batches still being exported (e.g. retrying against an endpoint that is down) are given up too.
    for (const f of this.inFlight) {
      f.abandoned = true;
      left += f.n;
    }
    this.inFlight.clear();
    if (left > 0) {
      this.telemetry.dropped(
        this.id,
        'shutdown',
        left,
        `not sent within shutdown_timeout_ms=${this.cfg.shutdown_timeout_ms}`,
      );
    }
    this.telemetry.queueDepth.set({ exporter: this.id }, 0);
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }
}
