/**
 * Fault: SIGTERM during a burst. `bin/netspan run` is stopped mid-stream
 * (replaying a big record, and live from a stand-in bpftrace that never stops
 * printing); it exits 0 within the shutdown grace period and its
 * "netspan stopped" line accounts for every event: received = sent + dropped,
 * and sent equals the JSON lines that reached stdout; what was queued at the
 * signal reaches stdout (no `stdout:shutdown` drops; the replay drops nothing
 * and delivers every event it read). The same with the
 * exporter's endpoint down (its batches retrying for minutes): the stop does
 * not wait for them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../src/paths.js';
import { runNetspan, type CliRun } from '../helpers/cli.js';
import { soconnectLines, writeSoconnectRecord } from '../helpers/records.js';
import { sleep, until } from '../helpers/faults.js';
import { freePort } from '../helpers/k8s-api-server.js';

const config = `
probes: { soconnect: {} }
exporters:
  stdout: { format: json, queue: { max_queue_size: 4000, max_batch_size: 256, shutdown_timeout_ms: 4000 } }
pipelines: { p: { probes: [soconnect], exporters: [stdout] } }
`;

function summaryOf(logs: Record<string, unknown>[]) {
  const s = logs.filter((l) => l.msg === 'netspan stopped');
  assert.equal(s.length, 1, 'exactly one "netspan stopped" line');
  const x = s[0]! as {
    events_received: number;
    events_sent: number;
    events_dropped: Record<string, number>;
    events_received_by_probe: Record<string, number>;
    kernel_lost: number;
    parse_errors: number;
    replay_lines?: number;
    replay_skipped?: number;
    interrupted?: boolean;
  };
  const dropped = Object.values(x.events_dropped).reduce((a, b) => a + b, 0);
  return { ...x, dropped };
}

/** SIGTERM to `run`, which must exit 0 within `withinMs`; returns its summaryOf(). */
async function terminate(run: CliRun, withinMs: number) {
  const t0 = Date.now();
  run.child.kill('SIGTERM');
  const r = await run.done;
  const took = Date.now() - t0;
  assert.deepEqual(r, { exitCode: 0, signal: undefined }, run.stderrText().slice(-2000));
  assert.ok(took < withinMs, `exit took ${took} ms`);
  return summaryOf(run.logs);
}

