import type { ProcessorFactory } from '../../pipeline/component.js';
import { k8sConfigSchema } from './config.js';
import { K8sProcessor } from './processor.js';

export const k8sProcessorFactory: ProcessorFactory<typeof k8sConfigSchema> = {
  type: 'k8s',
  configSchema: k8sConfigSchema,
  create: (config, ctx) => new K8sProcessor(config, ctx),
};
