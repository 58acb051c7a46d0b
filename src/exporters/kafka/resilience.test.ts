/**
 * Brokers that are not there yet, that die mid-stream and come back — with
 * the exporter behind the pipeline's real BatchQueue. The mock cluster takes
 * new ports each time, so the exporter bootstraps through a TCP proxy on a
 * fixed port whose upstream the test switches.
 */
import assert from 'node:assert/strict';
import type { NetEvent } from '../../core/event.js';
import { BatchQueue, queueConfigSchema } from '../../pipeline/batch-queue.js';
import type { ComponentContext } from '../../pipeline/component.js';
import { silentLogger } from '../../telemetry/log.js';
import { consumeAll, startMockCluster, startProxy } from '../../../test/helpers/kafka-mock.js';
import { testTelemetry } from '../../../test/helpers/telemetry.js';
import { kafkaConfigSchema } from './config.js';
import { clientTest } from './client-test.js';
import { KafkaExporter } from './exporter.js';
import { soconnect } from './testdata.js';

function ctx(id: string): ComponentContext {
  return { id, telemetry: testTelemetry(), logger: silentLogger(), env: {} };
}

function counter(c: ComponentContext, labels: Record<string, string>): number {
  return c.telemetry.metrics.counter('netspan_kafka_records_total', '').sum({ exporter: c.id, ...labels });
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t0;
}

/** Events numbered by source port, so the records read back can be matched exactly. */
function numbered(from: number, n: number): NetEvent[] {
  return Array.from({ length: n }, (_, i) => soconnect({ sport: from + i }));
}

function ports(values: Buffer[]): number[] {
  return values.map((v) => (JSON.parse(v.toString('utf8')) as { sport: number }).sport).sort((a, b) => a - b);
}

function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

clientTest(
  'brokers unreachable at start: start() returns, exports are retryable, then the broker appears and delivery starts',
  { timeout: 60_000 },
  async (client) => {
    const proxy = await startProxy(); // refuses every connection until it has a target
    const c = ctx('kafka/late');
    const exp = new KafkaExporter(
      kafkaConfigSchema.parse({
        client,
        brokers: proxy.address,
        topic: 'late',
        connect_timeout_ms: 500,
        client_retries: 0,
      }),
      c,
    );
    let cluster: Awaited<ReturnType<typeof startMockCluster>> | undefined;
    try {
      const t0 = Date.now();
      await exp.start();
      const startMs = Date.now() - t0;
      assert.ok(startMs < 1_500, `start() returned after ${startMs} ms`);
      assert.equal(exp.healthy, false);

      const r = await exp.export(numbered(1000, 5));
      assert.equal(r.code, 'retryable');
      assert.match((r as { error: string }).error, new RegExp(`^not connected to Kafka \\(${proxy.address}\\): `));
      assert.equal(counter(c, { topic: 'late', outcome: 'retried' }), 5);
      assert.equal(counter(c, { outcome: 'sent' }), 0);

      cluster = await startMockCluster(1);
      proxy.setTarget(cluster.brokers[0]);
      const waited = await until('the exporter to connect', () => exp.healthy, 15_000);
      assert.ok(waited < 15_000);
      assert.deepEqual(await exp.export(numbered(2000, 7)), { code: 'success' });
      assert.equal(counter(c, { topic: 'late', outcome: 'sent' }), 7);
      assert.equal(counter(c, { topic: 'late', outcome: 'retried' }), 5);
      const got = await consumeAll(cluster.bootstrap, 'late');
      assert.deepEqual(ports(got.map((g) => g.value)), range(2000, 7));
    } finally {
      const t1 = Date.now();
      await exp.shutdown();
      await exp.shutdown();
      assert.ok(Date.now() - t1 < 5_000, 'shutdown is bounded');
      assert.equal((await exp.export(numbered(1, 1))).code, 'failure');
      await cluster?.stop();
      await proxy.close();
    }
  },
);

clientTest(
  'shutdown while the brokers are still unreachable is prompt and safe twice; shutdown before start too',
  { timeout: 30_000 },
  async (client) => {
    const proxy = await startProxy();
    try {
      const exp = new KafkaExporter(
        kafkaConfigSchema.parse({ client, brokers: proxy.address, connect_timeout_ms: 300, client_retries: 0 }),
        ctx('kafka/never'),
      );
      await exp.start();
      await new Promise((r) => setTimeout(r, 400)); // inside the back-off loop
      const t0 = Date.now();
      await exp.shutdown();
      await exp.shutdown();
      assert.ok(Date.now() - t0 < 2_000, `shutdown took ${Date.now() - t0} ms`);

      const unstarted = new KafkaExporter(
        kafkaConfigSchema.parse({ client, brokers: proxy.address }),
        ctx('kafka/unstarted'),
      );
      await unstarted.shutdown();
      await unstarted.shutdown();
      await unstarted.start(); // after shutdown: a no-op, no connection attempts
      assert.equal(unstarted.healthy, false);
    } finally {
      await proxy.close();
    }
  },
);

