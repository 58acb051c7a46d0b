/**
 * Fault: bpftrace missing, or failing for one probe only. `bin/netspan run`
 * with no usable bpftrace exits non-zero with a diagnosis; with a bpftrace
 * that fails only for tcpretrans, soconnect keeps running and delivering,
 * and tcpretrans's diagnosis is logged (once: rate-limited), with its retries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/paths.js';
import { runNetspan } from '../helpers/cli.js';
import { connectOnce, connects, loopbackServer, sleep, until } from '../helpers/faults.js';

const config = `
probes: { soconnect: {}, tcpretrans: {} }
exporters: { stdout: { format: json, queue: { scheduled_delay_ms: 20 } } }
pipelines: { p: { probes: [soconnect, tcpretrans], exporters: [stdout] } }
`;

void test(
  'NETSPAN_BPFTRACE=/nonexistent: exit 1 with a one-paragraph diagnosis per probe',
  { timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netspan-nobpf-'));
    try {
      await writeFile(join(dir, 'netspan.yaml'), config);
      const run = runNetspan(['run', '--config', join(dir, 'netspan.yaml')], { NETSPAN_BPFTRACE: '/nonexistent' });
      const r = await run.done;
      assert.deepEqual(r, { exitCode: 1, signal: undefined });
      const text = run.logs.filter((l) => typeof l.text === 'string').map((l) => l.text);
      const why = (probe: string) =>
        `Probe ${probe} could not run: bpftrace is not installed or not on PATH (tried "/nonexistent"). Fix: run \`bash scripts/setup.sh\` (installs Debian's bpftrace), or set NETSPAN_BPFTRACE to its path.`;
      assert.deepEqual(text, [
        why('soconnect'),
        why('tcpretrans'),
        'netspan: no probe could start; run `netspan doctor` for details.',
      ]);
      assert.equal(run.stdoutLines(), 0);
      const stopped = run.logs.filter((l) => l.msg === 'netspan stopped');
      assert.equal(stopped.length, 1);
      assert.equal(stopped[0]!.events_received, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

void test(
  'bpftrace failing for one probe: the others keep running, its diagnosis is logged',
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netspan-onefail-'));
    const srv = await loopbackServer();
    const canary = await loopbackServer();
    try {
      await writeFile(join(dir, 'netspan.yaml'), config);
      const marker = 'tracepoint:tcp:tcp_retransmit_skb';
      const run = runNetspan(
        ['run', '--config', join(dir, 'netspan.yaml'), '--duration', '10'],
        {
          NETSPAN_BPFTRACE: join(repoRoot(), 'test/fixtures/failing-bpftrace.mjs'),
          NETSPAN_FAIL_MARKER: marker,
        },
        200_000,
      );
      await until(() => run.logs.some((l) => l.msg === 'netspan running'), 60_000, '"netspan running"');
      const running = run.logs.find((l) => l.msg === 'netspan running')!;
      assert.deepEqual(running.attached, ['soconnect']);
      assert.deepEqual(running.failed, ['tcpretrans']);
      const events = () =>
        run.firstLines
          .map((l) => JSON.parse(l) as { type: string; pid: number; dport: number })
          .filter((e) => e.type === 'soconnect' && e.pid === process.pid);
      for (let i = 0; i < 50 && !events().some((e) => e.dport === canary.port); i++) {
        await connectOnce(canary.port);
        await sleep(100);
      }
      assert.ok(
        events().some((e) => e.dport === canary.port),
        'soconnect reports connects',
      );
      await connects(srv.port, 20, 4);
      const r = await run.done;
      assert.deepEqual(r, { exitCode: 0, signal: undefined }, run.stderrText().slice(-3000));
      assert.ok(run.stdoutLines() < 200_000);
      assert.equal(
        events().filter((e) => e.dport === srv.port).length,
        20,
        'every connect after the failure was delivered',
      );
      const diagnosis =
        'Probe tcpretrans could not run: a kernel hook this probe needs is missing. Fix: mount tracefs (`mount -t tracefs nodev /sys/kernel/tracing`) and check the hook exists with `netspan doctor`. bpftrace said: stdin:1:1-30: ERROR: tracepoint not found: tracepoint:tcp:tcp_retransmit_skb';
      const diag = run.logs.filter((l) => l.probe === 'tcpretrans' && l.level === 50);
      assert.deepEqual(
        diag.filter((l) => l.suppressed === undefined).map((l) => l.msg),
        [diagnosis],
        'logged once (rate-limited), word for word',
      );
      // the retries held back are summed in one line per interval (10 s: the timer or the stop)
      const held = diag.filter((l) => l.suppressed !== undefined);
      assert.ok(held.length <= 2, `one summary line per interval: ${held.length}`);
      for (const l of held) assert.equal(l.msg, diagnosis);
      const restarts = run.logs.filter((l) => l.msg === 'bpftrace exited; restarting' && l.probe === 'tcpretrans');
      assert.ok(restarts.length >= 2, `tcpretrans retried with back-off: ${restarts.length}`);
      assert.deepEqual(
        restarts.slice(0, 3).map((l) => l.restart_in_ms),
        [1000, 2000, 4000].slice(0, Math.min(3, restarts.length)),
      );
      assert.equal(
        run.logs.filter((l) => l.msg === 'bpftrace exited; restarting' && l.probe === 'soconnect').length,
        0,
      );
      const s = run.logs.find((l) => l.msg === 'netspan stopped') as {
        events_received: number;
        events_sent: number;
        events_dropped: Record<string, number>;
        probe_restarts: number;
      };
      assert.equal(s.events_received, s.events_sent + Object.values(s.events_dropped).reduce((a, b) => a + b, 0));
      assert.equal(s.events_sent, run.stdoutLines());
      assert.equal(s.probe_restarts, restarts.length);
    } finally {
      await srv.close();
      await canary.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
