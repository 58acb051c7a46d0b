import { z } from 'zod';
import { queueConfigSchema } from '../../pipeline/batch-queue.js';

export const stdoutConfigSchema = z
  .strictObject({
    /** json: one JSON event per line; table: aligned columns like the book's tools; auto: table on a terminal, json otherwise. */
    format: z
      .enum(['auto', 'json', 'table'])
      .default('auto')
      .describe('json: one JSON event per line; table: aligned columns; auto: table on a terminal, json otherwise'),
    queue: queueConfigSchema,
  })
  .prefault({});
export type StdoutConfig = z.infer<typeof stdoutConfigSchema>;
