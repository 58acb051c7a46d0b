/**
 * Fault: the kernel loses events, for real. The soconnect probe runs under
 * real bpftrace through a Service (the daemon's path: supervisor, probe
 * input, pipeline, exporter queue) with the smallest perf buffer netspan
 * allows (perf_rb_pages: 8) and an in-kernel comm filter, so only this test's
 * fixture makes events. bpftrace is SIGSTOPped, a fixture pinned to one CPU
 * makes N connects to a closed port on 127.0.0.1 (one soconnect record each),
 * bpftrace gets SIGCONT and reads what fit. The kernel reports what it could
 * not store with the next record written to that CPU's buffer, so a canary
 * connect from the same CPU follows. Then delivered + lost = N exactly, both
 * above 0, and the lost count is the sum of bpftrace's "Lost N events" lines
 * (the --record copy), netspan_events_lost_total and the warning log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { formatPrometheus } from '../../src/health/prometheus.js';
import { hostContext } from '../../src/host/context.js';
import { repoRoot } from '../../src/paths.js';
import { Service } from '../../src/service/service.js';
import { Telemetry } from '../../src/telemetry/internal-events.js';
import { captureConfig, captureRegistry, delivered } from '../helpers/capture-registry.js';
import { capturingLogger, exporterIdle, sleep, until } from '../helpers/faults.js';
import { freePort } from '../helpers/k8s-api-server.js';

/** Connects made while bpftrace is stopped: far more than fit in 8 pages (32 KiB; 186 records of this probe). */
const N = 2000;
/** The CPU the fixture runs on: the first this process may use. */
const CPU = Number(/^Cpus_allowed_list:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
const COMM = `nslost${process.pid % 100_000}`;
const fixture = join(repoRoot(), 'test/fixtures/connect-burst.py');

const cfg = `
probes: { soconnect: { perf_rb_pages: 8, filter: { comms: [${COMM}] } } }
exporters: { capture/l: { queue: { scheduled_delay_ms: 20 } } }
pipelines: { p: { probes: [soconnect], exporters: [capture/l] } }
`;

interface Burst {
  pid: number;
  attempts: number;
  results: Record<string, number>;
}

/** `count` connects to 127.0.0.1:port from a fixture pinned to CPU with comm COMM. */
async function burst(port: number, count: number): Promise<Burst> {
  const r = await execa('python3', [fixture, '127.0.0.1', String(port), String(count), String(CPU), COMM], {
    timeout: 30_000,
  });
  return JSON.parse(r.stdout) as Burst;
}

/** The one bpftrace child of this process (from /proc/self/task/TID/children). */
function bpftracePid(): number {
  const pids: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    for (const p of readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ').filter(Boolean)) {
      if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'bpftrace') pids.push(Number(p));
    }
  }
  assert.equal(pids.length, 1, `bpftrace children: ${pids.join(', ')}`);
  return pids[0]!;
}

/** A process's state letter from /proc/PID/stat: R, S, T (stopped), ... */
function procState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.charAt(stat.lastIndexOf(')') + 2);
}

