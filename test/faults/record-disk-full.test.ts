/**
 * Fault: the --record file's disk fills up. The live soconnect probe records
 * into a 64 KiB tmpfs while a burst of loopback connects overflows it:
 * recording stops with one counted error and one log line, and every event is
 * still delivered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { hostContext } from '../../src/host/context.js';
import { Service } from '../../src/service/service.js';
import { Telemetry } from '../../src/telemetry/internal-events.js';
import { captureConfig, captureRegistry, delivered } from '../helpers/capture-registry.js';
import { capturingLogger, connectOnce, connects, loopbackServer, sleep, until } from '../helpers/faults.js';

async function sh(cmd: string, args: string[]): Promise<void> {
  const r = await execa(cmd, args, { reject: false, timeout: 10_000, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.exitCode}: ${String(r.stderr)}`);
}

void test(
  '--record on a full disk: one counted error, one log line, events keep flowing',
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netspan-full-'));
    await sh('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    delivered.clear();
    const { logger, lines } = capturingLogger();
    const t = new Telemetry(logger);
    const cfg = `
probes: { soconnect: {} }
exporters: { capture/r: { queue: { scheduled_delay_ms: 20 } } }
pipelines: { p: { probes: [soconnect], exporters: [capture/r] } }
`;
    const svc = new Service({ config: captureConfig(cfg), registry: captureRegistry, telemetry: t, logger, env: {} });
    const srv = await loopbackServer();
    const canary = await loopbackServer();
    const mine = (port: number) =>
      (delivered.get('capture/r') ?? []).filter(
        (e) => e.type === 'soconnect' && e.pid === process.pid && e.dport === port,
      );
    const record = join(dir, 'rec.txt');
    const burst = 800; // ~130 bytes per recorded line: about 100 KiB, more than the 64 KiB disk
    try {
      const report = await svc.startLive(await hostContext(), { record });
      assert.deepEqual(report, { attached: ['soconnect'], failed: [] });
      for (let i = 0; i < 100 && mine(canary.port).length === 0; i++) {
        await connectOnce(canary.port);
        await sleep(100);
      }
      assert.ok(mine(canary.port).length > 0, 'the probe reports connects');

      await connects(srv.port, burst, 8);
      await until(() => mine(srv.port).length >= burst, 30_000, `${burst} events`);
      await until(() => t.recordErrors.sum() > 0, 10_000, 'the record error');
      // Recording has stopped, the probe has not: more connects still arrive.
      await connects(srv.port, 50, 5);
      await until(() => mine(srv.port).length >= burst + 50, 15_000, 'events after the disk filled');
      assert.equal(t.probeUp.get({ probe: 'soconnect' }), 1);
      assert.equal(t.probeRestarts.sum(), 0);
      const size = (await stat(record)).size;
      assert.ok(size > 0 && size <= 64 * 1024, `record file ${size} bytes`);
    } finally {
      await svc.stop();
      await srv.close();
      await canary.close();
      await sh('umount', [dir]).catch(() => sh('umount', ['-l', dir]));
      await rm(dir, { recursive: true, force: true });
    }
    assert.equal(mine(srv.port).length, burst + 50);
    assert.equal(t.recordErrors.sum(), 1);
    const errs = lines.filter((l) => String(l.msg).startsWith('Cannot write the --record file'));
    assert.equal(errs.length, 1, 'one error log, not one per line');
    assert.match(String(errs[0]!.error), /ENOSPC/);
    const all = delivered.get('capture/r')!;
    assert.equal(t.eventsReceived.get({ probe: 'soconnect' }), all.length);
    assert.equal(t.eventsAccepted.sum(), all.length);
    assert.equal(t.eventsSent.sum(), all.length);
    assert.equal(t.eventsDropped.sum(), 0);
    assert.equal(t.parseErrors.sum(), 0);
    assert.equal(t.eventsLost.sum(), 0);
  },
);
