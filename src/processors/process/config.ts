import { z } from 'zod';
import { EVENT_TYPES, TASK_CONTEXT_TYPES } from '../../core/event.js';

export const processConfigSchema = z
  .strictObject({
    max_entries: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(16_384)
      .describe('Processes kept in the LRU cache (pid → executable, command line, parent pid).'),
    revalidate_interval_ms: z
      .int()
      .min(0)
      .max(3_600_000)
      .default(5_000)
      .describe(
        'A cached pid is re-checked against /proc/<pid>/stat (start time) and /proc/<pid>/exe at most this often, to notice pid reuse and exec. ' +
          'An event whose comm was never seen for the cached pid is re-checked at once.',
      ),
    negative_ttl_ms: z
      .int()
      .min(0)
      .max(60_000)
      .default(1_000)
      .describe(
        'How long a pid found gone is remembered, so a burst of events from an exited process costs one /proc read.',
      ),
    max_cmdline_bytes: z
      .int()
      .min(16)
      .max(65_536)
      .default(4_096)
      .describe('process.command_line is cut at this many bytes.'),
    types: z
      .array(z.enum(EVENT_TYPES))
      .default([...TASK_CONTEXT_TYPES])
      .describe(
        "Event types whose pid is enriched. tcpretrans and skbdrop are left out by default: they fire in softirq/timer context, so their pid is whatever task the CPU was running (often 0, or an unrelated process), not the socket's owner (their pod and container come from the socket's cgroup where there is a socket). Add them to get that task's identity anyway: right for drops on the sending path, which run in the sender's context.",
      ),
    proc_root: z
      .string()
      .min(1)
      .default('/proc')
      .describe(
        'Where the host procfs is mounted (e.g. /host/proc in a pod without hostPID; the pids must be host pids).',
      ),
  })
  .prefault({});
export type ProcessConfig = z.infer<typeof processConfigSchema>;
