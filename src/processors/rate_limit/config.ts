import { z } from 'zod';

export const RATE_LIMIT_KEYS = ['pod', 'namespace', 'workload', 'comm', 'type', 'none'] as const;

export const rateLimitConfigSchema = z
  .strictObject({
    rate: z.number().positive().describe('Sustained events per second allowed per key.'),
    burst: z
      .int()
      .min(1)
      .optional()
      .describe('Bucket size: events allowed at once after a quiet period. Default: rate rounded up (at least 1).'),
    key: z
      .enum(RATE_LIMIT_KEYS)
      .default('none')
      .describe(
        'What gets its own bucket. pod: k8s.pod.uid (else namespace/pod name, else container.id); namespace: k8s.namespace.name; workload: namespace + deployment/statefulset/daemonset/job/cronjob name; comm: task command name; type: event type; none: one bucket for everything. Events without the attribute (host processes) share one bucket.',
      ),
    max_keys: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(10_000)
      .describe(
        'Most buckets kept; beyond it the least recently used bucket is forgotten (its key starts again with a full bucket).',
      ),
  })
  .describe(
    'Token-bucket rate limit per key. Events over the limit are discarded and counted as netspan_events_discarded_total{reason="rate_limited"}; the next event that passes for that key carries the attribute netspan.rate_limit.dropped = number discarded for the key since the last such summary.',
  );

export type RateLimitConfig = z.infer<typeof rateLimitConfigSchema>;
