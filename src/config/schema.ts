/**
 * The pipeline file's top-level shape. Component bodies (probes.*,
 * processors.*, exporters.*) are validated by each component's own schema,
 * chosen by the type part of its id ("kafka/events" → the kafka factory).
 * This zod schema is the single source of both the TypeScript types and the
 * defaults; the README's reference is generated from it.
 */
import { z } from 'zod';

/** `type` or `type/name`, like the OpenTelemetry Collector's component ids. */
export const componentId = z.string().regex(/^[a-z][a-z0-9_]*(\/[A-Za-z0-9_.-]+)?$/, 'must look like "type" or "type/name"');

export const pipelineSchema = z.strictObject({
  probes: z.array(z.string()).min(1, 'a pipeline needs at least one probe'),
  processors: z.array(z.string()).default([]),
  exporters: z.array(z.string()).min(1, 'a pipeline needs at least one exporter'),
});

export const telemetrySchema = z
  .strictObject({
    log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /** How often a repeating warning (parse errors, drops) may be logged, per kind. */
    log_interval_ms: z.int().min(100).max(3_600_000).default(10_000),
  })
  .prefault({});

export const configFileSchema = z.strictObject({
  probes: z.record(z.string(), z.unknown()).default({}),
  processors: z.record(z.string(), z.unknown()).default({}),
  exporters: z.record(z.string(), z.unknown()).default({}),
  pipelines: z.record(z.string(), pipelineSchema),
  telemetry: telemetrySchema,
});

export type PipelineConfig = z.infer<typeof pipelineSchema>;
export type TelemetryConfig = z.infer<typeof telemetrySchema>;

/** A validated configuration, component bodies parsed by their factories. */
export interface Config {
  probes: Map<string, { type: string; config: unknown }>;
  processors: Map<string, { type: string; config: unknown }>;
  exporters: Map<string, { type: string; config: unknown }>;
  pipelines: Map<string, PipelineConfig>;
  telemetry: TelemetryConfig;
}

export function componentType(id: string): string {
  const slash = id.indexOf('/');
  return slash < 0 ? id : id.slice(0, slash);
}
