/**
 * The pipeline file's top-level shape. Component bodies (probes.*,
 * processors.*, exporters.*) are validated by each component's own schema,
 * chosen by the type part of its id ("kafka/events" → the kafka factory).
 * This zod schema is the single source of both the TypeScript types and the
 * defaults; the README's reference is generated from it.
 */
import { z } from 'zod';
import { healthConfigSchema } from '../health/config.js';

/** `type` or `type/name`, like the OpenTelemetry Collector's component ids. */
export const componentId = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\/[A-Za-z0-9_.-]+)?$/, 'must look like "type" or "type/name"');

export const pipelineSchema = z.strictObject({
  probes: z
    .array(z.string())
    .min(1, 'a pipeline needs at least one probe')
    .describe('Probe ids (defined under probes:) whose events enter this pipeline'),
  processors: z.array(z.string()).default([]).describe('Processor ids, applied in this order'),
  exporters: z
    .array(z.string())
    .min(1, 'a pipeline needs at least one exporter')
    .describe('Exporter ids; every event leaving the processors goes to each'),
});

export const telemetrySchema = z
  .strictObject({
    log_level: z
      .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info')
      .describe("netspan's own log level (logs go to stderr)"),
    /** How often a repeating warning (parse errors, drops) may be logged, per kind. */
    log_interval_ms: z
      .int()
      .min(100)
      .max(3_600_000)
      .default(10_000)
      .describe(
        'A repeating warning (parse errors, drops) is logged at most once per this interval; what was held back is summed into one line when the interval ends',
      ),
    health: healthConfigSchema.describe(
      'HTTP endpoint for liveness/readiness probes and Prometheus-format self-metrics',
    ),
  })
  .prefault({});

export const runtimeSchema = z
  .strictObject({
    heap_growth_percent: z
      .int()
      .min(0)
      .max(400)
      .default(50)
      .describe(
        "How far the JavaScript heap may grow past what survived the last full garbage collection before the next one, in percent; 0 leaves it to V8's adaptive default. Events live for a batch's round trip, so at high rates the heap fills with dead events and with the buffers of sent requests: V8's default let netspan reach about 230 MB at 10,000 events/s with every OTLP signal, 50 kept it near 155 MB at the same CPU",
      ),
  })
  .prefault({});

export const configFileSchema = z.strictObject({
  probes: z.record(z.string(), z.unknown()).default({}).describe('Probe id → options (see Probes below)'),
  processors: z.record(z.string(), z.unknown()).default({}).describe('Processor id → options (see Processors below)'),
  exporters: z.record(z.string(), z.unknown()).default({}).describe('Exporter id → options (see Exporters below)'),
  pipelines: z
    .record(z.string(), pipelineSchema)
    .describe('Pipeline name → which probes feed which processors and exporters'),
  telemetry: telemetrySchema.describe("netspan's own logs and metrics"),
  runtime: runtimeSchema.describe(
    'The Node.js runtime netspan runs in (applied at start; a reload does not change it)',
  ),
});

export type PipelineConfig = z.infer<typeof pipelineSchema>;
export type TelemetryConfig = z.infer<typeof telemetrySchema>;
export type RuntimeConfig = z.infer<typeof runtimeSchema>;

/** A validated configuration, component bodies parsed by their factories. */
export interface Config {
  probes: Map<string, { type: string; config: unknown }>;
  processors: Map<string, { type: string; config: unknown }>;
  exporters: Map<string, { type: string; config: unknown }>;
  pipelines: Map<string, PipelineConfig>;
  telemetry: TelemetryConfig;
  runtime: RuntimeConfig;
}

export function componentType(id: string): string {
  const slash = id.indexOf('/');
  return slash < 0 ? id : id.slice(0, slash);
}
