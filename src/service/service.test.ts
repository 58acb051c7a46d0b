import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigText } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { MonotonicClock } from '../host/clock.js';
import { Service } from './service.js';
import { captured, fakeRegistry } from '../../test/helpers/fake-registry.js';
import { connectEvent } from '../../test/helpers/events.js';
import type { NetEvent } from '../core/event.js';
import { testTelemetry } from '../../test/helpers/telemetry.js';
import { silentLogger } from '../telemetry/log.js';
import { watchConfig } from '../cli/reload.js';

const host = { tracefs: '/sys/kernel/tracing', libcPath: 'libc.so.6', clock: new MonotonicClock(0n) };

function config(text: string): Config {
  const r = loadConfigText(text, 'test.yaml', fakeRegistry, {});
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

async function recordFile(lines: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'netspan-'));
  const f = join(dir, 'rec.txt');
  await writeFile(f, ['#netspan-record v1 clock_offset_ns=0', ...lines].join('\n') + '\n', 'latin1');
  return f;
}

/**
 * A service with one soconnect pipeline into the capture exporter `id`
 * (settings `exporter`, YAML), and a record file of n soconnect lines whose
 * sport is their index.
 */
async function soconnectReplay(id: string, exporter: string, n: number) {
  captured.clear();
  const t = testTelemetry();
  const cfg = config(`
probes: { soconnect: {} }
exporters: { ${id}: ${exporter} }
pipelines: { p: { probes: [soconnect], exporters: [${id}] } }
`);
  const svc = new Service({ config: cfg, registry: fakeRegistry, telemetry: t, logger: silentLogger(), env: {} });
  const file = await recordFile(Array.from({ length: n }, (_, i) => `soconnect\tE\t${i}`));
  return { t, svc, file };
}

const twoPipelines = `
probes: { soconnect: {}, tcpretrans: {} }
exporters: { capture/a: {}, capture/b: {} }
pipelines:
  one: { probes: [soconnect], exporters: [capture/a] }
  two: { probes: [soconnect, tcpretrans], exporters: [capture/b] }
`;

/** What the reload tests swap to: soconnect alone, into capture/c (tcpretrans goes away). */
const onePipeline = `
probes: { soconnect: {} }
exporters: { capture/c: {} }
pipelines: { three: { probes: [soconnect], exporters: [capture/c] } }
`;

/** A service running `twoPipelines` into the capture exporters. */
function twoPipelineService(t = testTelemetry()): Service {
  return new Service({
    config: config(twoPipelines),
    registry: fakeRegistry,
    telemetry: t,
    logger: silentLogger(),
    env: {},
  });
}

test('replay fans out to pipelines; garbage lines are counted; counters add up', async () => {
  captured.clear();
  const t = testTelemetry();
  const svc = twoPipelineService(t);
  const file = await recordFile([
    'soconnect\tE\t1',
    'tcpretrans\tE\t2',
    'soconnect\tgarbage',
    'udpconnect\tE\t3',
    'no-tab-line',
    'soconnect\tE\t4',
  ]);
  const stats = await svc.replay(file, host);
  await svc.stop();
  await svc.stop();
  assert.deepEqual(stats, { lines: 6, skipped: 2 });
  assert.deepEqual(
    captured.get('capture/a')!.map((e) => e.type === 'soconnect' && e.sport),
    [1, 4],
  );
  assert.deepEqual(
    captured.get('capture/b')!.map((e) => e.type === 'soconnect' && e.sport),
    [1, 2, 4],
  );
  assert.equal(t.eventsReceived.sum(), 3);
  assert.equal(t.parseErrors.get({ probe: 'soconnect', error_type: 'unknown_tag' }), 1);
  assert.equal(t.eventsAccepted.sum(), 5);
  assert.equal(t.eventsSent.sum(), 5);
  assert.equal(t.eventsDropped.sum(), 0);
});

