import { z } from 'zod';
import { probeFilterSchema } from './filter.js';

/** Options every probe accepts. */
export const probeConfigSchema = z
  .strictObject({
    /** Upper bound of the restart back-off after bpftrace exits, ms. */
    restart_backoff_max_ms: z
      .int()
      .min(100)
      .max(600_000)
      .default(30_000)
      .describe('Upper bound of the restart back-off after bpftrace exits (starts at 1 s, doubles)'),
  })
  .prefault({});
export type ProbeConfig = z.infer<typeof probeConfigSchema> & { filter?: z.infer<typeof probeFilterSchema> };

/** Options of probes that accept in-kernel filters (see filter.ts). */
export const filterableProbeConfigSchema = z
  .strictObject({ ...probeConfigSchema.unwrap().shape, filter: probeFilterSchema })
  .prefault({});
