import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { BatchQueue, queueConfigSchema } from '../../pipeline/batch-queue.js';
import { silentLogger } from '../../telemetry/log.js';
import { hex } from '../../../test/helpers/otlp-server.js';
import { connect, retrans } from '../../../test/helpers/otlp-events.js';
import { setup } from '../../../test/helpers/otlp-setup.js';
import { testTelemetry } from '../../../test/helpers/telemetry.js';
import { otlpConfigSchema } from './config.js';
import { OtlpExporter } from './exporter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TL = { signals: { traces: true, logs: true, metrics: false } };

test('UNAVAILABLE is retryable; a retry of the same batch re-sends only the signals that failed', async () => {
  const s = await setup(TL);
  try {
    const req = s.exp.otel.counters.requests;
    s.server.failWith(status.UNAVAILABLE);
    const batch = [connect()];
    const r1 = await s.exp.export(batch);
    assert.equal(r1.code, 'retryable');
    assert.match(r1.code === 'retryable' ? r1.error : '', /^traces: UNAVAILABLE: .*; logs: UNAVAILABLE: /);
    assert.deepEqual(s.server.rejected, { traces: 1, logs: 1, metrics: 0 });

    s.server.failWith(status.UNAVAILABLE, ['logs']);
    const r2 = await s.exp.export(batch);
    assert.equal(r2.code, 'retryable');
    assert.match(r2.code === 'retryable' ? r2.error : '', /^logs: UNAVAILABLE/);
    assert.equal(s.server.allSpans().length, 1);

    s.server.failWith(undefined);
    assert.deepEqual(await s.exp.export(batch), { code: 'success' });
    assert.deepEqual(await s.exp.export(batch), { code: 'success' }, 'a completed batch is not sent again');
    assert.equal(s.server.allSpans().length, 1, 'traces were not sent twice');
    assert.equal(s.server.allLogs().length, 1);
    assert.equal(hex(s.server.allLogs()[0]!.log.spanId), hex(s.server.allSpans()[0]!.span.spanId));
    assert.deepEqual(
      [
        req.get({ exporter: 'otlp', signal: 'traces', outcome: 'retryable' }),
        req.get({ exporter: 'otlp', signal: 'traces', outcome: 'success' }),
        req.get({ exporter: 'otlp', signal: 'logs', outcome: 'retryable' }),
        req.get({ exporter: 'otlp', signal: 'logs', outcome: 'success' }),
      ],
      [1, 1, 2, 1],
    );
  } finally {
    await s.close();
  }
});

test('permanent gRPC errors are failures and the records are counted as dropped, per signal', async () => {
  const s = await setup(TL);
  try {
    s.server.failWith(status.INVALID_ARGUMENT, ['traces']);
    const batch = [connect(), connect({ sport: 40100 })];
    const r = await s.exp.export(batch);
    assert.equal(r.code, 'failure');
    assert.match(r.code === 'failure' ? r.error : '', /^traces: INVALID_ARGUMENT: /);
    // a late retry of the batch (the queue timed out the attempt that failed) is told the same, not success
    s.server.failWith(undefined);
    assert.deepEqual(await s.exp.export(batch), r);
    assert.equal(s.server.allSpans().length, 0, 'a failed batch is not sent again');
    assert.equal(s.server.allLogs().length, 2);
    const c = s.exp.otel.counters;
    assert.equal(c.recordsDropped.get({ exporter: 'otlp', signal: 'traces', reason: 'export_failed' }), 2);
    assert.equal(c.recordsSent.get({ exporter: 'otlp', signal: 'logs' }), 2);
    assert.equal(c.requests.get({ exporter: 'otlp', signal: 'traces', outcome: 'failure' }), 1);
  } finally {
    await s.close();
  }
});

test('a stopped collector is retryable (connection refused → UNAVAILABLE)', async () => {
  const s = await setup(TL);
  try {
    await s.server.stop();
    const r = await s.exp.export([connect()]);
    assert.equal(r.code, 'retryable');
    assert.match(r.code === 'retryable' ? r.error : '', /traces: UNAVAILABLE/);
    assert.equal(s.exp.healthy, false);
  } finally {
    await s.close();
  }
});

