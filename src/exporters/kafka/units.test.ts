/**
 * Kafka exporter units without a broker: config, keys, error classification
 * with kafkajs's own error objects, outcome mapping and secret handling with
 * a scripted ProducerClient.
 */
import { registry } from '../../registry.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import kafkajs from 'kafkajs';
import { pino } from 'pino';
import type { ComponentContext } from '../../pipeline/component.js';
import { silentLogger } from '../../telemetry/log.js';
import { testTelemetry } from '../../../test/helpers/telemetry.js';
import { startProxy } from '../../../test/helpers/kafka-mock.js';
import {
  classifyKafkaJsError,
  KafkaSendError,
  redact,
  type KafkaRecord,
  type ProducerClient,
  type ProducerClientOptions,
} from './client.js';
import { kafkaConfigSchema } from './config.js';
import fc from 'fast-check';
import type { NetEvent } from '../../core/event.js';
import { fourTuple, keyInto, recordKey } from './encode.js';
import { ByteWriter } from './wire/bytes.js';
import { clientFactoryFor, KafkaExporter } from './exporter.js';
import { NetspanProducer } from './wire/producer.js';
import { kafkaExporterFactory } from './factory.js';
import { loadConfigFile } from '../../config/load.js';
import { probeConfigSchema } from '../../probes/config.js';
import { repoRoot } from '../../paths.js';
import { gethostlatency, skbdrop, soconnect, tcpretrans } from './testdata.js';

const require = createRequire(import.meta.url);
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as {
  createErrorFromCode: (code: number) => Error;
};
const { KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError } = kafkajs;
// kafkajs's typings declare this constructor without arguments; the class takes a message.
const KafkaJSSASLAuthenticationError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (
  message: string,
) => Error;

function ctx(id = 'kafka/unit', env: Record<string, string> = {}): ComponentContext {
  return { id, telemetry: testTelemetry(), logger: silentLogger(), env };
}

function count(c: ComponentContext, outcome: string, topic = 'netspan.soconnect'): number {
  return c.telemetry.metrics.counter('netspan_kafka_records_total', '').get({ exporter: c.id, topic, outcome });
}

/** A ProducerClient whose connect/send outcomes are scripted. */
class FakeClient implements ProducerClient {
  sent: KafkaRecord[][] = [];
  disconnects = 0;
  constructor(
    readonly opts: ProducerClientOptions,
    private readonly sendScript: (() => Promise<void>)[] = [],
    private readonly connectScript: (() => Promise<void>)[] = [],
  ) {}
  async connect(): Promise<void> {
    await this.connectScript.shift()?.();
  }
  async send(records: readonly KafkaRecord[]): Promise<void> {
    this.sent.push([...records]);
    await this.sendScript.shift()?.();
  }
  disconnect(): Promise<void> {
    this.disconnects++;
    return Promise.resolve();
  }
}

function fakeFactory(...scripts: (() => Promise<void>)[]): {
  clients: FakeClient[];
  factory: (o: ProducerClientOptions) => FakeClient;
} {
  const clients: FakeClient[] = [];
  return {
    clients,
    factory: (o) => {
      const f = new FakeClient(o, clients.length === 0 ? scripts : []);
      clients.push(f);
      return f;
    },
  };
}

const fail = (e: Error) => () => Promise.reject(e);

