/**
 * Kafka exporter configuration. Names follow the OpenTelemetry Collector's
 * Kafka exporter where one exists (brokers, client_id, topic, encoding,
 * producer.max_message_bytes, auth.tls / auth.sasl), flattened.
 *
 * Batching: the pipeline's queue (`queue.max_batch_size`,
 * `queue.scheduled_delay_ms` = linger) decides what goes into one export;
 * `max_batch_bytes` caps one produce request, a larger export is split.
 */
import { z } from 'zod';
import { EVENT_TYPES } from '../../core/event.js';
import { queueConfigSchema } from '../../pipeline/batch-queue.js';

/** Kafka's legal topic names. */
const TOPIC_RE = /^[a-zA-Z0-9._-]{1,249}$/;
const HOST_PORT_RE = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9._-]+):(\d{1,5})$/;

/** A list of host:port, or one string of them separated by commas (as `${env:KAFKA_BROKERS}` yields). */
const brokersSchema = z
  .union([z.string(), z.array(z.string()).min(1)])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s !== ''))
  .pipe(
    z
      .array(
        z.string().refine((s) => {
          const m = HOST_PORT_RE.exec(s);
          return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
        }, 'each broker must be host:port (IPv6 as [addr]:port)'),
      )
      .min(1, 'at least one broker is required'),
  );

/** The tls keys that only mean something with tls.enabled: true. */
const TLS_SETTINGS = ['ca_file', 'cert_file', 'key_file', 'server_name', 'insecure_skip_verify'] as const;

export const tlsConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Connect to the brokers with TLS'),
    ca_file: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file of CAs to trust instead of the system store; read at start'),
    cert_file: z.string().min(1).optional().describe('Client certificate (PEM) for mutual TLS; goes with key_file'),
    key_file: z
      .string()
      .min(1)
      .optional()
      .describe('Client private key (PEM) for mutual TLS; read at start, never logged'),
    insecure_skip_verify: z.boolean().default(false).describe("Do not verify the broker's certificate (testing only)"),
    server_name: z
      .string()
      .min(1)
      .optional()
      .describe('Name to send (SNI) and verify, when it differs from the broker host'),
  })
  .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
    message: 'tls.cert_file and tls.key_file go together',
  })
  .superRefine((t, ctx) => {
    // Without enabled: true the exporter connects in plaintext and never reads these:
    // refuse them rather than silently send without TLS.
    if (t.enabled) return;
    for (const key of TLS_SETTINGS) {
      if (t[key] === undefined || t[key] === false) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `tls.${key} is set but tls.enabled is false, so TLS is not used: add tls.enabled: true or remove tls.${key}`,
      });
    }
  })
  .prefault({});

export const saslConfigSchema = z
  .strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('SASL mechanism'),
    username: z.string().min(1).describe('SASL user name'),
    password_file: z
      .string()
      .min(1)
      .optional()
      .describe('File holding the password (a trailing newline is ignored); read at start'),
    password_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .optional()
      .describe('Name of the environment variable holding the password; read at start'),
  })
  .refine((s) => (s.password_file === undefined) !== (s.password_env === undefined), {
    message: 'sasl needs exactly one of password_file or password_env',
  });

const MAX_BYTES = 100 * 1024 * 1024;

