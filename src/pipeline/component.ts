/**
 * Component contracts. Modelled on the OpenTelemetry Collector (factories
 * with a config schema, start/shutdown lifecycle) and opentelemetry-js
 * (exporters return outcomes instead of throwing).
 */
import type { z } from 'zod';
import type { NetEvent } from '../core/event.js';
import type { Telemetry } from '../telemetry/internal-events.js';
import type { Logger } from '../telemetry/log.js';

export type ExportResult =
  | { code: 'success' }
  /**
   * Permanent failure for (part of) this batch: the undelivered events are
   * dropped and counted. `delivered` says how many of the batch did get
   * through (default 0), so the counters stay exact.
   */
  | { code: 'failure'; error: string; delivered?: number }
  /** Transient failure: the batch may be retried. */
  | { code: 'retryable'; error: string };

export interface Lifecycle {
  start(): Promise<void>;
  /** Safe to call twice and before start(). */
  shutdown(): Promise<void>;
}

/**
 * An exporter ships batches somewhere. It must not throw from export(); it
 * reports the outcome. The pipeline owns batching, queueing and retries.
 */
export interface Exporter extends Lifecycle {
  export(batch: readonly NetEvent[]): Promise<ExportResult>;
  /** Healthy = able to deliver (used by the health endpoint). */
  readonly healthy?: boolean;
}

/**
 * A processor is a small synchronous per-event step. It returns the event
 * (possibly a modified copy — never mutate the input, pipelines share events),
 * or `undefined` to discard it, after counting why via ctx.telemetry.
 */
export interface Processor {
  process(event: NetEvent): NetEvent | undefined;
  /**
   * Called when the event is read, before it waits in the reorder stage
   * (service/reorder.ts): read now what may be gone when process() runs
   * (/proc of a short-lived process) into the processor's cache. Must not
   * change the event or count anything process() counts.
   */
  prime?(event: NetEvent): void;
  start?(): Promise<void>;
  shutdown?(): Promise<void>;
}

export interface ComponentContext {
  /** Component id as written in the config, e.g. "kafka/events". */
  id: string;
  telemetry: Telemetry;
  logger: Logger;
  /** Environment for ${env:...} defaults and secrets; never logged. */
  env: Readonly<Record<string, string | undefined>>;
}

export interface ExporterFactory<S extends z.ZodType = z.ZodType> {
  type: string;
  configSchema: S;
  create(config: z.infer<S>, ctx: ComponentContext): Exporter;
  /** Batching/queue settings shared by all exporters (see queue.ts). */
}

export interface ProcessorFactory<S extends z.ZodType = z.ZodType> {
  type: string;
  configSchema: S;
  create(config: z.infer<S>, ctx: ComponentContext): Processor;
}