test('replay waits for slow exporters instead of dropping (back-pressure)', async () => {
  const n = 20_000;
  const { t, svc, file } = await soconnectReplay(
    'capture/small',
    '{ queue: { max_queue_size: 100, max_batch_size: 10 } }',
    n,
  );
  await svc.replay(file, host);
  await svc.stop();
  assert.equal(captured.get('capture/small')!.length, n);
  assert.equal(t.eventsDropped.sum(), 0);
});

test('replay keeps only a few batches queued in front of a slow exporter, not the whole queue', async () => {
  const n = 30_000;
  const { t, svc, file } = await soconnectReplay(
    'capture/slow',
    '{ delay_ms: 2, queue: { max_queue_size: 20000, max_batch_size: 512 } }',
    n,
  );
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, svc.graph.backlog())), 1);
  await svc.replay(file, host);
  clearInterval(sampler);
  await svc.stop();
  assert.equal(captured.get('capture/slow')!.length, n);
  assert.deepEqual(
    captured.get('capture/slow')!.map((e) => e.type === 'soconnect' && e.sport),
    Array.from({ length: n }, (_, i) => i),
  );
  assert.equal(t.eventsDropped.sum(), 0);
  // eight batches (4,096 events); filling the queue's 20,000 would let every event outlive young-generation GCs
  assert.ok(peak > 0 && peak <= 4096, `peak backlog ${peak}`);
});

for (const size of [1, 2, 3]) {
  test(`replay into a queue of ${size} event(s) finishes without drops`, { timeout: 30_000 }, async () => {
    const n = 300;
    const { t, svc, file } = await soconnectReplay(
      'capture/tiny',
      `{ queue: { max_queue_size: ${size}, max_batch_size: 1 } }`,
      n,
    );
    await svc.replay(file, host);
    await svc.stop();
    assert.equal(captured.get('capture/tiny')!.length, n);
    assert.equal(t.eventsDropped.sum(), 0);
  });
}

test('a valid reload during replay loses and duplicates nothing; unchanged probes are kept', async () => {
  captured.clear();
  const t = testTelemetry();
  const svc = twoPipelineService(t);
  const n = 200_000;
  const file = await recordFile(Array.from({ length: n }, (_, i) => `soconnect\tE\t${i}`));
  const replaying = svc.replay(file, host);
  for (let i = 0; i < 10_000 && t.eventsReceived.sum() < 1000; i++) await new Promise((r) => setImmediate(r));
  const report = await svc.reload(config(onePipeline));
  await replaying;
  await svc.stop();
  assert.deepEqual(report, { started: [], stopped: ['tcpretrans'], kept: ['soconnect'] });
  const a = captured.get('capture/a')!.length;
  const c = captured.get('capture/c')!.length;
  assert.ok(a > 0 && c > 0, `both pipelines saw events: a=${a} c=${c}`);
  const seqs = [...captured.get('capture/a')!, ...captured.get('capture/c')!].map((e) =>
    e.type === 'soconnect' ? e.sport : -1,
  );
  assert.equal(seqs.length, n, 'no loss, no duplicates');
  assert.equal(new Set(seqs).size, n);
  assert.equal(t.eventsDropped.sum(), 0);
});

test('an invalid reload is logged and the running pipelines keep going', async () => {
  captured.clear();
  const dir = await mkdtemp(join(tmpdir(), 'netspan-'));
  const cfgFile = join(dir, 'netspan.yaml');
  await writeFile(cfgFile, twoPipelines);
  const t = testTelemetry();
  const svc = twoPipelineService(t);
  const reloader = watchConfig(cfgFile, svc, fakeRegistry, {}, silentLogger(), twoPipelines);
  await writeFile(cfgFile, 'pipelines:\n  broken: { probes: [nosuch], exporters: [capture/a] }\n');
  assert.equal(await reloader.reload('test'), false);
  const file = await recordFile(['soconnect\tE\t7']);
  await svc.replay(file, host);
  await svc.stop();
  reloader.close();
  assert.deepEqual(
    captured.get('capture/a')!.map((e) => e.type === 'soconnect' && e.sport),
    [7],
  );
  assert.deepEqual(
    captured.get('capture/b')!.map((e) => e.type === 'soconnect' && e.sport),
    [7],
  );
});

