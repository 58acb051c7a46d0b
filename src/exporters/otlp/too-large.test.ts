import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup } from '../../../test/helpers/otlp-setup.js';
import { connectEvent } from '../../../test/helpers/events.js';

test(
  "a logs request over the collector's 4 MiB limit is cut before sending, every record delivered",
  { timeout: 60_000 },
  async () => {
    const s = await setup({ signals: { traces: false, logs: true, metrics: false } });
    try {
      // ~12 KiB of attributes per event: 500 events make a ~6 MiB logs request, over grpc's default 4 MiB.
      const big = 'x'.repeat(12 * 1024);
      const events = Array.from({ length: 500 }, (_, i) =>
        connectEvent({ sport: 10_000 + i, attributes: { 'process.command_line': big } }),
      );
      const r = await s.send(...events);
      assert.deepEqual(r, { code: 'success' });
      const got = s.server.allLogs().map((l) => l.log);
      assert.equal(got.length, 500);
      assert.deepEqual(
        got.map((l) => l.attributes.find((a) => a.key === 'network.local.port')?.value.intValue),
        events.map((e) => String(e.sport)),
        'every record once, in order',
      );
      assert.equal(s.server.logs.length, 2, 'two requests');
      const requests = s.telemetry.metrics.collect().find((m) => m.name === 'netspan_otlp_requests_total')!.series;
      assert.equal(requests.find((x) => x.labels.outcome === 'too_large')?.value ?? 0, 0, 'none rejected');
      assert.equal(requests.find((x) => x.labels.outcome === 'success')?.value, 2);
    } finally {
      await s.close();
    }
  },
);

test(
  'a collector with a lower limit than the exporter assumes: rejected requests are split and every record delivered',
  { timeout: 60_000 },
  async () => {
    // the exporter believes 64 MiB is fine; the collector (grpc default) says 4 MiB
    const s = await setup({ signals: { traces: false, logs: true, metrics: false } }, { maxRequestBytes: 64 << 20 });
    try {
      const big = 'x'.repeat(12 * 1024);
      const events = Array.from({ length: 500 }, (_, i) =>
        connectEvent({ sport: 10_000 + i, attributes: { 'process.command_line': big } }),
      );
      const r = await s.send(...events);
      assert.deepEqual(r, { code: 'success' });
      const got = s.server.allLogs().map((l) => l.log);
      assert.equal(got.length, 500);
      assert.deepEqual(
        got.map((l) => l.attributes.find((a) => a.key === 'network.local.port')?.value.intValue).sort(),
        events.map((e) => String(e.sport)).sort(),
      );
      const tooLarge = s.telemetry.metrics
        .collect()
        .find((m) => m.name === 'netspan_otlp_requests_total')!
        .series.find((x) => x.labels.outcome === 'too_large')!.value;
      assert.ok(tooLarge >= 1 && tooLarge <= 7, `oversized requests split: ${tooLarge}`);
    } finally {
      await s.close();
    }
  },
);

test(
  'a single record over the limit is a permanent failure, counted, not retried forever',
  { timeout: 60_000 },
  async () => {
    const s = await setup({ signals: { traces: false, logs: true, metrics: false } });
    try {
      const r = await s.send(connectEvent({ attributes: { 'process.command_line': 'y'.repeat(5 * 1024 * 1024) } }));
      assert.equal(r.code, 'failure');
      assert.match((r as { error: string }).error, /exceeds the collector's maximum message size/);
      assert.equal(s.server.allLogs().length, 0);
    } finally {
      await s.close();
    }
  },
);

test('log bodies carry the event without repeating its enrichment attributes', { timeout: 30_000 }, async () => {
  const s = await setup({ signals: { traces: false, logs: true, metrics: false } });
  try {
    await s.send(
      connectEvent({ dport: 8443, attributes: { 'k8s.pod.name': 'web-1', 'process.command_line': 'curl -s x' } }),
    );
    const [l] = s.server.allLogs();
    const body = l!.log.body.kvlistValue!.values.map((kv) => kv.key);
    assert.ok(body.includes('dport') && !body.includes('attributes'), `body keys: ${body.join(',')}`);
    assert.equal(l!.log.attributes.find((a) => a.key === 'process.command_line')?.value.stringValue, 'curl -s x');
    assert.equal(l!.resource.attributes.find((a) => a.key === 'k8s.pod.name')?.value.stringValue, 'web-1');
  } finally {
    await s.close();
  }
});
