import type { ProcessorFactory } from '../../pipeline/component.js';
import { redactConfigSchema } from './config.js';
import { RedactProcessor } from './redact.js';

export const redactProcessorFactory: ProcessorFactory<typeof redactConfigSchema> = {
  type: 'redact',
  configSchema: redactConfigSchema,
  create: (config, ctx) => new RedactProcessor(config, ctx),
};
