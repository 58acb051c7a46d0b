import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetEvent } from '../core/event.js';
import { BatchQueue, queueConfigSchema } from './batch-queue.js';
import type { Exporter, ExportResult } from './component.js';
import { events } from '../../test/helpers/events.js';
import { testTelemetry } from '../../test/helpers/telemetry.js';

class ScriptedExporter implements Exporter {
  batches: number[] = [];
  constructor(private readonly outcomes: (() => ExportResult | Promise<ExportResult>)[] = []) {}
  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}
  async export(batch: readonly NetEvent[]): Promise<ExportResult> {
    this.batches.push(batch.length);
    const next = this.outcomes.shift();
    return next ? next() : { code: 'success' };
  }
}

const cfg = (over: Record<string, unknown> = {}) => queueConfigSchema.parse(over);

function accounting(t: ReturnType<typeof testTelemetry>, q: BatchQueue, id = 'x') {
  const accepted = t.eventsAccepted.get({ exporter: id });
  const sent = t.eventsSent.get({ exporter: id });
  const dropped = t.eventsDropped.sum({ component: id });
  return { accepted, sent, dropped, queued: q.size(), balanced: accepted === sent + dropped + q.size() };
}

test('batches by size and by delay, every event accounted for', async () => {
  const t = testTelemetry();
  const exp = new ScriptedExporter();
  const q = new BatchQueue('x', exp, cfg({ max_batch_size: 10, scheduled_delay_ms: 20 }), t);
  for (const e of events(25)) q.push(e);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(exp.batches, [10, 10, 5]);
  assert.deepEqual(accounting(t, q), { accepted: 25, sent: 25, dropped: 0, queued: 0, balanced: true });
  await q.shutdown();
});

test('a full queue drops the newest events and counts them as queue_full', async () => {
  const t = testTelemetry();
  let release!: () => void;
  const gate = new Promise<ExportResult>((r) => (release = () => r({ code: 'success' })));
  const exp = new ScriptedExporter([() => gate]);
  const q = new BatchQueue('x', exp, cfg({ max_queue_size: 50, max_batch_size: 10, scheduled_delay_ms: 1 }), t);
  for (const e of events(10)) q.push(e); // first batch goes out and blocks
  await new Promise((r) => setTimeout(r, 10));
  for (const e of events(70)) q.push(e); // 50 fit, 20 dropped
  assert.equal(t.eventsDropped.get({ component: 'x', reason: 'queue_full' }), 20);
  release();
  await q.flush();
  assert.deepEqual(accounting(t, q), { accepted: 80, sent: 60, dropped: 20, queued: 0, balanced: true });
  await q.shutdown();
});

test('retryable outcomes are retried with back-off; permanent failures drop the batch', async () => {
  const t = testTelemetry();
  const exp = new ScriptedExporter([
    () => ({ code: 'retryable', error: 'UNAVAILABLE' }),
    () => ({ code: 'retryable', error: 'UNAVAILABLE' }),
    () => ({ code: 'success' }),
    () => ({ code: 'failure', error: 'INVALID_ARGUMENT' }),
  ]);
  const q = new BatchQueue(
    'x',
    exp,
    cfg({ max_batch_size: 5, scheduled_delay_ms: 1, retry: { initial_interval_ms: 5, max_interval_ms: 10 } }),
    t,
  );
  for (const e of events(5)) q.push(e);
  await q.flush();
  for (const e of events(5)) q.push(e);
  await q.flush();
  assert.deepEqual(exp.batches, [5, 5, 5, 5]);
  assert.equal(t.exportErrors.get({ exporter: 'x', outcome: 'retryable' }), 2);
  assert.equal(t.exportErrors.get({ exporter: 'x', outcome: 'failure' }), 1);
  assert.equal(t.eventsDropped.get({ component: 'x', reason: 'export_failed' }), 5);
  assert.deepEqual(accounting(t, q), { accepted: 10, sent: 5, dropped: 5, queued: 0, balanced: true });
  await q.shutdown();
});