void test(
  'SIGTERM during --replay of a big record: exit 0 within the grace period, the queue flushed, every event read delivered',
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netspan-term-'));
    try {
      const n = 300_000;
      await writeSoconnectRecord(join(dir, 'rec.txt'), n);
      await writeFile(join(dir, 'netspan.yaml'), config);
      const run = runNetspan(['run', '--config', join(dir, 'netspan.yaml'), '--replay', join(dir, 'rec.txt')]);
      await until(() => run.stdoutLines() >= 1000, 30_000, 'the first events on stdout');
      const s = await terminate(run, 4000 + 3000);
      assert.equal(s.interrupted, true);
      assert.ok(s.events_received > 0 && s.events_received < n, `interrupted mid-stream: ${s.events_received} of ${n}`);
      assert.equal(s.events_received, s.events_sent + s.dropped, JSON.stringify(s));
      // Replay waits for queue space, so nothing is dropped at all: what was read when the
      // signal came was flushed to stdout within the grace period, not dropped at shutdown.
      assert.deepEqual(s.events_dropped, {}, 'no drops (shutdown or otherwise)');
      assert.equal(s.events_sent, s.events_received, 'every event read was delivered');
      assert.equal(s.events_sent, run.stdoutLines(), 'sent = JSON lines on stdout');
      assert.equal(s.replay_lines, s.events_received, 'each replayed line made one event');
      assert.equal(s.replay_skipped, 0);
      assert.equal(s.parse_errors, 0);
      assert.equal(s.kernel_lost, 0);
      assert.deepEqual(s.events_received_by_probe, { soconnect: s.events_received });
      assert.equal((JSON.parse(run.firstLines[0]!) as { type: string }).type, 'soconnect');
      assert.ok(run.logs.some((l) => l.msg === 'stopping: flushing exporters' && l.reason === 'SIGTERM'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

void test(
  'SIGTERM while live bpftrace output never stops: exit 0 within the grace period, the queue flushed (no shutdown drops), every event accounted for',
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netspan-term-'));
    try {
      await writeFile(join(dir, 'out.txt'), (await soconnectLines()).join('\n') + '\n', 'latin1');
      await writeFile(join(dir, 'netspan.yaml'), config);
      const run = runNetspan(['run', '--config', join(dir, 'netspan.yaml')], {
        NETSPAN_BPFTRACE: join(repoRoot(), 'test/fixtures/scripted-bpftrace.mjs'),
        NETSPAN_FAKE_OUTPUT: join(dir, 'out.txt'),
        NETSPAN_FAKE_REPEAT: '0',
      });
      await until(() => run.stdoutLines() >= 5000, 30_000, 'a burst of events on stdout');
      await sleep(200);
      const s = await terminate(run, 3000 + 4000 + 3000);
      assert.ok(s.events_received >= 5000);
      assert.equal(s.events_received, s.events_sent + s.dropped, JSON.stringify(s));
      assert.equal(s.events_sent, run.stdoutLines(), 'sent = JSON lines on stdout');
      assert.equal(s.parse_errors, 0);
      assert.equal(s.kernel_lost, 0);
      // The stand-in can print faster than stdout drains, so a full queue may refuse events
      // (queue_full) before the signal; what was queued at the stop was flushed, not dropped.
      assert.deepEqual(
        Object.keys(s.events_dropped).filter((k) => k !== 'stdout:queue_full'),
        [],
        `only queue_full drops, none at shutdown: ${JSON.stringify(s.events_dropped)}`,
      );
      assert.ok(run.logs.some((l) => l.msg === 'stopping: flushing exporters' && l.reason === 'SIGTERM'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

for (const mode of ['replay', 'live'] as const) {
  void test(
    `SIGTERM during ${mode === 'replay' ? '--replay' : 'live output'} while the OTLP endpoint is down and batches are being retried: exit 0 within the grace period, every event counted as dropped`,
    { timeout: 120_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'netspan-term-'));
      try {
        const port = await freePort();
        await writeFile(
          join(dir, 'netspan.yaml'),
          `
probes: { soconnect: {} }
exporters:
  otlp:
    endpoint: "http://127.0.0.1:${port}"
    signals: { traces: false, metrics: false, logs: true }
    queue: { max_queue_size: 4000, max_batch_size: 256, shutdown_timeout_ms: 2000, retry: { max_elapsed_ms: 600000 } }
pipelines: { p: { probes: [soconnect], exporters: [otlp] } }
`,
        );
        let run;
        if (mode === 'replay') {
          await writeSoconnectRecord(join(dir, 'rec.txt'), 50_000);
          run = runNetspan(['run', '--config', join(dir, 'netspan.yaml'), '--replay', join(dir, 'rec.txt')]);
        } else {
          await writeFile(join(dir, 'out.txt'), (await soconnectLines()).join('\n') + '\n', 'latin1');
          run = runNetspan(['run', '--config', join(dir, 'netspan.yaml')], {
            NETSPAN_BPFTRACE: join(repoRoot(), 'test/fixtures/scripted-bpftrace.mjs'),
            NETSPAN_FAKE_OUTPUT: join(dir, 'out.txt'),
            NETSPAN_FAKE_REPEAT: '0',
          });
        }
        const failing = (): boolean => run.logs.some((l) => l.msg === 'Export attempt failed');
        await until(failing, 30_000, 'a failed export attempt');
        // a few retries later (back-off 0.5 s, 1 s, 2 s...): batches are in flight and queued
        await sleep(2000);
        const s = await terminate(run, 2000 + 3000);
        if (mode === 'replay') assert.equal(s.interrupted, true);
        assert.ok(s.events_received >= 256, `events received: ${s.events_received}`);
        assert.equal(s.events_sent, 0);
        assert.equal(s.events_received, s.dropped, JSON.stringify(s));
        // what was queued or being retried at the stop is dropped with reason shutdown
        assert.ok((s.events_dropped['otlp:shutdown'] ?? 0) >= 256, JSON.stringify(s.events_dropped));
        assert.deepEqual(
          Object.keys(s.events_dropped).filter((k) => !k.startsWith('otlp:')),
          [],
        );
        assert.equal(s.parse_errors, 0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
}
