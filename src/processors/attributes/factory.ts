import type { ProcessorFactory } from '../../pipeline/component.js';
import { attributesConfigSchema } from './config.js';
import { AttributesProcessor } from './attributes.js';

export const attributesProcessorFactory: ProcessorFactory<typeof attributesConfigSchema> = {
  type: 'attributes',
  configSchema: attributesConfigSchema,
  create: (config) => new AttributesProcessor(config),
};
