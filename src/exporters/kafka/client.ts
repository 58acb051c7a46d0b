/**
 * The Kafka client behind a small interface. kafkajs (2.2.4) is the only
 * implementation and is imported nowhere else: switching clients means a
 * new `ProducerClientFactory` here and nothing outside this folder.
 *
 * Errors leave the client as `KafkaSendError` with a kind the exporter maps
 * to an export outcome, and messages with every secret redacted.
 */
import kafkajs from 'kafkajs';
import type { KafkaConfig as KafkaJsConfig, Message, Producer, ProducerConfig, SASLOptions } from 'kafkajs';

import { createFastDefaultPartitioner } from './partitioner.js';

const { Kafka, CompressionTypes, logLevel } = kafkajs;

export interface KafkaRecord {
  topic: string;
  /** null: no key. */
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  timestampMs: number;
}

/**
 * transient: retry later (broker down, leader moving, timeout).
 * too_large / unknown_topic / auth / permanent: retrying the same records will not help.
 */
export type SendErrorKind = 'transient' | 'too_large' | 'unknown_topic' | 'auth' | 'permanent';

export class KafkaSendError extends Error {
  constructor(
    readonly kind: SendErrorKind,
    message: string,
    /** The client lost its brokers; the exporter reconnects from the bootstrap list. */
    readonly connectionLost = false,
  ) {
    super(message);
    this.name = 'KafkaSendError';
  }
}

export interface ProducerClient {
  /** Connect (bootstrap + metadata). Throws KafkaSendError. */
  connect(): Promise<void>;
  /** Produce all records; resolves when every one is acknowledged (per acks). Throws KafkaSendError. */
  send(records: readonly KafkaRecord[]): Promise<void>;
  /** Close connections. Never throws. */
  disconnect(): Promise<void>;
}

export interface ProducerClientOptions {
  brokers: string[];
  clientId: string;
  acks: 'all' | 'leader' | 'none';
  compression: 'none' | 'gzip';
  idempotent: boolean;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  retries: number;
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean; servername?: string };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  /** Client log lines at warn and above, already redacted. */
  log: (level: 'warn' | 'error', namespace: string, message: string, fields: Record<string, unknown>) => void;
}

export type ProducerClientFactory = (opts: ProducerClientOptions) => ProducerClient;

/** Replace every secret (passwords, key material) in a text by "***". */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join('***');
  return out;
}

