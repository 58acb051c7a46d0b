import { z } from 'zod';

export const containerConfigSchema = z
  .strictObject({
    cgroup_root: z
      .string()
      .default('')
      .describe(
        'Mount point of the cgroup v2 hierarchy; empty = found in /proc/self/mountinfo (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts).',
      ),
    proc_root: z.string().min(1).default('/proc').describe('Host procfs, for the /proc/<pid>/cgroup fallback.'),
    rescan_min_interval_ms: z
      .int()
      .min(0)
      .max(600_000)
      .default(1_000)
      .describe('An unknown cgroup id re-scans the cgroup hierarchy, at most this often.'),
    max_cgroups: z
      .int()
      .min(1)
      .max(10_000_000)
      .default(200_000)
      .describe('Bound on cgroup directories indexed per scan.'),
    max_depth: z.int().min(1).max(64).default(16).describe('Bound on the depth of the cgroup hierarchy walk.'),
    cache_size: z.int().min(1).max(1_000_000).default(16_384).describe('Resolved cgroup ids kept (LRU).'),
  })
  .prefault({});
export type ContainerConfig = z.infer<typeof containerConfigSchema>;

export function resolverOptions(c: ContainerConfig): {
  root: string;
  procRoot: string;
  rescanMinIntervalMs: number;
  maxCgroups: number;
  maxDepth: number;
  cacheSize: number;
} {
  return {
    root: c.cgroup_root,
    procRoot: c.proc_root,
    rescanMinIntervalMs: c.rescan_min_interval_ms,
    maxCgroups: c.max_cgroups,
    maxDepth: c.max_depth,
    cacheSize: c.cache_size,
  };
}
