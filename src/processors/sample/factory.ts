import type { ProcessorFactory } from '../../pipeline/component.js';
import { sampleConfigSchema } from './config.js';
import { SampleProcessor } from './sample.js';

export const sampleProcessorFactory: ProcessorFactory<typeof sampleConfigSchema> = {
  type: 'sample',
  configSchema: sampleConfigSchema,
  create: (config, ctx) => new SampleProcessor(config, ctx),
};
