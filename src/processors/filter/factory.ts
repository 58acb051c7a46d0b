import type { ProcessorFactory } from '../../pipeline/component.js';
import { filterConfigSchema } from './config.js';
import { FilterProcessor } from './filter.js';

export const filterProcessorFactory: ProcessorFactory<typeof filterConfigSchema> = {
  type: 'filter',
  configSchema: filterConfigSchema,
  create: (config, ctx) => new FilterProcessor(config, ctx),
};
