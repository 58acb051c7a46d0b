import type { ExporterFactory } from '../../pipeline/component.js';
import { stdoutConfigSchema } from './config.js';
import { StdoutExporter } from './exporter.js';

export const stdoutExporterFactory: ExporterFactory<typeof stdoutConfigSchema> = {
  type: 'stdout',
  configSchema: stdoutConfigSchema,
  create: (config) => new StdoutExporter(config),
};
