import { z } from 'zod';

/**
 * `telemetry.health`: the small HTTP server for Kubernetes probes and
 * Prometheus scrapes (GET /healthz, /readyz, /metrics). Off unless enabled;
 * the Helm chart enables it on the port its liveness/readiness probes use.
 */
export const healthConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Serve /healthz, /readyz and /metrics.'),
    host: z
      .string()
      .min(1)
      .default('0.0.0.0')
      .describe('Address to listen on (0.0.0.0: every IPv4 interface; 127.0.0.1: this host only).'),
    port: z.int().min(0).max(65535).default(8080).describe('TCP port (0: an ephemeral port, for tests).'),
    failing_threshold_ms: z
      .int()
      .min(1000)
      .max(86_400_000)
      .default(60_000)
      .describe('/readyz answers 503 once an exporter has been failing for longer than this.'),
  })
  .prefault({});

export type HealthConfig = z.infer<typeof healthConfigSchema>;
