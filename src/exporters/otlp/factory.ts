import type { ExporterFactory } from '../../pipeline/component.js';
import { lazyExporter } from '../../pipeline/lazy-exporter.js';
import { otlpConfigSchema } from './config.js';

/** `otlp`: traces, logs and metrics over OTLP/gRPC (see exporter.ts; loaded when a pipeline uses it). */
export const otlpExporterFactory: ExporterFactory<typeof otlpConfigSchema> = {
  type: 'otlp',
  configSchema: otlpConfigSchema,
  create: (config, ctx) => lazyExporter(async () => new (await import('./exporter.js')).OtlpExporter(config, ctx)),
};
