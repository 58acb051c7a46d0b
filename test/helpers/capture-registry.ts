/**
 * The real registry (real probes, processors, exporters) plus a `capture`
 * exporter that keeps delivered events in memory, per exporter id. For fault
 * tests that run real bpftrace (or a stand-in) through a Service.
 */
import { z } from 'zod';
import type { NetEvent } from '../../src/core/event.js';
import { loadConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { queueConfigSchema } from '../../src/pipeline/batch-queue.js';
import type { ExporterFactory } from '../../src/pipeline/component.js';
import { registry, type Registry } from '../../src/registry.js';

export const delivered = new Map<string, NetEvent[]>();

const captureSchema = z.strictObject({ queue: queueConfigSchema }).prefault({});
const captureFactory: ExporterFactory<typeof captureSchema> = {
  type: 'capture',
  configSchema: captureSchema,
  create: (_cfg, ctx) => {
    const list = delivered.get(ctx.id) ?? [];
    delivered.set(ctx.id, list);
    return {
      start: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
      export: (batch) => {
        list.push(...batch);
        return Promise.resolve({ code: 'success' });
      },
    };
  },
};

export const captureRegistry: Registry = {
  probes: registry.probes,
  processors: registry.processors,
  exporters: new Map([...registry.exporters, ['capture', captureFactory]]),
};

export function captureConfig(text: string): Config {
  const r = loadConfigText(text, 'test.yaml', captureRegistry, {});
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}
