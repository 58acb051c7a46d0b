import type { ExporterFactory } from '../../pipeline/component.js';
import { lazyExporter } from '../../pipeline/lazy-exporter.js';
import { kafkaConfigSchema } from './config.js';

/** `kafka`: one record per event (see exporter.ts; kafkajs is loaded when a pipeline uses it). */
export const kafkaExporterFactory: ExporterFactory<typeof kafkaConfigSchema> = {
  type: 'kafka',
  configSchema: kafkaConfigSchema,
  create: (config, ctx) => lazyExporter(async () => new (await import('./exporter.js')).KafkaExporter(config, ctx)),
};
