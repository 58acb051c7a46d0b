import type { ProcessorFactory } from '../../pipeline/component.js';
import { rateLimitConfigSchema } from './config.js';
import { RateLimitProcessor } from './rate-limit.js';

export const rateLimitProcessorFactory: ProcessorFactory<typeof rateLimitConfigSchema> = {
  type: 'rate_limit',
  configSchema: rateLimitConfigSchema,
  create: (config, ctx) => new RateLimitProcessor(config, ctx),
};