test('events of a probe that a reload removed, arriving after the swap, are counted as dropped (no_pipeline)', async () => {
  captured.clear();
  const t = testTelemetry();
  const svc = twoPipelineService(t);
  await svc.replay(await recordFile([]), host);
  const report = await svc.reload(config(onePipeline));
  assert.deepEqual(report.stopped, ['tcpretrans']);
  // a late line of the stopped bpftrace: its parser's event reaches the service after the swap
  svc.ingest('tcpretrans', connectEvent({ sport: 9 }));
  svc.ingest('soconnect', connectEvent({ sport: 10 }));
  await svc.stop();
  assert.equal(t.eventsDropped.get({ component: 'tcpretrans', reason: 'no_pipeline' }), 1);
  assert.equal(t.eventsDropped.sum(), 1);
  assert.deepEqual(
    captured.get('capture/c')!.map((e) => e.type === 'soconnect' && e.sport),
    [10],
  );
});

test('a reload that comes in while netspan stops is ignored: nothing new starts after stop()', async () => {
  captured.clear();
  const svc = twoPipelineService(testTelemetry());
  await svc.replay(await recordFile(['soconnect\tE\t1']), host);
  const graph = svc.graph;
  const stopping = svc.stop();
  const report = await svc.reload(config(onePipeline));
  await stopping;
  assert.deepEqual(report, { started: [], stopped: [], kept: [] });
  assert.equal(svc.graph, graph, 'the stopped graph stays current');
  assert.equal(captured.get('capture/c'), undefined, 'the new exporter was never made');
  assert.deepEqual(
    captured.get('capture/a')!.map((e) => e.type === 'soconnect' && e.sport),
    [1],
  );
});

for (const windowMs of [25, 0]) {
  test(`reorder window ${windowMs} ms: a connect read before the DNS lookup it used ${windowMs ? 'still gets' : 'misses'} server.address`, async () => {
    captured.clear();
    const svc = new Service({
      config: config(`
probes: { soconnect: {}, gethostlatency: {} }
processors: { peer: { kubernetes: false } }
exporters: { capture/peer: {} }
pipelines: { p: { probes: [soconnect, gethostlatency], processors: [peer], exporters: [capture/peer] } }
`),
      registry: fakeRegistry,
      telemetry: testTelemetry(),
      logger: silentLogger(),
      env: {},
      reorderWindowMs: windowMs,
    });
    await svc.graph.start();
    const t = BigInt(Date.now()) * 1_000_000n;
    // two bpftrace processes, two pipes: the connect's line is read first, its lookup's 300 µs later
    svc.ingest('soconnect', connectEvent({ timeUnixNano: t + 200_000n, pid: 42, daddr: '10.1.2.3', dport: 443 }));
    const dns: NetEvent = {
      type: 'gethostlatency',
      timeUnixNano: t,
      pid: 42,
      tid: 42,
      comm: 'curl',
      cgroupId: 1,
      func: 'getaddrinfo',
      latencyNs: 150_000,
      result: '0',
      host: 'payments.shop',
      addresses: ['10.1.2.3'],
    };
    svc.ingest('gethostlatency', dns);
    await svc.stop();
    const got = captured.get('capture/peer')!;
    assert.deepEqual(
      got.map((e) => e.type),
      windowMs ? ['gethostlatency', 'soconnect'] : ['soconnect', 'gethostlatency'],
    );
    const connect = got.find((e) => e.type === 'soconnect')!;
    assert.equal(connect.attributes?.['server.address'], windowMs ? 'payments.shop' : undefined);
  });
}