function accounting(s: Awaited<ReturnType<typeof setup>>, q: BatchQueue) {
  const t = s.telemetry;
  const accepted = t.eventsAccepted.get({ exporter: 'otlp' });
  const sent = t.eventsSent.get({ exporter: 'otlp' });
  const dropped = t.eventsDropped.sum({ component: 'otlp' });
  return { accepted, sent, dropped, queued: q.size(), balanced: accepted === sent + dropped + q.size() };
}

test('collector outage shorter than the retry budget: every event is delivered exactly once after recovery', async () => {
  // the exporter's queue settings are the ones its batch queue runs with (as in a pipeline)
  const queue = {
    max_batch_size: 10,
    scheduled_delay_ms: 5,
    export_timeout_ms: 2_000,
    retry: { initial_interval_ms: 100, max_interval_ms: 300, max_elapsed_ms: 20_000 },
  };
  const s = await setup({ ...TL, queue });
  const q = new BatchQueue('otlp', s.exp, queueConfigSchema.parse(queue), s.telemetry);
  try {
    await s.server.stop();
    for (let i = 0; i < 25; i++) q.push(connect({ sport: 30_000 + i }));
    await sleep(600);
    assert.ok(
      s.telemetry.exportErrors.get({ exporter: 'otlp', outcome: 'retryable' }) >= 2,
      'retried while the collector was down',
    );
    assert.equal(s.telemetry.eventsSent.get({ exporter: 'otlp' }), 0);
    await s.server.restart();
    await q.flush();
    assert.deepEqual(accounting(s, q), { accepted: 25, sent: 25, dropped: 0, queued: 0, balanced: true });
    const spans = s.server.allSpans().map((x) => x.span);
    assert.equal(spans.length, 25);
    assert.deepEqual(
      spans.map((sp) => sp.name),
      Array.from({ length: 25 }, () => 'connect'),
    );
    assert.equal(new Set(spans.map((sp) => hex(sp.spanId))).size, 25, 'no duplicates');
    assert.equal(s.server.allLogs().length, 25);
    const c = s.exp.otel.counters;
    assert.equal(c.recordsSent.get({ exporter: 'otlp', signal: 'traces' }), 25);
    assert.equal(c.recordsSent.get({ exporter: 'otlp', signal: 'logs' }), 25);
    assert.equal(c.recordsDropped.sum({ exporter: 'otlp' }), 0);
  } finally {
    await q.shutdown();
    await s.close();
  }
});

test('collector outage longer than the retry budget: undelivered events are counted as dropped, exactly', async () => {
  const queue = {
    max_batch_size: 10,
    scheduled_delay_ms: 5,
    export_timeout_ms: 2_000,
    retry: { initial_interval_ms: 50, max_interval_ms: 100, max_elapsed_ms: 300 },
  };
  const s = await setup({ ...TL, queue });
  const q = new BatchQueue('otlp', s.exp, queueConfigSchema.parse(queue), s.telemetry);
  try {
    await s.server.stop();
    for (let i = 0; i < 12; i++) q.push(connect({ sport: 31_000 + i }));
    await q.flush();
    assert.deepEqual(accounting(s, q), { accepted: 12, sent: 0, dropped: 12, queued: 0, balanced: true });
    assert.equal(s.telemetry.eventsDropped.get({ component: 'otlp', reason: 'export_failed' }), 12);
    await s.server.restart();
    for (let i = 0; i < 3; i++) q.push(connect({ sport: 32_000 + i }));
    await q.flush();
    assert.deepEqual(accounting(s, q), { accepted: 15, sent: 3, dropped: 12, queued: 0, balanced: true });
    assert.equal(s.server.allSpans().length, 3);
    assert.equal(s.server.allLogs().length, 3);
    // the exporter's own record accounting agrees: once the queue has stopped retrying them
    // (retry.max_interval_ms + 1 s), the 12 never-delivered spans and logs are counted as abandoned
    await sleep(100 + 1_000 + 50);
    await s.exp.sweep();
    const c = s.exp.otel.counters;
    assert.equal(c.recordsDropped.get({ exporter: 'otlp', signal: 'traces', reason: 'abandoned' }), 12);
    assert.equal(c.recordsDropped.get({ exporter: 'otlp', signal: 'logs', reason: 'abandoned' }), 12);
    assert.equal(c.recordsDropped.sum({ exporter: 'otlp' }), 24);
    assert.equal(c.recordsSent.get({ exporter: 'otlp', signal: 'traces' }), 3);
  } finally {
    await q.shutdown();
    await s.close();
  }
});