void test('config: defaults, brokers as a comma-separated string, validation messages', () => {
  const d = kafkaConfigSchema.parse(undefined);
  assert.deepEqual(
    { ...d, queue: undefined },
    {
      brokers: ['localhost:9092'],
      client: 'auto',
      client_id: 'netspan',
      topic: 'netspan.{type}',
      key: '4tuple',
      encoding: 'json',
      otlp_body: 'kvlist',
      acks: 'all',
      compression: 'none',
      max_message_bytes: 1_000_000,
      max_batch_bytes: 1_048_576,
      idempotent: false,
      connect_timeout_ms: 3_000,
      request_timeout_ms: 5_000,
      client_retries: 2,
      tls: { enabled: false, insecure_skip_verify: false },
      queue: undefined,
    },
  );
  assert.equal(d.queue.max_batch_size, 512);
  assert.deepEqual(kafkaConfigSchema.parse({ brokers: ' k1:9092, [fd00::1]:9093 ,' }).brokers, [
    'k1:9092',
    '[fd00::1]:9093',
  ]);
  assert.deepEqual(kafkaConfigSchema.parse({ brokers: ['a:1', 'b:2'] }).brokers, ['a:1', 'b:2']);
  const issues = (input: unknown) => {
    const r = kafkaConfigSchema.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(issues({ brokers: 'nohost' }), ['brokers.0: each broker must be host:port (IPv6 as [addr]:port)']);
  assert.deepEqual(issues({ brokers: '' }), ['brokers: at least one broker is required']);
  assert.deepEqual(issues({ topic: 'bad topic/{type}' }), [
    'topic: topic "bad topic/soconnect" (for soconnect) is not a legal Kafka topic name: 1-249 of [a-zA-Z0-9._-]',
  ]);
  assert.deepEqual(issues({ idempotent: true, acks: 'leader' }), ['idempotent: idempotent: true requires acks: all']);
  assert.deepEqual(issues({ idempotent: true, client_retries: 0 }), [
    'client_retries: idempotent: true requires client_retries >= 1',
  ]);
  assert.deepEqual(issues({ client: 'netspan', idempotent: true }), [
    'client: client: netspan does not do TLS, SASL or the idempotent producer; use client: kafkajs or auto',
  ]);
  assert.deepEqual(issues({ client: 'librdkafka' }), [
    'client: Invalid option: expected one of "auto"|"netspan"|"kafkajs"',
  ]);
  assert.deepEqual(issues({ sasl: { mechanism: 'plain', username: 'u' } }), [
    'sasl: sasl needs exactly one of password_file or password_env',
  ]);
  assert.deepEqual(issues({ tls: { enabled: true, cert_file: '/c' } }), [
    'tls: tls.cert_file and tls.key_file go together',
  ]);
  // TLS settings without enabled: true would be ignored (plaintext): refused, naming the key.
  assert.deepEqual(issues({ tls: { ca_file: '/ca.crt' } }), [
    'tls.ca_file: tls.ca_file is set but tls.enabled is false, so TLS is not used: add tls.enabled: true or remove tls.ca_file',
  ]);
  assert.deepEqual(
    issues({
      tls: {
        enabled: false,
        cert_file: '/c',
        key_file: '/k',
        server_name: 'kafka',
        insecure_skip_verify: true,
      },
    }).map((m) => m.split(':')[0]),
    ['tls.cert_file', 'tls.key_file', 'tls.server_name', 'tls.insecure_skip_verify'],
  );
  // insecure_skip_verify: false is the default, not a setting that needs TLS.
  assert.deepEqual(issues({ tls: { insecure_skip_verify: false } }), []);
  assert.equal(kafkaConfigSchema.parse({ tls: { enabled: true, ca_file: '/ca.crt' } }).tls.ca_file, '/ca.crt');
  assert.deepEqual(issues({ compression: 'lz4' }).length, 1);
  assert.deepEqual(issues({ nope: 1 }).length, 1, 'strict: unknown keys rejected');
  assert.equal(kafkaExporterFactory.type, 'kafka');
});

void test('keys: canonical 4-tuple is symmetric; fallbacks', () => {
  assert.equal(fourTuple('10.0.0.2', 443, '10.0.0.1', 40000), '10.0.0.1:40000-10.0.0.2:443');
  assert.equal(fourTuple('10.0.0.1', 40000, '10.0.0.2', 443), '10.0.0.1:40000-10.0.0.2:443');
  assert.equal(fourTuple('10.0.0.1', 9, '10.0.0.1', 5), '10.0.0.1:5-10.0.0.1:9');
  assert.equal(fourTuple('fd00::2', 1, 'fd00::1', 2), '[fd00::1]:2-[fd00::2]:1');
  assert.equal(recordKey(soconnect(), '4tuple'), recordKey(tcpretrans(), '4tuple'));
  assert.equal(recordKey(skbdrop(), '4tuple'), '10.0.0.1:40000-10.0.0.2:443');
  assert.equal(
    recordKey(skbdrop({ sport: undefined, dport: undefined, l4Protocol: 'ICMP' }), '4tuple'),
    '10.0.0.1:0-10.0.0.2:0',
  );
  assert.equal(recordKey(skbdrop({ saddr: undefined, daddr: undefined, pid: 12 }), '4tuple'), 'pid:12');
  assert.equal(recordKey(gethostlatency(), '4tuple'), 'pid:301');
  assert.equal(recordKey(gethostlatency({ attributes: { 'k8s.pod.uid': 'u1' } }), '4tuple'), 'u1');
  assert.equal(recordKey(soconnect({ attributes: { 'k8s.pod.uid': 'u2' } }), 'pod_uid'), 'u2');
  assert.equal(recordKey(soconnect(), 'pod_uid'), 'pid:4711');
  assert.equal(recordKey(soconnect(), 'none'), null);
});

void test('keys written as bytes (keyInto) are exactly the UTF-8 of recordKey, for any addresses, ports and pod uids', () => {
  const w = new ByteWriter(4); // small: keyInto grows it
  const same = (e: NetEvent, mode: 'none' | 'pod_uid' | '4tuple') => {
    const n = keyInto(e, mode, w);
    const want = recordKey(e, mode);
    if (want === null) assert.equal(n, -1);
    else assert.equal(w.buf.toString('utf8', 0, n), want, `${e.type} ${mode}`);
  };
  const addr = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 10 }), // not ASCII
  );
  const port = fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constantFrom(-1, 2 ** 31, 1.5, NaN));
  const uid = fc.option(fc.oneof(fc.uuid(), fc.string({ unit: 'grapheme', maxLength: 40 })), { nil: undefined });
  fc.assert(
    fc.property(addr, port, addr, port, uid, fc.integer({ min: 0, max: 2 ** 31 - 1 }), (sa, sp, da, dp, u, pid) => {
      const attributes = u === undefined ? {} : { attributes: { 'k8s.pod.uid': u } };
      for (const e of [
        soconnect({ saddr: sa, sport: sp, daddr: da, dport: dp, pid, ...attributes }),
        tcpretrans({ saddr: da, sport: dp, daddr: sa, dport: sp, ...attributes }),
        skbdrop({ saddr: sa, daddr: da, sport: undefined, dport: dp, pid, ...attributes }),
        skbdrop({ saddr: undefined, daddr: undefined, pid, ...attributes }),
        gethostlatency({ pid, ...attributes }),
      ])
        for (const mode of ['none', 'pod_uid', '4tuple'] as const) same(e, mode);
    }),
    { seed: 20261122, numRuns: 500 },
  );
});

