/**
 * The `null` exporter: accepts every batch and discards it (counted as sent).
 * For benchmarks and for measuring the pipeline without an output.
 */
import { z } from 'zod';
import { queueConfigSchema } from '../../pipeline/batch-queue.js';
import type { ExporterFactory } from '../../pipeline/component.js';

export const nullConfigSchema = z.strictObject({ queue: queueConfigSchema }).prefault({});

export const nullExporterFactory: ExporterFactory<typeof nullConfigSchema> = {
  type: 'null',
  configSchema: nullConfigSchema,
  create: () => ({
    start: async () => undefined,
    shutdown: async () => undefined,
    export: async () => ({ code: 'success' }),
  }),
};
