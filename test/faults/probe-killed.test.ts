/**
 * Fault: the bpftrace child is SIGKILLed. The real soconnect probe runs
 * through a Service; connects on loopback before and after the kill are all
 * delivered, the restart and the gap are counted, and the counters add up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostContext } from '../../src/host/context.js';
import { registry } from '../../src/registry.js';
import { Service } from '../../src/service/service.js';
import { Telemetry } from '../../src/telemetry/internal-events.js';
import { captureConfig, captureRegistry, delivered } from '../helpers/capture-registry.js';
import {
  capturingLogger,
  connectOnce,
  connects,
  loopbackServer,
  sleep,
  until,
  type LoopbackServer,
} from '../helpers/faults.js';

const cfg = `
probes: { soconnect: {} }
exporters: { capture/k: { queue: { scheduled_delay_ms: 20 } } }
pipelines: { p: { probes: [soconnect], exporters: [capture/k] } }
`;

/** Connects to `canary` until the probe reports one (bpftrace prints its banner just before attaching). */
async function waitUntilSeeing(canary: LoopbackServer, seen: () => number): Promise<void> {
  const before = seen();
  for (let i = 0; i < 100 && seen() === before; i++) {
    await connectOnce(canary.port);
    await sleep(100);
  }
  assert.ok(seen() > before, 'the probe never reported a canary connect');
}

void test(
  'bpftrace SIGKILLed: one restart, gap counted, events before and after delivered, counters add up',
  { timeout: 120_000 },
  async () => {
    delivered.clear();
    const { logger, lines } = capturingLogger();
    const t = new Telemetry(logger);
    const svc = new Service({ config: captureConfig(cfg), registry: captureRegistry, telemetry: t, logger, env: {} });
    const dir = await mkdtemp(join(tmpdir(), 'netspan-kill-'));
    const record = join(dir, 'rec.txt');
    const srv = await loopbackServer();
    const canary = await loopbackServer();
    const mine = (port: number) =>
      (delivered.get('capture/k') ?? []).filter(
        (e) => e.type === 'soconnect' && e.pid === process.pid && e.dport === port,
      );
    const up = () => t.probeUp.get({ probe: 'soconnect' });
    const restarts = () => t.probeRestarts.get({ probe: 'soconnect' });
    let killedAt = 0;
    let backAt = 0;
    try {
      const report = await svc.startLive(await hostContext(), { record, supervisor: { backoffInitialMs: 500 } });
      assert.deepEqual(report, { attached: ['soconnect'], failed: [] });
      await waitUntilSeeing(canary, () => mine(canary.port).length);

      await connects(srv.port, 20);
      await until(() => mine(srv.port).length >= 20, 15_000, '20 events before the kill');

      killedAt = Date.now();
      svc.supervisor('soconnect')!.kill();
      await until(() => restarts() === 1, 10_000, 'the restart to be counted');
      assert.equal(up(), 0, 'probe_up is 0 while bpftrace is down');
      await until(() => up() === 1, 60_000, 'probe_up back to 1');
      backAt = Date.now();
      await waitUntilSeeing(canary, () => mine(canary.port).length);

      await connects(srv.port, 30);
      await until(() => mine(srv.port).length >= 50, 15_000, '30 events after the restart');
      await sleep(300);
    } finally {
      await svc.stop();
      await srv.close();
      await canary.close();
    }
    assert.equal(mine(srv.port).length, 50, 'exactly the 50 connects, no duplicates');
    assert.equal(new Set(mine(srv.port).map((e) => (e as { sport: number }).sport)).size, 50);
    assert.equal(restarts(), 1);
    assert.equal(up(), 0, 'probe_up is 0 after stop');
    const down = t.probeDownSeconds.get({ probe: 'soconnect' });
    assert.ok(
      down >= 0.5 && down <= (backAt - killedAt) / 1000 + 0.05,
      `down seconds ${down} within [0.5, ${(backAt - killedAt) / 1000}]`,
    );
    const restartLogs = lines.filter((l) => l.msg === 'bpftrace exited; restarting');
    assert.equal(restartLogs.length, 1);
    assert.equal(restartLogs[0]!.exit, 'killed by SIGKILL');
    assert.equal(restartLogs[0]!.restart_in_ms, 500);

    // Exporter accounting: received = sent + dropped + queued (queue empty after stop).
    const all = delivered.get('capture/k')!;
    assert.equal(t.eventsAccepted.get({ exporter: 'capture/k' }), all.length);
    assert.equal(t.eventsSent.get({ exporter: 'capture/k' }), all.length);
    assert.equal(t.eventsDropped.sum(), 0);
    assert.equal(t.queueDepth.get({ exporter: 'capture/k' }), 0);

    // Probe accounting: lines = events + parse errors + none-lines, checked against the --record copy.
    const recorded = (await readFile(record, 'latin1')).split('\n').slice(1, -1);
    assert.equal(t.linesReceived.get({ probe: 'soconnect' }), recorded.length);
    const parser = (await registry.probes.get('soconnect')!.definition.prepare(await hostContext())).createParser();
    const kinds = { event: 0, none: 0, error: 0, lost: 0 };
    for (const r of recorded) kinds[parser.push(r.slice(r.indexOf('\t') + 1)).kind]++;
    assert.equal(
      recorded.filter((r) => r.startsWith('soconnect\tAttaching ')).length,
      2,
      'two banners: two bpftrace processes',
    );
    assert.equal(kinds.error, 0);
    assert.equal(t.parseErrors.sum(), 0);
    assert.equal(kinds.lost, 0);
    assert.equal(t.eventsLost.sum(), 0);
    assert.equal(t.eventsReceived.get({ probe: 'soconnect' }), kinds.event);
    assert.equal(kinds.event, all.length);
    assert.equal(t.linesReceived.get({ probe: 'soconnect' }), kinds.event + kinds.error + kinds.none + kinds.lost);
    await rm(dir, { recursive: true, force: true });
  },
);