clientTest(
  'cluster killed mid-stream, then restarted: retryable → dropped through the BatchQueue, counts add up exactly, delivery recovers',
  { timeout: 90_000 },
  async (client) => {
    const proxy = await startProxy();
    let cluster = await startMockCluster(3);
    proxy.setTarget(cluster.brokers[0]);
    const c = ctx('kafka/crash');
    const exp = new KafkaExporter(
      kafkaConfigSchema.parse({
        client,
        brokers: proxy.address,
        topic: 'crash',
        connect_timeout_ms: 500,
        request_timeout_ms: 1_000,
        client_retries: 0,
      }),
      c,
    );
    const qcfg = queueConfigSchema.parse({
      max_batch_size: 10,
      scheduled_delay_ms: 10,
      export_timeout_ms: 5_000,
      retry: { initial_interval_ms: 50, max_interval_ms: 100, max_elapsed_ms: 400 },
      shutdown_timeout_ms: 2_000,
    });
    const q = new BatchQueue(c.id, exp, qcfg, c.telemetry);
    const t = c.telemetry;
    const accounting = () => ({
      accepted: t.eventsAccepted.get({ exporter: c.id }),
      sent: t.eventsSent.get({ exporter: c.id }),
      dropped: t.eventsDropped.sum({ component: c.id }),
      queued: q.size(),
    });
    try {
      await exp.start();
      assert.equal(exp.healthy, true);

      // Phase 1: healthy.
      for (const e of numbered(1000, 30)) q.push(e);
      await q.flush();
      assert.deepEqual(accounting(), { accepted: 30, sent: 30, dropped: 0, queued: 0 });
      assert.deepEqual(ports((await consumeAll(cluster.bootstrap, 'crash')).map((r) => r.value)), range(1000, 30));

      // Phase 2: every broker dies (SIGKILL) and the bootstrap address refuses.
      await cluster.stop('SIGKILL');
      proxy.setTarget(undefined);
      for (const e of numbered(2000, 20)) q.push(e);
      await q.flush();
      const attempts = t.exportErrors.get({ exporter: c.id, outcome: 'retryable' });
      assert.ok(attempts >= 2, `each of the 2 batches was tried at least once (${attempts} attempts)`);
      assert.equal(t.exportErrors.get({ exporter: c.id, outcome: 'failure' }), 0);
      assert.deepEqual(accounting(), { accepted: 50, sent: 30, dropped: 20, queued: 0 });
      assert.equal(t.eventsDropped.get({ component: c.id, reason: 'export_failed' }), 20);
      // Every failed attempt carried one whole batch of 10.
      assert.equal(counter(c, { topic: 'crash', outcome: 'retried' }), 10 * attempts);
      assert.equal(counter(c, { topic: 'crash', outcome: 'sent' }), 30);
      assert.equal(counter(c, { outcome: 'failed' }), 0);
      assert.equal(exp.healthy, false);

      // Phase 3: a new cluster behind the same bootstrap address.
      cluster = await startMockCluster(3);
      proxy.setTarget(cluster.brokers[1]);
      await until('the exporter to reconnect', () => exp.healthy, 20_000);
      for (const e of numbered(3000, 15)) q.push(e);
      await q.flush();
      assert.deepEqual(accounting(), { accepted: 65, sent: 45, dropped: 20, queued: 0 });
      assert.equal(counter(c, { topic: 'crash', outcome: 'sent' }), 45);
      assert.deepEqual(ports((await consumeAll(cluster.bootstrap, 'crash')).map((r) => r.value)), range(3000, 15));

      // Shutdown flushes what is queued, within its deadline.
      for (const e of numbered(4000, 5)) q.push(e);
      const t0 = Date.now();
      await q.shutdown();
      await exp.shutdown();
      await exp.shutdown();
      assert.ok(Date.now() - t0 < qcfg.shutdown_timeout_ms + 3_000, `shutdown took ${Date.now() - t0} ms`);
      assert.deepEqual(accounting(), { accepted: 70, sent: 50, dropped: 20, queued: 0 });
      assert.deepEqual(ports((await consumeAll(cluster.bootstrap, 'crash')).map((r) => r.value)), [
        ...range(3000, 15),
        ...range(4000, 5),
      ]);
    } finally {
      await q.shutdown();
      await exp.shutdown();
      await cluster.stop();
      await proxy.close();
    }
  },
);

