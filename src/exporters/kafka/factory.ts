import type { ExporterFactory } from '../../pipeline/component.js';
import { kafkaConfigSchema } from './config.js';
import { KafkaExporter } from './exporter.js';

export const kafkaExporterFactory: ExporterFactory<typeof kafkaConfigSchema> = {
  type: 'kafka',
  configSchema: kafkaConfigSchema,
  create: (config, ctx) => new KafkaExporter(config, ctx),
};
