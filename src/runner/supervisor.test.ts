import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import { silentLogger } from '../telemetry/log.js';
import { ProbeSupervisor, defaultSupervisorOptions, type SupervisorHandlers } from './supervisor.js';
import { LineSplitter } from './line-splitter.js';

const fake = join(repoRoot(), 'test/fixtures/fake-bpftrace.mjs');
const opts = {
  ...defaultSupervisorOptions,
  bpftrace: fake,
  backoffInitialMs: 50,
  backoffMaxMs: 200,
  stopTimeoutMs: 300,
};

function recorder() {
  const log = {
    starts: 0,
    lines: [] as string[],
    attached: 0,
    exits: [] as Parameters<SupervisorHandlers['onExit']>[0][],
  };
  const handlers: SupervisorHandlers = {
    onStart: () => void log.starts++,
    onLine: (l) => void log.lines.push(l),
    onOverlong: () => undefined,
    onAttached: () => void log.attached++,
    onExit: (i) => void log.exits.push(i),
  };
  return { log, handlers };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('streams lines, and restarts with exponential back-off when the process exits', async () => {
  const { log, handlers } = recorder();
  const sup = new ProbeSupervisor(
    'p',
    JSON.stringify({ lines: ['a\tb', 'c'], exit: 1 }),
    {},
    handlers,
    silentLogger(),
    opts,
  );
  sup.start();
  await until(() => log.exits.length >= 3);
  await sup.stop();
  assert.ok(log.starts >= 3);
  assert.deepEqual(log.lines.slice(0, 3), ['Attaching 1 probe...', 'a\tb', 'c']);
  assert.deepEqual(
    log.exits.slice(0, 3).map((e) => [e.description, e.restartInMs, e.diagnosis]),
    [
      ['exit code 1', 50, undefined],
      ['exit code 1', 100, undefined],
      ['exit code 1', 200, undefined],
    ],
  );
});

test('a process that never attaches gets a diagnosis naming the probe and the fix', async () => {
  const { log, handlers } = recorder();
  const spec = { banner: false, stderr: 'ERROR: Could not find tracepoint: nosuch:thing\n', exit: 1 };
  const sup = new ProbeSupervisor('skbdrop', JSON.stringify(spec), {}, handlers, silentLogger(), opts);
  sup.start();
  await until(() => log.exits.length >= 1);
  await sup.stop();
  assert.equal(log.attached, 0);
  assert.match(
    log.exits[0]!.diagnosis!,
    /^Probe skbdrop could not run: a kernel hook this probe needs is missing\. Fix: mount tracefs .* bpftrace said: ERROR: Could not find tracepoint: nosuch:thing$/,
  );
});

test('a missing bpftrace binary is explained', async () => {
  const { log, handlers } = recorder();
  const sup = new ProbeSupervisor('soconnect', '{}', {}, handlers, silentLogger(), {
    ...opts,
    bpftrace: '/nonexistent/bpftrace',
  });
  sup.start();
  await until(() => log.exits.length >= 1);
  await sup.stop();
  assert.match(log.exits[0]!.diagnosis!, /bpftrace is not installed or not on PATH/);
});

test('stop() sends SIGTERM, then SIGKILL to a process that ignores it; no restart; safe twice and before start', async () => {
  const idle = new ProbeSupervisor('p', '{}', {}, recorder().handlers, silentLogger(), opts);
  await idle.stop();
  const { log, handlers } = recorder();
  const sup = new ProbeSupervisor(
    'p',
    JSON.stringify({ hold: true, ignoreTerm: true }),
    {},
    handlers,
    silentLogger(),
    opts,
  );
  sup.start();
  await until(() => log.attached === 1);
  const t0 = Date.now();
  await sup.stop();
  await sup.stop();
  const took = Date.now() - t0;
  assert.ok(took >= 250 && took < 3000, `stop took ${took} ms`);
  assert.equal(log.exits.length, 1);
  assert.equal(log.exits[0]!.description, 'killed by SIGKILL');
  assert.equal(log.exits[0]!.restartInMs, undefined);
  assert.equal(log.starts, 1);
});

test('line splitter: chunk boundaries, CR-free lines, overlong lines skipped and reported', () => {
  const lines: string[] = [];
  const overlong: number[] = [];
  const s = new LineSplitter(
    (l) => lines.push(l),
    (n) => overlong.push(n),
    10,
  );
  s.push('ab');
  s.push('c\nde\n');
  s.push('0123456789ABCDEF'); // 16 chars without newline → overlong, skipped to its newline
  s.push('GHI\nok\n');
  s.push('0123456789abc\nx');
  s.end();
  assert.deepEqual(lines, ['abc', 'de', 'ok', 'x']);
  assert.deepEqual(overlong, [16, 13]);
});
