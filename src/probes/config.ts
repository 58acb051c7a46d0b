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
    /** bpftrace's perf ring buffer, pages per CPU (BPFTRACE_PERF_RB_PAGES; bpftrace's own default is 64). */
    perf_rb_pages: z
      .int()
      .min(8)
      .max(4096)
      .refine((n) => (n & (n - 1)) === 0, { message: 'must be a power of two' })
      .default(256)
      .describe(
        "Pages per CPU of the kernel buffer bpftrace reads events from (BPFTRACE_PERF_RB_PAGES, a power of two; bpftrace's default is 64). Larger rides out longer pauses in reading before the kernel counts events as lost, at the cost of locked kernel memory: pages × 4 KiB × CPUs per probe",
      ),
  })
  .prefault({});
export type ProbeConfig = z.infer<typeof probeConfigSchema> & { filter?: z.infer<typeof probeFilterSchema> };

/** Options of probes that accept in-kernel filters (see filter.ts). */
export const filterableProbeConfigSchema = z
  .strictObject({ ...probeConfigSchema.unwrap().shape, filter: probeFilterSchema })
  .prefault({});
