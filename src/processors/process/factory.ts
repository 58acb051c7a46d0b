import type { ProcessorFactory } from '../../pipeline/component.js';
import { processConfigSchema } from './config.js';
import { ProcessProcessor } from './processor.js';

export const processProcessorFactory: ProcessorFactory<typeof processConfigSchema> = {
  type: 'process',
  configSchema: processConfigSchema,
  create: (config, ctx) => new ProcessProcessor(config, ctx),
};