void test('kafkajs errors (its own classes and protocol codes) map to outcomes', () => {
  const wrapped = (e: Error) => new KafkaJSNumberOfRetriesExceeded(e, { retryCount: 2, retryTime: 100 });
  const cases: [Error, string, boolean][] = [
    [wrapped(createErrorFromCode(10)), 'too_large', false], // MESSAGE_TOO_LARGE
    [createErrorFromCode(18), 'too_large', false], // RECORD_LIST_TOO_LARGE
    [wrapped(createErrorFromCode(3)), 'unknown_topic', false], // UNKNOWN_TOPIC_OR_PARTITION
    [createErrorFromCode(29), 'auth', false], // TOPIC_AUTHORIZATION_FAILED
    [new KafkaJSSASLAuthenticationError('SASL PLAIN authentication failed'), 'auth', false],
    [
      wrapped(
        new KafkaJSConnectionError('connect ECONNREFUSED 127.0.0.1:9', { broker: '127.0.0.1:9', code: 'ECONNREFUSED' }),
      ),
      'transient',
      true,
    ],
    [wrapped(createErrorFromCode(5)), 'transient', false], // LEADER_NOT_AVAILABLE
    [createErrorFromCode(6), 'transient', false], // NOT_LEADER_FOR_PARTITION
    [createErrorFromCode(2), 'transient', false], // CORRUPT_MESSAGE: retriable in kafkajs
    [createErrorFromCode(87), 'permanent', false], // INVALID_RECORD
  ];
  for (const [err, kind, lost] of cases) {
    const c = classifyKafkaJsError(err, []);
    assert.equal(c.kind, kind, `${err.name}: ${err.message}`);
    assert.equal(c.connectionLost, lost, err.message);
  }
  const msg = classifyKafkaJsError(wrapped(createErrorFromCode(10)), []).message;
  assert.equal(
    msg,
    'record rejected as too large by the broker: KafkaJSNumberOfRetriesExceeded: The request included a message larger than the max message size the server will accept; caused by KafkaJSProtocolError: The request included a message larger than the max message size the server will accept',
  );
  const secret = classifyKafkaJsError(new KafkaJSSASLAuthenticationError('bad password hunter2 for user bob'), [
    'hunter2',
  ]);
  assert.equal(
    secret.message,
    'authentication/authorization failed: KafkaJSSASLAuthenticationError: bad password *** for user bob',
  );
  assert.equal(redact('a hunter2 b hunter2', ['hunter2']), 'a *** b ***');
});

