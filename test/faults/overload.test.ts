/**
 * Overload: events arrive at ~10x what the exporter can take. Memory stays
 * bounded (the queue never exceeds its size), the excess is dropped and
 * counted as queue_full, the drop is logged once per interval (not per
 * event), the counters add up, and once the load falls the pipeline delivers
 * again without a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { loadConfigText } from '../../src/config/load.js';
import { queueConfigSchema } from '../../src/pipeline/batch-queue.js';
import type { ExporterFactory } from '../../src/pipeline/component.js';
import type { Registry } from '../../src/registry.js';
import { ProbeInput } from '../../src/service/probe-input.js';
import { Service } from '../../src/service/service.js';
import { Telemetry } from '../../src/telemetry/internal-events.js';
import { fakeRegistry } from '../helpers/fake-registry.js';
import { connectEvent } from '../helpers/events.js';
import type { ParseResult, ProbeParser } from '../../src/core/parser.js';
import { capturingLogger, exporterIdle, until } from '../helpers/faults.js';

const slowSchema = z.strictObject({ queue: queueConfigSchema, batch_ms: z.int().default(20) }).prefault({});
let delivered = 0;
const slowFactory: ExporterFactory<typeof slowSchema> = {
  type: 'slow',
  configSchema: slowSchema,
  create: (cfg) => ({
    start: async () => undefined,
    shutdown: async () => undefined,
    export: async (batch) => {
      await new Promise((r) => setTimeout(r, cfg.batch_ms));
      delivered += batch.length;
      return { code: 'success' };
    },
  }),
};
/** Each line "<n>" is a connect event with sport n. */
class PortParser implements ProbeParser {
  push(line: string): ParseResult {
    return { kind: 'event', event: connectEvent({ sport: Number(line) }) };
  }
  flush(): ParseResult {
    return { kind: 'none' };
  }
}

const registry: Registry = {
  ...fakeRegistry,
  exporters: new Map([...fakeRegistry.exporters, ['slow', slowFactory]]),
};

test(
  '10x overload: bounded queue, counted drops, one log line per interval, recovery without restart',
  { timeout: 60_000 },
  async () => {
    const r = loadConfigText(
      `probes: { soconnect: {} }
exporters: { slow: { batch_ms: 20, queue: { max_queue_size: 2000, max_batch_size: 100, scheduled_delay_ms: 5, shutdown_timeout_ms: 5000 } } }
pipelines: { p: { probes: [soconnect], exporters: [slow] } }
`,
      'overload.yaml',
      registry,
      {},
    );
    assert.ok(r.ok);
    const { logger, lines } = capturingLogger('warn');
    const t = new Telemetry(logger, undefined, 60_000);
    const svc = new Service({ config: r.config, registry, telemetry: t, logger, env: {} });
    try {
      await svc.graph.start();
      const queue = svc.graph.queues.get('slow')!;
      const input = new ProbeInput('soconnect', () => new PortParser(), svc, t);

      // Sustainable: ~100 events / 20 ms = 5,000/s. Offered: 50,000/s for 2 s.
      delivered = 0;
      const heapBefore = process.memoryUsage().heapUsed;
      let maxQueue = 0;
      let seq = 0;
      const end = Date.now() + 2000;
      while (Date.now() < end) {
        for (let i = 0; i < 500; i++) input.line(String(seq++ % 65536));
        maxQueue = Math.max(maxQueue, queue.size());
        await new Promise((res) => setTimeout(res, 10));
      }
      const offered = seq;
      // the reorder stage (service/reorder.ts) releases what it still holds within its window (10 ms)
      await new Promise((res) => setTimeout(res, 100));
      const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
      assert.ok(maxQueue <= 2000, `queue bounded: ${maxQueue}`);
      assert.ok(heapGrowth < 64 * 1024 * 1024, `heap grew ${heapGrowth} bytes`);
      const dropped = t.eventsDropped.get({ component: 'slow', reason: 'queue_full' });
      assert.ok(dropped > offered / 2, `most of the excess dropped and counted: ${dropped} of ${offered}`);
      const dropLogs = lines.filter((l) => l.msg === 'Events dropped');
      assert.equal(dropLogs.length, 1, 'one drop log line per interval, not one per event');
      assert.equal(dropLogs[0]!.reason, 'queue_full');

      // Load falls: the queue drains, then new events are delivered again.
      await until(() => exporterIdle(t, 'slow', queue), 20_000, 'queue to drain');
      const sentBefore = t.eventsSent.get({ exporter: 'slow' });
      for (let i = 0; i < 100; i++) input.line(String(i));
      await until(() => t.eventsSent.get({ exporter: 'slow' }) >= sentBefore + 100, 10_000, 'recovery');
      assert.equal(t.eventsSent.get({ exporter: 'slow' }), sentBefore + 100);
      assert.equal(
        t.eventsDropped.get({ component: 'slow', reason: 'queue_full' }),
        dropped,
        'no drops after the load fell',
      );

      await svc.stop();
      const accepted = t.eventsAccepted.get({ exporter: 'slow' });
      assert.equal(accepted, offered + 100);
      assert.equal(
        accepted,
        t.eventsSent.get({ exporter: 'slow' }) + t.eventsDropped.sum({ component: 'slow' }),
        'counters add up',
      );
      assert.equal(delivered, t.eventsSent.get({ exporter: 'slow' }));
    } finally {
      await svc.stop(); // safe twice: a failed assertion must not leave the queue running
    }
  },
);
