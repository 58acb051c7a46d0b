/**
 * Loads an exporter's implementation (and its heavy dependencies: the
 * OpenTelemetry SDK, kafkajs) only when a pipeline that uses it starts, so
 * netspan with a stdout pipeline does not pay for them in start-up time and
 * memory.
 */
import type { Exporter, ExportResult } from './component.js';
import type { NetEvent } from '../core/event.js';

export function lazyExporter(load: () => Promise<Exporter>): Exporter {
  let inner: Exporter | undefined;
  let stopped = false;
  return {
    get healthy() {
      return inner?.healthy;
    },
    async start() {
      if (inner || stopped) return;
      inner = await load();
      await inner.start();
    },
    async export(batch: readonly NetEvent[]): Promise<ExportResult> {
      if (!inner) return { code: 'retryable', error: 'exporter not started yet' };
      return inner.export(batch);
    },
    async shutdown() {
      stopped = true;
      await inner?.shutdown();
    },
  };
}