const AUTH_TYPES = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
]);
const TOO_LARGE_TYPES = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const TOPIC_TYPES = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC_EXCEPTION']);
const CONNECTION_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
]);
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface ErrLike {
  name?: unknown;
  message?: unknown;
  type?: unknown;
  code?: unknown;
  retriable?: unknown;
  broker?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

function chain(e: unknown): ErrLike[] {
  const out: ErrLike[] = [];
  let cur: unknown = e;
  while (cur && typeof cur === 'object' && out.length < 8 && !out.includes(cur)) {
    const x = cur as ErrLike;
    out.push(x);
    cur = x.cause ?? x.originalError;
  }
  return out;
}

function describe(x: ErrLike): string {
  const name = typeof x.name === 'string' ? x.name : 'Error';
  const msg = typeof x.message === 'string' ? x.message : String(x.message);
  const broker = typeof x.broker === 'string' ? ` (broker ${x.broker})` : '';
  return `${name}: ${msg}${broker}`;
}

/** Map a kafkajs error (possibly wrapped in retry errors) to a KafkaSendError. */
export function classifyKafkaJsError(e: unknown, secrets: readonly string[]): KafkaSendError {
  const links = chain(e);
  const root = links[links.length - 1] ?? { message: String(e) };
  const all = links.map(describe);
  const text = redact(
    all.length > 1 ? `${all[0]}; caused by ${all.slice(1).join('; caused by ')}` : (all[0] ?? String(e)),
    secrets,
  );
  for (const x of links) {
    const type = typeof x.type === 'string' ? x.type : '';
    if (x.name === 'KafkaJSSASLAuthenticationError' || AUTH_TYPES.has(type)) {
      return new KafkaSendError('auth', `authentication/authorization failed: ${text}`);
    }
    if (TOO_LARGE_TYPES.has(type))
      return new KafkaSendError('too_large', `record rejected as too large by the broker: ${text}`);
    if (TOPIC_TYPES.has(type)) return new KafkaSendError('unknown_topic', `unknown or invalid topic: ${text}`);
  }
  const connection = links.some(
    (x) =>
      (typeof x.name === 'string' && CONNECTION_NAMES.has(x.name)) ||
      (typeof x.code === 'string' && CONNECTION_CODES.has(x.code)),
  );
  if (connection) return new KafkaSendError('transient', text, true);
  // Retry wrappers are marked non-retriable themselves; what counts is the cause.
  if (root.retriable === true) return new KafkaSendError('transient', text);
  if (root.retriable === false || links.some((x) => x.retriable === false && x !== links[0])) {
    return new KafkaSendError('permanent', text);
  }
  return new KafkaSendError('transient', text);
}

const ACKS = { all: -1, leader: 1, none: 0 } as const;

class KafkaJsClient implements ProducerClient {
  private readonly producer: Producer;
  private readonly secrets: string[];

  constructor(private readonly opts: ProducerClientOptions) {
    this.secrets = [opts.sasl?.password, opts.tls?.key].filter((s): s is string => typeof s === 'string' && s !== '');
    const config: KafkaJsConfig = {
      clientId: opts.clientId,
      brokers: opts.brokers,
      connectionTimeout: opts.connectTimeoutMs,
      authenticationTimeout: opts.connectTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      enforceRequestTimeout: true,
      retry: { retries: opts.retries, initialRetryTime: 100, maxRetryTime: 1_000 },
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => {
        if (entry.level > logLevel.WARN || entry.level === logLevel.NOTHING) return;
        const { message, error, broker, retryCount } = entry.log as Record<string, unknown>;
        const fields: Record<string, unknown> = {};
        if (typeof broker === 'string') fields.broker = broker;
        if (typeof retryCount === 'number') fields.retry_count = retryCount;
        if (typeof error === 'string') fields.error = redact(error, this.secrets);
        this.opts.log(
          entry.level === logLevel.ERROR ? 'error' : 'warn',
          entry.namespace,
          redact(String(message), this.secrets),
          fields,
        );
      },
    };
    if (opts.tls) {
      const tls: Record<string, unknown> = { rejectUnauthorized: opts.tls.rejectUnauthorized };
      if (opts.tls.ca !== undefined) tls.ca = [opts.tls.ca];
      if (opts.tls.cert !== undefined) tls.cert = opts.tls.cert;
      if (opts.tls.key !== undefined) tls.key = opts.tls.key;
      if (opts.tls.servername !== undefined) tls.servername = opts.tls.servername;
      config.ssl = tls;
    }
    if (opts.sasl) {
      config.sasl = {
        mechanism: opts.sasl.mechanism,
        username: opts.sasl.username,
        password: opts.sasl.password,
      } as SASLOptions;
    }
    this.producer = new Kafka(config).producer({
      // Java-compatible murmur2 (kafkajs's DefaultPartitioner, faster): same partition as Java clients for a key
      createPartitioner: createFastDefaultPartitioner as unknown as NonNullable<ProducerConfig['createPartitioner']>,
      allowAutoTopicCreation: true,
      idempotent: opts.idempotent,
      ...(opts.idempotent ? { maxInFlightRequests: 1 } : {}),
    });
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (e) {
      const err = classifyKafkaJsError(e, this.secrets);
      // Not reaching any bootstrap broker is transient whatever kafkajs says about retrying it.
      if (err.kind === 'permanent') throw new KafkaSendError('transient', err.message, true);
      throw new KafkaSendError(err.kind, err.message, true);
    }
  }

  async send(records: readonly KafkaRecord[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const r of records) {
      let list = byTopic.get(r.topic);
      if (!list) byTopic.set(r.topic, (list = []));
      list.push({ key: r.key, value: r.value, headers: r.headers, timestamp: String(r.timestampMs) });
    }
    try {
      await this.producer.sendBatch({
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        acks: ACKS[this.opts.acks],
        timeout: this.opts.requestTimeoutMs,
        compression: this.opts.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
      });
    } catch (e) {
      throw classifyKafkaJsError(e, this.secrets);
    }
  }

  async disconnect(): Promise<void> {
    try {
      await this.producer.disconnect();
    } catch {
      // already gone
    }
  }
}

export const kafkaJsClientFactory: ProducerClientFactory = (opts) => new KafkaJsClient(opts);
