import type { ProcessorFactory } from '../../pipeline/component.js';
import { peerConfigSchema } from './config.js';
import { PeerProcessor } from './processor.js';

export const peerProcessorFactory: ProcessorFactory<typeof peerConfigSchema> = {
  type: 'peer',
  configSchema: peerConfigSchema,
  create: (config, ctx) => new PeerProcessor(config, ctx),
};
