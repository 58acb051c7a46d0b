/**
 * Fault: the exporter's endpoint is down for a while, then back. Through the
 * real BatchQueue: every event pushed is delivered exactly once or counted as
 * dropped (queue_full / export_failed / shutdown), and the sums are exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetEvent } from '../../src/core/event.js';
import { BatchQueue, queueConfigSchema } from '../../src/pipeline/batch-queue.js';
import type { Exporter, ExportResult } from '../../src/pipeline/component.js';
import { connectEvent } from '../helpers/events.js';
import { testTelemetry } from '../helpers/telemetry.js';
import { sleep, until } from '../helpers/faults.js';

/** An exporter whose endpoint is "down" (retryable errors, optionally slow) while `down` is true. */
class FlakyExporter implements Exporter {
  down = false;
  hangMs = 0;
  readonly got: NetEvent[] = [];
  attempts = 0;
  failures = 0;
  afterShutdown = 0;
  private isShutdown = false;
  start(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    this.isShutdown = true;
    return Promise.resolve();
  }
  async export(batch: readonly NetEvent[]): Promise<ExportResult> {
    this.attempts++;
    if (this.isShutdown) this.afterShutdown++;
    if (this.hangMs > 0) await sleep(this.hangMs);
    if (this.down) {
      this.failures++;
      return { code: 'retryable', error: 'connect ECONNREFUSED 127.0.0.1:4317' };
    }
    this.got.push(...batch);
    return { code: 'success' };
  }
}

const seqOf = (e: NetEvent): number => (e.type === 'soconnect' ? e.sport : -1);

void test(
  'endpoint down then back: delivered after recovery or counted as dropped, exact sums',
  { timeout: 60_000 },
  async () => {
    const t = testTelemetry();
    const exp = new FlakyExporter();
    const cfg = queueConfigSchema.parse({
      max_queue_size: 300,
      max_batch_size: 50,
      scheduled_delay_ms: 10,
      retry: { initial_interval_ms: 20, max_interval_ms: 80, max_elapsed_ms: 400 },
      shutdown_timeout_ms: 3_000,
    });
    const q = new BatchQueue('flaky', exp, cfg, t);
    const n = 3000;
    let pushed = 0;
    const push = (k: number) => {
      for (let i = 0; i < k; i++) q.push(connectEvent({ sport: pushed++ }));
    };
    // Up: 500 events. Down for 1.5 s: 1500 events at ~10 per 10 ms. Up again: the rest.
    while (pushed < 500) {
      push(10);
      await sleep(10);
    }
    await until(() => exp.got.length === 500, 5_000, 'the first 500 delivered');
    exp.down = true;
    const downAt = Date.now();
    while (pushed < 2000) {
      push(10);
      await sleep(10);
    }
    await sleep(Math.max(0, 1500 - (Date.now() - downAt)));
    exp.down = false;
    await until(() => q.size() === 0, 5_000, 'the backlog to drain after recovery');
    while (pushed < n) {
      push(10);
      await sleep(10);
    }
    await until(() => t.eventsSent.sum() + t.eventsDropped.sum() === n, 20_000, 'every event delivered or dropped');
    await q.shutdown();

    const sent = t.eventsSent.get({ exporter: 'flaky' });
    const queueFull = t.eventsDropped.get({ component: 'flaky', reason: 'queue_full' });
    const exportFailed = t.eventsDropped.get({ component: 'flaky', reason: 'export_failed' });
    const shutdown = t.eventsDropped.get({ component: 'flaky', reason: 'shutdown' });
    assert.equal(t.eventsAccepted.get({ exporter: 'flaky' }), n);
    assert.equal(
      sent + queueFull + exportFailed + shutdown,
      n,
      `sent ${sent} + queue_full ${queueFull} + export_failed ${exportFailed} + shutdown ${shutdown}`,
    );
    assert.equal(q.size(), 0);
    assert.equal(shutdown, 0);
    assert.ok(queueFull > 0, 'the outage filled the queue');
    assert.ok(exportFailed > 0, 'some batches gave up after max_elapsed_ms');
    // What the endpoint received is exactly what was counted as sent: no loss, no duplicates.
    assert.equal(exp.got.length, sent);
    const seqs = new Set(exp.got.map(seqOf));
    assert.equal(seqs.size, sent);
    // Everything pushed after recovery was delivered.
    for (let s = 2000; s < n; s++) assert.ok(seqs.has(s), `event ${s} (after recovery) delivered`);
    assert.ok(sent >= 1500, `at least 500 before + 1000 after, got ${sent}`);
    assert.equal(t.exportErrors.get({ exporter: 'flaky', outcome: 'retryable' }), exp.failures);
    assert.equal(exp.afterShutdown, 0);
  },
);

void test(
  'endpoint still down at shutdown: the batch in flight is counted once, nothing is exported after shutdown',
  { timeout: 30_000 },
  async () => {
    const t = testTelemetry();
    const exp = new FlakyExporter();
    exp.down = true;
    exp.hangMs = 30;
    const cfg = queueConfigSchema.parse({
      max_queue_size: 1000,
      max_batch_size: 100,
      scheduled_delay_ms: 10,
      retry: { initial_interval_ms: 50, max_interval_ms: 200, max_elapsed_ms: 20_000 },
      shutdown_timeout_ms: 500,
    });
    const q = new BatchQueue('down', exp, cfg, t);
    for (let i = 0; i < 250; i++) q.push(connectEvent({ sport: i }));
    await until(() => exp.attempts >= 2, 5_000, 'export attempts');
    const t0 = Date.now();
    await q.shutdown();
    const took = Date.now() - t0;
    assert.ok(took < 1_500, `shutdown took ${took} ms (timeout 500)`);
    const dropped = () => t.eventsDropped.sum({ component: 'down' });
    // Right after shutdown returns, every event is accounted for.
    assert.equal(t.eventsSent.sum() + dropped(), 250, `sent ${t.eventsSent.sum()} dropped ${dropped()}`);
    assert.equal(t.eventsDropped.get({ component: 'down', reason: 'shutdown' }), 250);
    assert.equal(q.size(), 0);
    await exp.shutdown();
    // ...and stays so: the abandoned retry loop neither exports again nor counts twice.
    const attempts = exp.attempts;
    await sleep(1_000);
    assert.equal(exp.afterShutdown, 0);
    assert.equal(exp.attempts, attempts);
    assert.equal(t.eventsSent.sum() + dropped(), 250);
  },
);