test('held retransmits released while the collector is down: their one attempt fails and they are counted as dropped', async () => {
  let now = 1_000;
  const s = await setup(
    { ...TL, connection_traces: { window_ms: 500 } },
    { now: () => now, sweepIntervalMs: 3_600_000 },
  );
  try {
    assert.deepEqual(await s.send(retrans({ sport: 45_001 }), retrans({ sport: 45_002 })), { code: 'success' });
    assert.equal(s.exp.stitcher.held, 2);
    s.server.failWith(status.UNAVAILABLE);
    now += 501;
    await s.exp.sweep();
    assert.equal(s.exp.stitcher.held, 0);
    const c = s.exp.otel.counters;
    // nothing retries records no batch owns: undelivered after their attempt is dropped, not forgotten
    assert.equal(c.recordsDropped.get({ exporter: 'otlp', signal: 'traces', reason: 'export_failed' }), 2);
    assert.equal(c.recordsDropped.get({ exporter: 'otlp', signal: 'logs', reason: 'export_failed' }), 2);
    assert.equal(c.recordsSent.sum({ exporter: 'otlp' }), 0);
    assert.equal(s.exp.pool.size, 2, 'their buffers were handed back');
  } finally {
    await s.close();
  }
});

test('lifecycle: shutdown before start and twice is safe; export outside start..shutdown fails without throwing', async () => {
  const cfg = otlpConfigSchema.parse({ endpoint: 'http://127.0.0.1:9' });
  const exp = new OtlpExporter(cfg, { id: 'otlp', telemetry: testTelemetry(), logger: silentLogger(), env: {} });
  assert.equal((await exp.export([connect()])).code, 'failure');
  await exp.shutdown();
  await exp.shutdown();
  await exp.start(); // after shutdown: stays stopped
  assert.equal((await exp.export([connect()])).code, 'failure');
  assert.equal(exp.healthy, false);
});

test(
  'collector down for 30 s under a steady load, default queue settings: every event delivered once or counted as dropped, and delivery resumes',
  { timeout: 120_000 },
  async (ctx) => {
    const s = await setup(TL); // the default queue: 20,000 events, retries up to 30 s, back-off up to 5 s
    const q = new BatchQueue('otlp', s.exp, queueConfigSchema.parse({}), s.telemetry);
    try {
      await s.server.stop();
      const t0 = Date.now();
      let n = 0;
      let back = false;
      // 100 events/s: 30 s with the collector down, then 5 s with it back
      while (Date.now() - t0 < 35_000) {
        if (!back && Date.now() - t0 >= 30_000) {
          await s.server.restart();
          back = true;
        }
        for (let i = 0; i < 10; i++) q.push(connect({ sport: 10_000 + (n++ % 50_000) }));
        await sleep(100);
      }
      await q.flush();
      const a = accounting(s, q);
      assert.equal(a.accepted, n);
      assert.equal(a.queued, 0);
      assert.ok(a.balanced, `accepted = sent + dropped: ${JSON.stringify(a)}`);
      const t = s.telemetry;
      assert.equal(
        a.dropped,
        t.eventsDropped.get({ component: 'otlp', reason: 'export_failed' }),
        'only retries ran out',
      );
      assert.ok(a.sent >= 500, `the events after the collector came back were delivered: ${a.sent} of ${n}`);
      const spans = s.server.allSpans().map((x) => hex(x.span.spanId));
      assert.equal(spans.length, a.sent, 'the collector got exactly the events counted as sent');
      assert.equal(new Set(spans).size, a.sent, 'no duplicates');
      assert.equal(s.server.allLogs().length, a.sent);
      assert.equal(s.exp.healthy, true);
      ctx.diagnostic(`30 s outage: ${n} events, ${a.sent} delivered, ${a.dropped} dropped (retries ran out)`);
    } finally {
      await q.shutdown();
      await s.close();
    }
  },
);