void test('outcomes: transient → retryable (counted retried), permanent kinds → failure (counted failed)', async () => {
  const c = ctx();
  const { clients, factory } = fakeFactory(
    fail(new KafkaSendError('transient', 'LEADER_NOT_AVAILABLE')),
    fail(new KafkaSendError('too_large', 'record rejected as too large by the broker: X')),
    fail(new KafkaSendError('auth', 'authentication/authorization failed: Y')),
    fail(new KafkaSendError('unknown_topic', 'unknown or invalid topic: Z')),
    fail(new KafkaSendError('transient', 'Closed connection', true)),
  );
  const exp = new KafkaExporter(kafkaConfigSchema.parse({}), c, factory);
  await exp.start();
  assert.equal(exp.healthy, true);
  // a new batch each time, as the queue makes (a settled batch's outcome is remembered)
  const two = () => [soconnect(), soconnect()];
  assert.deepEqual(await exp.export(two()), { code: 'retryable', error: 'LEADER_NOT_AVAILABLE' });
  assert.equal(exp.healthy, true, 'a leader election does not drop the connection');
  assert.deepEqual(await exp.export(two()), {
    code: 'failure',
    error: 'record rejected as too large by the broker: X',
  });
  assert.deepEqual(await exp.export(two()), { code: 'failure', error: 'authentication/authorization failed: Y' });
  assert.deepEqual(await exp.export(two()), { code: 'failure', error: 'unknown or invalid topic: Z' });
  assert.deepEqual(await exp.export(two()), { code: 'retryable', error: 'Closed connection' });
  assert.equal(count(c, 'retried'), 4);
  assert.equal(count(c, 'failed'), 6);
  assert.equal(count(c, 'sent'), 0);
  // Connection lost: the old client is closed and a new one bootstraps.
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(clients.length, 2);
  assert.equal(clients[0]!.disconnects, 1);
  assert.equal(exp.healthy, true);
  assert.deepEqual(await exp.export(two()), { code: 'success' });
  assert.equal(clients[1]!.sent.length, 1);
  assert.equal(count(c, 'sent'), 2);
  await exp.shutdown();
  assert.equal(clients[1]!.disconnects, 1);
});

void test('one send in flight at a time; exports split at max_batch_bytes', async () => {
  const c = ctx();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { clients, factory } = fakeFactory(() => gate);
  const exp = new KafkaExporter(
    kafkaConfigSchema.parse({ max_message_bytes: 2048, max_batch_bytes: 2048 }),
    c,
    factory,
  );
  await exp.start();
  const first = exp.export([soconnect()]);
  assert.deepEqual(await exp.export([soconnect()]), {
    code: 'retryable',
    error: 'previous Kafka send still in progress',
  });
  release();
  assert.deepEqual(await first, { code: 'success' });
  // Each soconnect record is ~480 bytes: 4 fit in 2048.
  assert.deepEqual(await exp.export(Array.from({ length: 10 }, () => soconnect())), { code: 'success' });
  assert.deepEqual(
    clients[0]!.sent.map((s) => s.length),
    [1, 4, 4, 2],
  );
  assert.equal(count(c, 'sent'), 11);
  await exp.shutdown();
});

