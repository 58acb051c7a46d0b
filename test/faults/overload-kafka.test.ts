/**
 * Overload against a real exporter: the Kafka exporter producing to
 * librdkafka's mock cluster, made slow (every broker answers 50 ms late), fed
 * 10x what it can take. The queue stays bounded, the excess is counted as
 * queue_full and logged once per interval, the load falls and delivery goes
 * on with no restart, and what the topic holds is exactly what was counted as
 * sent: no event twice, none lost without a count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText } from '../../src/config/load.js';
import type { ParseResult, ProbeParser } from '../../src/core/parser.js';
import { ProbeInput } from '../../src/service/probe-input.js';
import { Service } from '../../src/service/service.js';
import { Telemetry } from '../../src/telemetry/internal-events.js';
import { connectEvent } from '../helpers/events.js';
import { fakeRegistry } from '../helpers/fake-registry.js';
import { capturingLogger, exporterIdle, sleep, until } from '../helpers/faults.js';
import { consumeAll, startMockCluster } from '../helpers/kafka-mock.js';

/** Line "<n>": a connect event numbered n (sport n mod 65536, dport n div 65536). */
class NumberedParser implements ProbeParser {
  push(line: string): ParseResult {
    const n = Number(line);
    return { kind: 'event', event: connectEvent({ sport: n % 65536, dport: Math.floor(n / 65536) }) };
  }
  flush(): ParseResult {
    return { kind: 'none' };
  }
}
const numberOf = (v: Buffer): number => {
  const o = JSON.parse(v.toString('utf8')) as { sport: number; dport: number };
  return o.dport * 65536 + o.sport;
};

test(
  '10x overload into a slow Kafka cluster: bounded, counted, logged once, recovers, topic holds exactly what was sent',
  { timeout: 90_000 },
  async (tc) => {
    const cluster = await startMockCluster(1, 10_000, 50);
    let stopService = (): Promise<void> => Promise.resolve();
    try {
      const r = loadConfigText(
        `probes: { soconnect: {} }
exporters:
  kafka:
    brokers: "${cluster.bootstrap}"
    topic: overload
    encoding: json
    queue: { max_queue_size: 1000, max_batch_size: 100, num_consumers: 1, scheduled_delay_ms: 5, shutdown_timeout_ms: 10000 }
pipelines: { p: { probes: [soconnect], exporters: [kafka] } }
`,
        'overload-kafka.yaml',
        fakeRegistry,
        {},
      );
      assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
      const { logger, lines } = capturingLogger('warn');
      const t = new Telemetry(logger, undefined, 60_000);
      const svc = new Service({ config: r.config, registry: fakeRegistry, telemetry: t, logger, env: {} });
      stopService = () => svc.stop();
      await svc.graph.start();
      const queue = svc.graph.queues.get('kafka')!;
      const input = new ProbeInput('soconnect', () => new NumberedParser(), svc, t);
      const sent = () => t.eventsSent.get({ exporter: 'kafka' });
      const full = () => t.eventsDropped.get({ component: 'kafka', reason: 'queue_full' });

      // Warm up (connection, metadata), then measure what it takes: 100 events per produce
      // round trip (>= 50 ms), at most ~2,000/s.
      let seq = 0;
      for (let i = 0; i < 200; i++) input.line(String(seq++));
      await until(() => sent() === 200, 10_000, 'the first 200 delivered');
      const t0 = Date.now();
      for (let i = 0; i < 400; i++) input.line(String(seq++));
      await until(() => sent() === 600, 10_000, 'the next 400 delivered');
      const sustainable = 400 / ((Date.now() - t0) / 1000);

      // 10x that for 2 s, paced by elapsed time (a slow timer on a busy machine does not lower the rate).
      const rate = Math.ceil(10 * sustainable);
      const heapBefore = process.memoryUsage().heapUsed;
      let maxQueue = 0;
      const from = seq;
      const start = Date.now();
      for (let elapsed = 0; elapsed < 2_000; elapsed = Date.now() - start) {
        const due = Math.min(Math.floor((rate * elapsed) / 1000), 2 * rate) - (seq - from);
        for (let i = 0; i < Math.min(due, 5_000); i++) input.line(String(seq++));
        maxQueue = Math.max(maxQueue, queue.size());
        await sleep(10);
      }
      const offered = seq - from;
      const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
      const delivered = sent() - 600;
      tc.diagnostic(
        `sustainable ~${Math.round(sustainable)}/s; offered ${offered} in 2 s; delivered ${delivered}; queue_full ${full()}; max queue ${maxQueue}; heap +${(heapGrowth / 1048576).toFixed(1)} MiB`,
      );
      assert.ok(offered >= 1.6 * rate, `offered ${offered} in 2 s at ${rate}/s`);
      assert.ok(delivered < offered / 3, `the cluster took ${delivered} of ${offered}: it really was overloaded`);
      assert.ok(maxQueue <= 1000, `queue bounded: ${maxQueue}`);
      assert.ok(heapGrowth < 64 * 1024 * 1024, `heap grew ${heapGrowth} bytes`);
      assert.ok(full() > offered / 2, `the excess dropped and counted: ${full()} of ${offered}`);
      const dropLogs = lines.filter((l) => l.msg === 'Events dropped');
      assert.equal(dropLogs.length, 1, 'one drop line per interval, not one per event');
      assert.equal(dropLogs[0]!.reason, 'queue_full');

      // The load falls: the backlog drains (every accepted event sent or dropped, nothing in
      // flight), then 300 more go through the export loop with no further drop.
      await until(() => exporterIdle(t, 'kafka', queue), 20_000, 'the backlog to drain');
      const fullAfter = full();
      const sentBefore = sent();
      for (let i = 0; i < 300; i++) input.line(String(seq++));
      await until(() => sent() >= sentBefore + 300, 10_000, 'delivery after the load fell');
      assert.equal(sent(), sentBefore + 300);
      assert.equal(full(), fullAfter, 'no drops once the load fell');

      await svc.stop();
      assert.equal(t.eventsReceived.get({ probe: 'soconnect' }), seq);
      assert.equal(t.eventsAccepted.get({ exporter: 'kafka' }), seq);
      assert.equal(sent() + t.eventsDropped.sum({ component: 'kafka' }), seq, 'sent + dropped = received');
      assert.equal(t.eventsDropped.sum({ component: 'kafka' }), full(), 'every drop was queue_full');

      // The topic: exactly the events counted as sent, each once; every event after the load fell is there.
      const records = await consumeAll(cluster.bootstrap, 'overload', 30_000);
      const numbers = records.map((rec) => numberOf(rec.value));
      assert.equal(numbers.length, sent(), 'records in the topic = events counted as sent');
      assert.equal(new Set(numbers).size, numbers.length, 'no event twice');
      const got = new Set(numbers);
      for (let n = seq - 300; n < seq; n++) assert.ok(got.has(n), `event ${n} (after the load fell) delivered`);
      for (let n = 0; n < 600; n++) assert.ok(got.has(n), `event ${n} (before the overload) delivered`);
    } finally {
      await stopService(); // safe twice: a failed assertion must not leave the exporter running
      await cluster.stop();
    }
  },
);
