import { z } from 'zod';
import { queueConfig } from '../../pipeline/batch-queue.js';

/** Metric dimensions that may be attached to event metrics. All are bounded sets except the opt-in peer/host ones. */
export const METRIC_DIMENSIONS = ['namespace', 'workload', 'pod', 'peer_address', 'dns_question_name'] as const;
export type MetricDimension = (typeof METRIC_DIMENSIONS)[number];

/** Bucket bounds (seconds) of explicit duration histograms: 100 µs DNS answers to a connect's last SYN retry (~127 s). */
export const DEFAULT_EXPLICIT_BOUNDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 130,
];

/** gRPC metadata keys: lower-case token characters (grpc-js lower-cases keys; "-bin" keys need binary values, so they are refused). */
const headerKey = z
  .string()
  .regex(/^[0-9A-Za-z_.-]+$/, 'header names may use letters, digits, "_", "." and "-"')
  .refine((k) => !k.toLowerCase().endsWith('-bin'), 'binary ("-bin") headers are not supported')
  .refine((k) => !k.startsWith('grpc-') && !k.startsWith(':'), 'reserved gRPC header name');

export const otlpConfigSchema = z
  .strictObject({
    endpoint: z
      .string()
      .min(1)
      .default('http://localhost:4317')
      .describe(
        'Collector gRPC address: http://host:port (plaintext), https://host:port (TLS) or host:port (TLS unless tls.insecure)',
      ),
    tls: z
      .strictObject({
        insecure: z
          .boolean()
          .optional()
          .describe('Plaintext gRPC. Default: true for http:// endpoints, false otherwise'),
        ca_file: z.string().min(1).optional().describe('PEM file of a private CA to verify the collector with'),
        cert_file: z.string().min(1).optional().describe('PEM client certificate for mutual TLS (with key_file)'),
        key_file: z.string().min(1).optional().describe('PEM private key of cert_file'),
      })
      .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
        message: 'cert_file and key_file must be given together',
      })
      .prefault({})
      .describe('TLS towards the collector'),
    headers: z
      .record(headerKey, z.string())
      .default({})
      .describe(
        'gRPC metadata sent with every request (e.g. authorization: "Bearer ${env:OTLP_TOKEN}"). Values are secrets: never logged',
      ),
    compression: z.enum(['none', 'gzip']).default('none').describe('gRPC message compression'),
    signals: z
      .strictObject({
        traces: z
          .boolean()
          .default(true)
          .describe('Spans: connect, udp.connect, dns.lookup, with retransmits and drops'),
        logs: z.boolean().default(true).describe('One log record per event'),
        metrics: z
          .boolean()
          .default(true)
          .describe('Event metrics (durations, retransmits, drops, UDP connects) and self-metrics'),
      })
      .prefault({})
      .describe('Which OTLP signals are exported'),
    metrics: z
      .strictObject({
        export_interval_ms: z.int().min(100).max(3_600_000).default(60_000).describe('How often metrics are exported'),
        dimensions: z
          .array(z.enum(METRIC_DIMENSIONS))
          .default(['namespace', 'workload'])
          .describe(
            'Pod identity dimensions on event metrics; peer_address and dns_question_name are unbounded and off by default',
          ),
        histogram: z
          .enum(['exponential', 'explicit'])
          .default('exponential')
          .describe(
            "Duration histograms (connect, DNS): exponential (base-2 buckets, any scale; the Collector's Prometheus exporter turns them into native histograms, which Prometheus must be set up to scrape) or explicit (explicit_bounds: classic _bucket series any Prometheus reads)",
          ),
        explicit_bounds: z
          .array(z.number().positive())
          .min(1)
          .max(64)
          .default(DEFAULT_EXPLICIT_BOUNDS)
          .refine((b) => b.every((x, i) => i === 0 || x > b[i - 1]!), 'bounds must increase')
          .describe('Bucket upper bounds in seconds for histogram: explicit'),
        cardinality_limit: z
          .int()
          .min(1)
          .max(100_000)
          .default(2_000)
          .describe('Series per instrument before the SDK folds the rest into otel.metric.overflow'),
        self_metrics: z
          .boolean()
          .default(true)
          .describe("Export netspan's own counters and gauges (netspan_*_total, ...)"),
      })
      .prefault({}),
    connection_traces: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe('Put a DNS lookup, the connect that used its answer and its retransmits and drops in one trace'),
        window_ms: z
          .int()
          .min(0)
          .max(120_000)
          .default(5_000)
          .describe(
            'How long a DNS answer links a later connect from the same pid into its trace, and how long retransmits/drops wait for the connect they belong to (connect events arrive after the handshake)',
          ),
        connect_ttl_ms: z
          .int()
          .min(0)
          .max(3_600_000)
          .default(60_000)
          .describe('How long a finished connect stays linkable by later retransmits and drops'),
        max_entries: z
          .int()
          .min(1)
          .max(1_000_000)
          .default(32_768)
          .describe(
            'Upper bound of each map (DNS answers, recent connects, held events). A connect stays linkable for max_entries ÷ (connects per second) at most: at 10,000 connects/s the default keeps about 3 s, enough for drops that reach netspan after their connect',
          ),
      })
      .prefault({}),
    resource_attributes: z
      .record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]))
      .default({})
      .describe('Extra attributes on every resource (e.g. k8s.cluster.name, deployment.environment.name)'),
    host_service_name: z
      .string()
      .min(1)
      .default('netspan-host')
      .describe('service.name of the node resource that holds events from processes outside containers'),
    queue: queueConfig(4),
  })
  .prefault({});
export type OtlpConfig = z.infer<typeof otlpConfigSchema>;