void test('TLS and SASL material is read at start; secrets never reach error messages or logs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'netspan-kafka-'));
  try {
    await writeFile(join(dir, 'ca.pem'), 'CA-PEM');
    await writeFile(join(dir, 'key.pem'), 'PRIVATE-KEY-PEM');
    await writeFile(join(dir, 'cert.pem'), 'CERT-PEM');
    await writeFile(join(dir, 'pw'), 's3cr3t-pw\n');
    const c = ctx();
    const { clients, factory } = fakeFactory(
      fail(new KafkaSendError('auth', 'authentication/authorization failed: s3cr3t-pw rejected')),
    );
    const exp = new KafkaExporter(
      kafkaConfigSchema.parse({
        tls: {
          enabled: true,
          ca_file: join(dir, 'ca.pem'),
          cert_file: join(dir, 'cert.pem'),
          key_file: join(dir, 'key.pem'),
          insecure_skip_verify: true,
        },
        sasl: { mechanism: 'scram-sha-512', username: 'netspan', password_file: join(dir, 'pw') },
      }),
      c,
      factory,
    );
    await exp.start();
    const o = clients[0]!.opts;
    assert.deepEqual(o.tls, { rejectUnauthorized: false, ca: 'CA-PEM', cert: 'CERT-PEM', key: 'PRIVATE-KEY-PEM' });
    assert.deepEqual(o.sasl, { mechanism: 'scram-sha-512', username: 'netspan', password: 's3cr3t-pw' });
    assert.deepEqual(await exp.export([soconnect()]), {
      code: 'failure',
      error: 'authentication/authorization failed: *** rejected',
    });
    await exp.shutdown();

    const envCtx = ctx('kafka/env', { KAFKA_PW: 'from-env' });
    const f2 = fakeFactory();
    const e2 = new KafkaExporter(
      kafkaConfigSchema.parse({ sasl: { mechanism: 'plain', username: 'u', password_env: 'KAFKA_PW' } }),
      envCtx,
      f2.factory,
    );
    await e2.start();
    assert.equal(f2.clients[0]!.opts.sasl?.password, 'from-env');
    await e2.shutdown();

    const e3 = new KafkaExporter(
      kafkaConfigSchema.parse({ sasl: { mechanism: 'plain', username: 'u', password_env: 'MISSING_PW' } }),
      ctx(),
      fakeFactory().factory,
    );
    await assert.rejects(e3.start(), {
      message: 'kafka/unit: environment variable MISSING_PW (sasl.password_env) is not set',
    });
    await e3.shutdown();
    const e4 = new KafkaExporter(
      kafkaConfigSchema.parse({ tls: { enabled: true, ca_file: join(dir, 'nope.pem') } }),
      ctx(),
      fakeFactory().factory,
    );
    await assert.rejects(e4.start(), {
      message: `kafka/unit: cannot read tls.ca_file ${join(dir, 'nope.pem')}: ENOENT`,
    });
    await e4.shutdown();
    // kafkajs itself rejects idempotence without retries: start() fails instead of retrying forever.
    const e5 = new KafkaExporter({ ...kafkaConfigSchema.parse({}), idempotent: true, client_retries: 0 }, ctx());
    await assert.rejects(e5.start(), {
      message:
        'kafka/unit: invalid Kafka client settings: Idempotent producer must allow retries to protect against transient errors',
    });
    await e5.shutdown();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test(
  'kafkajs log lines reach the component logger at warn+, rate-limited, without secrets',
  { timeout: 20_000 },
  async () => {
    const proxy = await startProxy(); // refuses connections: kafkajs logs connection errors
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const c: ComponentContext = {
      id: 'kafka/logs',
      telemetry: testTelemetry(),
      logger: pino({ level: 'debug' }, sink),
      env: { PW: 'pw-secret-value' },
    };
    const exp = new KafkaExporter(
      kafkaConfigSchema.parse({
        brokers: proxy.address,
        connect_timeout_ms: 300,
        client_retries: 1,
        sasl: { mechanism: 'plain', username: 'u', password_env: 'PW' },
      }),
      c,
    );
    try {
      await exp.start();
      await new Promise((r) => setTimeout(r, 800));
    } finally {
      await exp.shutdown();
      await proxy.close();
    }
    const client = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Kafka client: '));
    assert.ok(client.length >= 1, JSON.stringify(lines));
    for (const l of client) assert.ok((l.level as number) >= 40, 'warn or error');
    assert.ok(lines.some((l) => l.msg === 'Kafka brokers not reachable yet; exports are retried until they are'));
    // the first of each kind at once; what the interval held back, in one line with `suppressed` (at shutdown here)
    const first = client.filter((l) => l.suppressed === undefined);
    const keys = new Set(first.map((l) => `${String(l.client)}:${String(l.level)}:${String(l.msg)}`));
    assert.equal(keys.size, first.length, 'each kind of client message is logged once per interval');
    for (const l of client) if (l.suppressed !== undefined) assert.ok((l.suppressed as number) >= 1);
    assert.ok(client.length <= 2 * keys.size, 'at most one summary line per kind');
    assert.ok(!JSON.stringify(lines).includes('pw-secret-value'));
  },
);

void test('pipelines/kafka.yaml loads: five probes, json, brokers from KAFKA_BROKERS or localhost:9092', async () => {
  const probes = new Map(
    ['soconnect', 'tcpretrans', 'gethostlatency', 'skbdrop', 'udpconnect'].map((p) => [
      p,
      { configSchema: probeConfigSchema },
    ]),
  );
  const catalog = { probes, processors: registry.processors, exporters: new Map([['kafka', kafkaExporterFactory]]) };
  const file = join(repoRoot(), 'pipelines', 'kafka.yaml');
  for (const [env, brokers] of [
    [{}, ['localhost:9092']],
    [{ KAFKA_BROKERS: 'k0:9092,k1:9092' }, ['k0:9092', 'k1:9092']],
  ] as const) {
    const r = await loadConfigFile(file, catalog, env);
    assert.ok(r.ok, JSON.stringify(r));
    const k = r.config.exporters.get('kafka')!.config as ReturnType<typeof kafkaConfigSchema.parse>;
    assert.deepEqual(k.brokers, brokers);
    assert.equal(k.encoding, 'json');
    assert.equal(k.topic, 'netspan.{type}');
    assert.deepEqual(r.config.pipelines.get('kafka')!.probes, [
      'soconnect',
      'tcpretrans',
      'gethostlatency',
      'skbdrop',
      'udpconnect',
    ]);
  }
});

void test("client: auto takes netspan's producer unless TLS, SASL or idempotence needs kafkajs", () => {
  const made = (over: Record<string, unknown>) => {
    const cfg = kafkaConfigSchema.parse({ sasl: undefined, ...over });
    const client = clientFactoryFor(cfg)({
      brokers: cfg.brokers,
      clientId: 'x',
      acks: cfg.acks,
      compression: cfg.compression,
      idempotent: cfg.idempotent,
      connectTimeoutMs: 1,
      requestTimeoutMs: 1,
      retries: 1,
      ...(cfg.sasl ? { sasl: { mechanism: cfg.sasl.mechanism, username: cfg.sasl.username, password: 'p' } } : {}),
      log: () => undefined,
    });
    return client instanceof NetspanProducer ? 'netspan' : 'kafkajs';
  };
  const sasl = { mechanism: 'scram-sha-512', username: 'u', password_env: 'P' };
  assert.equal(made({}), 'netspan');
  assert.equal(made({ tls: { enabled: true } }), 'kafkajs');
  assert.equal(made({ sasl }), 'kafkajs');
  assert.equal(made({ idempotent: true }), 'kafkajs');
  assert.equal(made({ client: 'kafkajs' }), 'kafkajs');
  assert.equal(made({ client: 'netspan', compression: 'gzip' }), 'netspan');
});