export const kafkaConfigSchema = z
  .strictObject({
    brokers: brokersSchema
      .default(['localhost:9092'])
      .describe('Bootstrap brokers: a list of host:port, or one comma-separated string'),
    client_id: z.string().min(1).max(200).default('netspan').describe('Kafka client id'),
    topic: z
      .string()
      .min(1)
      .default('netspan.{type}')
      .describe('Topic of every record; {type} is replaced by the event type (one topic per type)'),
    key: z
      .enum(['4tuple', 'pod_uid', 'none'])
      .default('4tuple')
      .describe(
        'Record key, which picks the partition. 4tuple: the connection\'s endpoints sorted ("a:port-b:port"), so every event of a connection shares a partition; events without addresses fall back to k8s.pod.uid, then "pid:<pid>". pod_uid: k8s.pod.uid, else "pid:<pid>". none: no key',
      ),
    encoding: z
      .enum(['json', 'otlp_proto', 'otlp_json'])
      .default('json')
      .describe(
        'json: the versioned event JSON, one event per record; otlp_proto / otlp_json: one OTLP ExportLogsServiceRequest per record',
      ),
    otlp_body: z
      .enum(['kvlist', 'string'])
      .default('kvlist')
      .describe("OTLP encodings: the log body as a kvlist of the event's JSON form, or that JSON as a string"),
    acks: z
      .enum(['all', 'leader', 'none'])
      .default('all')
      .describe('Acknowledgement to wait for: all in-sync replicas, the leader only, or none'),
    compression: z.enum(['none', 'gzip']).default('none').describe('Record batch compression'),
    max_message_bytes: z
      .int()
      .min(1024)
      .max(MAX_BYTES)
      .default(1_000_000)
      .describe(
        "The broker's limit for one record batch (the topic's max.message.bytes; Kafka's default is 1 MB): a record larger with its 61-byte batch header (key + value + headers + 61) is not sent and the export fails for it, and no partition's batch goes over it (kafkajs: no send does)",
      ),
    max_batch_bytes: z
      .int()
      .min(1024)
      .max(MAX_BYTES)
      .default(1_048_576)
      .describe(
        "Upper bound of one produce request; a larger export is sent as several. Linger and batch size are the queue's scheduled_delay_ms and max_batch_size",
      ),
    client: z
      .enum(['auto', 'netspan', 'kafkajs'])
      .default('auto')
      .describe(
        "Kafka client. netspan: netspan's own producer (Produce v3 / RecordBatch v2, plaintext only; about 2x less CPU per event than kafkajs); kafkajs: needed for TLS, SASL and the idempotent producer; auto: netspan unless tls, sasl or idempotent is set",
      ),
    idempotent: z
      .boolean()
      .default(false)
      .describe('Idempotent producer (experimental in kafkajs); requires acks: all and client_retries >= 1'),
    connect_timeout_ms: z
      .int()
      .min(1)
      .max(120_000)
      .default(3_000)
      .describe('Connect (TCP, TLS, SASL) timeout per broker; start() waits at most this long for the brokers'),
    request_timeout_ms: z
      .int()
      .min(1)
      .max(600_000)
      .default(5_000)
      .describe(
        "Request timeout, also sent to the brokers as a produce request's ack timeout; the netspan client waits 2 s longer for a produce answer, so that the broker's own timeout answer comes first",
      ),
    client_retries: z
      .int()
      .min(0)
      .max(20)
      .default(2)
      .describe('Retries inside the Kafka client per export attempt; the queue retries the export after that'),
    tls: tlsConfigSchema.describe('TLS to the brokers'),
    sasl: saslConfigSchema.optional().describe('SASL authentication'),
    queue: queueConfigSchema,
  })
  .superRefine((c, ctx) => {
    for (const type of EVENT_TYPES) {
      const t = topicFor(c.topic, type);
      if (!TOPIC_RE.test(t) || t === '.' || t === '..') {
        ctx.addIssue({
          code: 'custom',
          path: ['topic'],
          message: `topic "${t}" (for ${type}) is not a legal Kafka topic name: 1-249 of [a-zA-Z0-9._-]`,
        });
        break;
      }
    }
    if (c.idempotent && c.acks !== 'all') {
      ctx.addIssue({ code: 'custom', path: ['idempotent'], message: 'idempotent: true requires acks: all' });
    }
    if (c.idempotent && c.client_retries < 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['client_retries'],
        message: 'idempotent: true requires client_retries >= 1',
      });
    }
    if (c.client === 'netspan' && (c.sasl || c.idempotent || c.tls.enabled)) {
      ctx.addIssue({
        code: 'custom',
        path: ['client'],
        message: 'client: netspan does not do TLS, SASL or the idempotent producer; use client: kafkajs or auto',
      });
    }
    if (c.max_message_bytes > c.max_batch_bytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_batch_bytes'],
        message: 'max_batch_bytes must be >= max_message_bytes',
      });
    }
  })
  .prefault({});
export type KafkaConfig = z.infer<typeof kafkaConfigSchema>;

export function topicFor(template: string, type: string): string {
  return template.replaceAll('{type}', type);
}
