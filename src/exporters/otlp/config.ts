import { z } from 'zod';
import { queueConfig } from '../../pipeline/batch-queue.js';

/** Metric dimensions that may be attached to event metrics. All are bounded sets except the opt-in peer/host ones. */
export const METRIC_DIMENSIONS = ['namespace', 'workload', 'pod', 'peer_address', 'dns_question_name'] as const;
export type MetricDimension = (typeof METRIC_DIMENSIONS)[number];

/** gRPC metadata keys: lower-case token characters (grpc-js lower-cases keys; "-bin" keys need binary values, so they are refused). */
const headerKey = z
  .string()
  .regex(/^[0-9A-Za-z_.-]+$/, 'header names may use letters, digits, "_", "." and "-"')
  .refine((k) => !k.toLowerCase().endsWith('-bin'), 'binary ("-bin") headers are not supported')
  .refine((k) => !k.startsWith('grpc-') && !k.startsWith(':'), 'reserved gRPC header name');

export const otlpConfigSchema = z
  .strictObject({
    /** Collector address: http://host:port (plaintext), https://host:port (TLS) or host:port (TLS unless tls.insecure). */
    endpoint: z.string().min(1).default('http://localhost:4317'),
    tls: z
      .strictObject({
        /** Plaintext gRPC. Default: true for http:// endpoints, false otherwise. */
        insecure: z.boolean().optional(),
        /** PEM files for a private CA and mutual TLS. */
        ca_file: z.string().min(1).optional(),
        cert_file: z.string().min(1).optional(),
        key_file: z.string().min(1).optional(),
      })
      .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
        message: 'cert_file and key_file must be given together',
      })
      .prefault({}),
    /** gRPC metadata sent with every request (e.g. authorization). Values are secrets: never logged. */
    headers: z.record(headerKey, z.string()).default({}),
    compression: z.enum(['none', 'gzip']).default('none'),
    signals: z
      .strictObject({
        traces: z.boolean().default(true),
        logs: z.boolean().default(true),
        metrics: z.boolean().default(true),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        export_interval_ms: z.int().min(100).max(3_600_000).default(60_000),
        /** Pod identity dimensions on event metrics; peer_address and dns_question_name are unbounded and off by default. */
        dimensions: z.array(z.enum(METRIC_DIMENSIONS)).default(['namespace', 'workload']),
        /** Series per instrument before the SDK folds the rest into otel.metric.overflow. */
        cardinality_limit: z.int().min(1).max(100_000).default(2_000),
        /** Export netspan's own counters and gauges (netspan_*_total, ...). */
        self_metrics: z.boolean().default(true),
      })
      .prefault({}),
    connection_traces: z
      .strictObject({
        enabled: z.boolean().default(true),
        /**
         * How long (ms) a DNS answer links a later connect from the same pid into its trace, and how long
         * retransmits/drops wait for the connect they belong to (connect events arrive after the handshake).
         */
        window_ms: z.int().min(0).max(120_000).default(5_000),
        /** How long (ms) a finished connect stays linkable by later retransmits and drops. */
        connect_ttl_ms: z.int().min(0).max(3_600_000).default(60_000),
        /** Upper bound of each map (DNS answers, recent connects, held events). */
        max_entries: z.int().min(1).max(1_000_000).default(10_000),
      })
      .prefault({}),
    /** Extra attributes on every resource (e.g. k8s.cluster.name, deployment.environment.name). */
    resource_attributes: z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** service.name of the node resource that holds events from processes outside containers. */
    host_service_name: z.string().min(1).default('netspan-host'),
    queue: queueConfig(4),
  })
  .prefault({});
export type OtlpConfig = z.infer<typeof otlpConfigSchema>;