void test(
  'kernel perf buffer overflow (real bpftrace, stopped): delivered + lost = the N connects made, lost counted',
  { timeout: 120_000 },
  async (tc) => {
    assert.equal(process.getuid?.(), 0, 'this test runs bpftrace: it must run as root');
    delivered.clear();
    const { logger, lines } = capturingLogger();
    const t = new Telemetry(logger);
    const svc = new Service({ config: captureConfig(cfg), registry: captureRegistry, telemetry: t, logger, env: {} });
    const dir = await mkdtemp(join(tmpdir(), 'netspan-lost-'));
    const record = join(dir, 'rec.txt');
    const port = await freePort(); // closed: every connect is refused
    const events = () => delivered.get('capture/l') ?? [];
    const of = (pid: number) => events().filter((e) => e.pid === pid);
    const lost = () => t.eventsLost.get({ probe: 'soconnect' });
    /** One fixture connect after the other until `cond` holds (at most 50). */
    const canaryUntil = async (cond: () => boolean, what: string): Promise<void> => {
      let runs = 0;
      for (; runs < 50 && !cond(); runs++) {
        assert.deepEqual((await burst(port, 1)).results, { ECONNREFUSED: 1 });
        await sleep(100);
      }
      assert.ok(cond(), `${what}, after ${runs} canary connects`);
    };
    let b: Burst | undefined;
    let stopped = false;
    try {
      const report = await svc.startLive(await hostContext(), { record });
      assert.deepEqual(report, { attached: ['soconnect'], failed: [] });
      await canaryUntil(() => events().length > 0, 'the probe reports the fixture'); // attached for real
      await until(
        () => exporterIdle(t, 'capture/l', svc.graph.queues.get('capture/l')!),
        5_000,
        'the canaries delivered',
      );
      const bpftrace = bpftracePid();

      svc.supervisor('soconnect')!.kill('SIGSTOP');
      stopped = true;
      await until(() => procState(bpftrace) === 'T', 5_000, 'bpftrace stopped');
      b = await burst(port, N);
      assert.deepEqual({ attempts: b.attempts, results: b.results }, { attempts: N, results: { ECONNREFUSED: N } });
      assert.equal(procState(bpftrace), 'T', 'bpftrace stayed stopped during the burst');
      assert.equal(lost(), 0, 'nothing reported lost before bpftrace reads again');
      svc.supervisor('soconnect')!.kill('SIGCONT');
      stopped = false;

      // bpftrace reads what the buffer held; once that stops growing the buffer has room again
      const burstPid = b.pid;
      await until(() => of(burstPid).length > 0, 10_000, 'the events that fit in the buffer');
      let seen = -1;
      for (let i = 0; i < 100 && t.linesReceived.get({ probe: 'soconnect' }) !== seen; i++) {
        seen = t.linesReceived.get({ probe: 'soconnect' });
        await sleep(300);
      }
      // the kernel's lost-record goes out with the next record on that CPU: a canary, which is delivered
      const canaryEvents = events().length - of(burstPid).length;
      await canaryUntil(
        () => lost() > 0 && events().length - of(burstPid).length > canaryEvents,
        'bpftrace reports lost events and the canary after them',
      );
      await until(
        () => exporterIdle(t, 'capture/l', svc.graph.queues.get('capture/l')!),
        5_000,
        'all events delivered',
      );
      assert.equal(t.probeRestarts.sum(), 0, 'SIGSTOP/SIGCONT did not restart bpftrace');
    } finally {
      if (stopped) svc.supervisor('soconnect')?.kill('SIGCONT');
      await svc.stop();
    }
    const recorded = (await readFile(record, 'latin1')).split('\n').slice(1, -1);
    await rm(dir, { recursive: true, force: true });

    const mine = of(b.pid);
    const lostCount = lost();
    const ctx = `delivered ${mine.length}, lost ${lostCount}, N ${N}`;
    tc.diagnostic(ctx);
    assert.ok(mine.length > 0, `some events delivered: ${ctx}`);
    assert.ok(lostCount > 0, `some events lost: ${ctx}`);
    assert.equal(mine.length + lostCount, N, `delivered + lost = N: ${ctx}`);
    assert.deepEqual(
      mine.filter((e) => !(e.type === 'soconnect' && e.dport === port && e.result === 'ECONNREFUSED')).length,
      0,
      'every delivered event is one of the refused connects',
    );
    assert.equal(new Set(mine.map((e) => e.timeUnixNano)).size, mine.length, 'no event twice');

    // What bpftrace printed, as netspan recorded it: "Lost N events" lines adding up to the counter.
    const lostLines = recorded.filter((l) => l.startsWith('soconnect\tLost '));
    assert.ok(lostLines.length > 0, 'bpftrace printed "Lost N events"');
    const printed = lostLines.reduce((a, l) => a + Number(/^soconnect\tLost (\d+) events$/.exec(l)![1]), 0);
    assert.equal(printed, lostCount, `bpftrace printed ${lostLines.join(' | ')}`);

    // netspan's own accounting: lost in its metric and its warning; every other line an event, no errors.
    assert.ok(
      formatPrometheus(t.metrics.collect())
        .split('\n')
        .includes(`netspan_events_lost_total{probe="soconnect"} ${lostCount}`),
      'netspan_events_lost_total in /metrics',
    );
    t.rl.flush();
    const warned = lines.filter((l) => String(l.msg).startsWith('Kernel lost events'));
    assert.equal(
      warned.reduce((a, l) => a + (l.count as number), 0),
      lostCount,
      'the lost-events warnings count them',
    );
    assert.equal(t.parseErrors.sum(), 0);
    assert.equal(t.eventsReceived.get({ probe: 'soconnect' }), events().length);
    assert.equal(t.eventsSent.get({ exporter: 'capture/l' }), events().length);
    assert.equal(t.eventsDropped.sum(), 0);
  },
);
