import type { ProcessorFactory } from '../../pipeline/component.js';
import { containerConfigSchema } from './config.js';
import { ContainerProcessor } from './processor.js';

export const containerProcessorFactory: ProcessorFactory<typeof containerConfigSchema> = {
  type: 'container',
  configSchema: containerConfigSchema,
  create: (config, ctx) => new ContainerProcessor(config, ctx),
};