clientTest(
  'a slow broker: the queue times an attempt out and retries, and the batch is still produced once and counted once',
  { timeout: 60_000 },
  async (client) => {
    const cluster = await startMockCluster(1, 10_000, 700); // every response 700 ms late
    const c = ctx('kafka/slow');
    const exp = new KafkaExporter(
      kafkaConfigSchema.parse({
        client,
        brokers: cluster.bootstrap,
        topic: 'slow',
        connect_timeout_ms: 10_000,
        request_timeout_ms: 10_000,
        client_retries: 0,
      }),
      c,
    );
    // export_timeout_ms well under the broker's answer time: every attempt is timed out and retried
    const q = new BatchQueue(
      c.id,
      exp,
      queueConfigSchema.parse({
        max_batch_size: 20,
        scheduled_delay_ms: 10,
        export_timeout_ms: 200,
        retry: { initial_interval_ms: 100, max_interval_ms: 200, max_elapsed_ms: 20_000 },
        shutdown_timeout_ms: 20_000,
      }),
      c.telemetry,
    );
    const t = c.telemetry;
    try {
      await exp.start();
      await until('the exporter to connect', () => exp.healthy, 20_000);
      for (const e of numbered(5000, 20)) q.push(e);
      await q.flush();
      assert.ok(
        t.exportErrors.get({ exporter: c.id, outcome: 'retryable' }) >= 2,
        'the queue timed attempts out and retried',
      );
      assert.equal(t.eventsSent.get({ exporter: c.id }), 20);
      assert.equal(t.eventsDropped.sum({ component: c.id }), 0);
      assert.equal(counter(c, { topic: 'slow', outcome: 'sent' }), 20, 'records counted once');
      const got = await consumeAll(cluster.bootstrap, 'slow');
      assert.deepEqual(ports(got.map((g) => g.value)), range(5000, 20), 'each event produced exactly once');
    } finally {
      await q.shutdown();
      await exp.shutdown();
      await cluster.stop();
    }
  },
);

clientTest(
  'cluster restart within the retry budget: the events sent while it was down are delivered, once, none dropped',
  { timeout: 90_000 },
  async (client) => {
    const proxy = await startProxy();
    let cluster = await startMockCluster(1);
    proxy.setTarget(cluster.brokers[0]);
    const c = ctx('kafka/restart');
    const exp = new KafkaExporter(
      kafkaConfigSchema.parse({
        client,
        brokers: proxy.address,
        topic: 'restart',
        connect_timeout_ms: 500,
        request_timeout_ms: 1_000,
        client_retries: 0,
      }),
      c,
    );
    // the default-like budget: retries for up to 20 s, back-off up to 500 ms
    const q = new BatchQueue(
      c.id,
      exp,
      queueConfigSchema.parse({
        max_batch_size: 10,
        scheduled_delay_ms: 10,
        export_timeout_ms: 5_000,
        retry: { initial_interval_ms: 100, max_interval_ms: 500, max_elapsed_ms: 20_000 },
        shutdown_timeout_ms: 5_000,
      }),
      c.telemetry,
    );
    const t = c.telemetry;
    try {
      await exp.start();
      await until('the exporter to connect', () => exp.healthy, 20_000);
      for (const e of numbered(1000, 10)) q.push(e);
      await q.flush();
      await cluster.stop('SIGKILL');
      proxy.setTarget(undefined);
      for (const e of numbered(2000, 30)) q.push(e);
      await until(
        'export attempts against the dead cluster',
        () => t.exportErrors.sum({ exporter: c.id }) >= 2,
        10_000,
      );
      // the broker "restarts" (librdkafka's mock cluster comes back on new ports, behind the same bootstrap address)
      cluster = await startMockCluster(1);
      proxy.setTarget(cluster.brokers[0]);
      await q.flush();
      assert.equal(t.eventsAccepted.get({ exporter: c.id }), 40);
      assert.equal(t.eventsSent.get({ exporter: c.id }), 40);
      assert.equal(t.eventsDropped.sum({ component: c.id }), 0);
      assert.equal(q.size(), 0);
      assert.deepEqual(ports((await consumeAll(cluster.bootstrap, 'restart')).map((r) => r.value)), range(2000, 30));
    } finally {
      await q.shutdown();
      await exp.shutdown();
      await cluster.stop();
      await proxy.close();
    }
  },
);