test('retries stop after max_elapsed_ms and the batch is counted as export_failed', async () => {
  const t = testTelemetry();
  const exp = new ScriptedExporter(
    Array.from({ length: 100 }, () => () => ({ code: 'retryable' as const, error: 'down' })),
  );
  const q = new BatchQueue(
    'x',
    exp,
    cfg({
      max_batch_size: 3,
      scheduled_delay_ms: 1,
      retry: { initial_interval_ms: 5, max_interval_ms: 5, max_elapsed_ms: 40 },
    }),
    t,
  );
  for (const e of events(3)) q.push(e);
  await q.flush();
  assert.ok(exp.batches.length >= 3 && exp.batches.length <= 12, `attempts: ${exp.batches.length}`);
  assert.equal(t.eventsDropped.get({ component: 'x', reason: 'export_failed' }), 3);
  await q.shutdown();
});

test('an exporter that throws is treated as a failure, not a crash', async () => {
  const t = testTelemetry();
  const exp = new ScriptedExporter([() => Promise.reject(new Error('boom'))]);
  const q = new BatchQueue('x', exp, cfg({ scheduled_delay_ms: 1 }), t);
  for (const e of events(2)) q.push(e);
  await q.flush();
  assert.equal(t.eventsDropped.get({ component: 'x', reason: 'export_failed' }), 2);
  await q.shutdown();
});

test('shutdown flushes within its deadline, counts the rest as shutdown, is safe twice', async () => {
  const t = testTelemetry();
  const exp = new ScriptedExporter([() => new Promise<ExportResult>(() => undefined)]); // first export hangs forever
  const q = new BatchQueue(
    'x',
    exp,
    cfg({
      max_batch_size: 10,
      scheduled_delay_ms: 1,
      export_timeout_ms: 60,
      shutdown_timeout_ms: 300,
      retry: { enabled: false },
    }),
    t,
  );
  for (const e of events(30)) q.push(e);
  await new Promise((r) => setTimeout(r, 5));
  const started = Date.now();
  await q.shutdown();
  await q.shutdown();
  assert.ok(Date.now() - started < 1000);
  // first batch timed out (retry disabled → export_failed), the other 20 were sent during shutdown
  assert.equal(t.eventsDropped.get({ component: 'x', reason: 'export_failed' }), 10);
  assert.equal(t.eventsSent.get({ exporter: 'x' }), 20);
  q.push(events(1)[0]!);
  assert.equal(t.eventsDropped.get({ component: 'x', reason: 'shutdown' }), 1);
  assert.deepEqual(accounting(t, q), { accepted: 31, sent: 20, dropped: 11, queued: 0, balanced: true });
});

test('shutdown before any event is a no-op', async () => {
  const q = new BatchQueue('x', new ScriptedExporter(), cfg(), testTelemetry());
  await q.shutdown();
  await q.shutdown();
});

test('a partly delivered batch counts what got through as sent and only the rest as dropped', async () => {
  const t = testTelemetry();
  const exp = new ScriptedExporter([() => ({ code: 'failure', error: '2 records too large', delivered: 8 })]);
  const q = new BatchQueue('x', exp, cfg({ max_batch_size: 10, scheduled_delay_ms: 1 }), t);
  for (const e of events(10)) q.push(e);
  await q.flush();
  assert.deepEqual(accounting(t, q), { accepted: 10, sent: 8, dropped: 2, queued: 0, balanced: true });
  await q.shutdown();
});

test('num_consumers: that many batches are exported at once, and no more; every event accounted for', async () => {
  for (const consumers of [1, 3]) {
    const t = testTelemetry();
    let inFlight = 0;
    let most = 0;
    const gates: (() => void)[] = [];
    const exp = new ScriptedExporter(
      Array.from({ length: 6 }, () => async (): Promise<ExportResult> => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise<void>((r) => gates.push(r));
        inFlight--;
        return { code: 'success' };
      }),
    );
    const q = new BatchQueue('x', exp, cfg({ max_batch_size: 10, scheduled_delay_ms: 5, num_consumers: consumers }), t);
    for (const e of events(55)) q.push(e);
    // release exports one by one as they start, until all 6 batches went out
    for (let released = 0; released < 6; released++) {
      for (let i = 0; i < 200 && gates.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(gates.length > 0, `export ${released + 1} started`);
      if (released === 0) await new Promise((r) => setTimeout(r, 30));
      gates.shift()!();
    }
    await q.flush();
    assert.equal(most, consumers, `${consumers} consumer(s): at most ${most} in flight`);
    assert.deepEqual(exp.batches, [10, 10, 10, 10, 10, 5]);
    assert.deepEqual(accounting(t, q), { accepted: 55, sent: 55, dropped: 0, queued: 0, balanced: true });
    await q.shutdown();
  }
});
