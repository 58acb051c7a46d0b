import type { ExporterFactory } from '../../pipeline/component.js';
import { otlpConfigSchema } from './config.js';
import { OtlpExporter } from './exporter.js';

/** `otlp`: traces, logs and metrics over OTLP/gRPC (see exporter.ts). */
export const otlpExporterFactory: ExporterFactory<typeof otlpConfigSchema> = {
  type: 'otlp',
  configSchema: otlpConfigSchema,
  create: (config, ctx) => new OtlpExporter(config, ctx),
};
