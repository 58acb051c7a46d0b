import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, realpath, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../../paths.js';
import { connectEvent } from '../../../test/helpers/events.js';
import { skbdrop, tcpretrans } from '../../../test/helpers/more-events.js';
import { testContext } from '../../../test/helpers/enrich.js';
import { parseStat } from '../../enrich/proc-reader.js';
import { processConfigSchema } from './config.js';
import { processProcessorFactory } from './factory.js';
import { ProcessProcessor } from './processor.js';

const TESTDATA_PROC = (): string => join(repoRoot(), 'src/processors/process/testdata/proc');

async function procCopy(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'netspan-proc-'));
  await cp(TESTDATA_PROC(), dir, { recursive: true, verbatimSymlinks: true });
  return { root: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

function make(over: Record<string, unknown> = {}, now?: () => number) {
  const ctx = testContext({}, 'process');
  const p = new ProcessProcessor(processConfigSchema.parse(over), ctx, now ? { now } : {});
  const misses = (reason: string) =>
    ctx.telemetry.metrics.counter('netspan_enrich_misses_total', '').get({ processor: 'process', reason });
  return { p, misses };
}

test('config: defaults, strictness, factory', () => {
  assert.deepEqual(processConfigSchema.parse({}), {
    max_entries: 16_384,
    revalidate_interval_ms: 5_000,
    negative_ttl_ms: 1_000,
    max_cmdline_bytes: 4_096,
    types: ['soconnect', 'udpconnect', 'gethostlatency'],
    proc_root: '/proc',
  });
  assert.equal(processConfigSchema.safeParse({ types: ['tcpconnect'] }).success, false);
  assert.equal(processConfigSchema.safeParse({ max_entry: 3 }).success, false);
  assert.equal(processProcessorFactory.type, 'process');
  assert.ok(processProcessorFactory.create(processConfigSchema.parse({}), testContext()) instanceof ProcessProcessor);
});

test('parseStat: comm with spaces and parentheses', async () => {
  const text = await readFile(join(TESTDATA_PROC(), '5151/stat'), 'utf8');
  assert.deepEqual(parseStat(text), { comm: 'odd) name', ppid: 2, startTime: '777' });
  assert.equal(parseStat('garbage'), undefined);
});

test('process: testdata /proc → exact attributes; cache hits do not touch /proc', async () => {
  const proc = await procCopy();
  try {
    const { p } = make({ proc_root: proc.root });
    const input = connectEvent({ pid: 4242, comm: 'curl' });
    const out = p.process(input);
    assert.deepEqual(out.attributes, {
      'process.parent_pid': 1000,
      'process.executable.path': '/usr/bin/curl',
      'process.executable.name': 'curl',
      'process.command_line': 'curl -sS https://api.example.com/v1',
    });
    assert.equal(input.attributes, undefined, 'input not mutated');
    assert.equal(out.pid, 4242);
    // Remove the files: a hit must still answer from the cache.
    await rm(join(proc.root, '4242'), { recursive: true });
    const again = p.process({ ...connectEvent({ pid: 4242, comm: 'curl' }), attributes: { 'k8s.pod.uid': 'u' } });
    assert.equal(again.attributes!['process.executable.name'], 'curl');
    assert.equal(again.attributes!['k8s.pod.uid'], 'u');
    assert.deepEqual(p.stats, { loads: 1, revalidations: 0 });
    // No exe link and empty cmdline (kernel-thread-like): only the parent pid.
    assert.deepEqual(p.process(connectEvent({ pid: 5151, comm: 'odd) name' })).attributes, { 'process.parent_pid': 2 });
  } finally {
    await proc.cleanup();
  }
});

test('process: pid reuse (new start time) and exec (new exe) are noticed on revalidation', async () => {
  const proc = await procCopy();
  try {
    let now = 1_000;
    const { p } = make({ proc_root: proc.root, revalidate_interval_ms: 5_000 }, () => now);
    assert.equal(p.process(connectEvent({ pid: 4242, comm: 'curl' })).attributes!['process.executable.name'], 'curl');
    // pid 4242 now belongs to another process instance: different start time, exe, cmdline.
    const stat = (await readFile(join(proc.root, '4242/stat'), 'utf8'))
      .replace('(curl)', '(wget)')
      .replace(' 123456 ', ' 999999 ');
    await writeFile(join(proc.root, '4242/stat'), stat);
    await unlink(join(proc.root, '4242/exe'));
    await symlink('/usr/bin/wget', join(proc.root, '4242/exe'));
    await writeFile(join(proc.root, '4242/cmdline'), 'wget\0-q\0http://x/\0');
    // Same comm, within the interval: still the cached answer (no /proc access).
    now += 1_000;
    assert.equal(p.process(connectEvent({ pid: 4242, comm: 'curl' })).attributes!['process.executable.name'], 'curl');
    assert.equal(p.stats.revalidations, 0);
    // A comm never seen for this pid triggers the check at once.
    const out = p.process(connectEvent({ pid: 4242, comm: 'wget' }));
    assert.deepEqual(out.attributes, {
      'process.parent_pid': 1000,
      'process.executable.path': '/usr/bin/wget',
      'process.executable.name': 'wget',
      'process.command_line': 'wget -q http://x/',
    });
    assert.deepEqual(p.stats, { loads: 2, revalidations: 1 });
    // Interval expiry with unchanged stat/exe: revalidated, kept.
    now += 10_000;
    assert.equal(p.process(connectEvent({ pid: 4242, comm: 'wget' })).attributes!['process.executable.name'], 'wget');
    assert.deepEqual(p.stats, { loads: 2, revalidations: 2 });
  } finally {
    await proc.cleanup();
  }
});

test('process: tcpretrans and skbdrop (interrupted task) pass on untouched by default, enriched when listed', async () => {
  const proc = await procCopy();
  try {
    // pid 4242 exists in the testdata /proc: a retransmit in softirq context that interrupted it is not its event
    const retrans = tcpretrans({ pid: 4242, comm: 'curl' });
    const drop = skbdrop({ pid: 4242, comm: 'curl' });
    const { p, misses } = make({ proc_root: proc.root });
    assert.equal(p.process(retrans), retrans);
    assert.equal(p.process(drop), drop);
    p.prime(retrans);
    assert.deepEqual(p.stats, { loads: 0, revalidations: 0 }, 'no /proc read for them');
    assert.equal(misses('no_pid') + misses('process_gone'), 0, 'not a miss');
    // the same pid in a connect is enriched
    assert.equal(p.process(connectEvent({ pid: 4242, comm: 'curl' })).attributes!['process.executable.name'], 'curl');
    const all = make({ proc_root: proc.root, types: ['tcpretrans', 'skbdrop'] }).p;
    assert.equal(all.process(retrans).attributes!['process.executable.name'], 'curl');
    assert.equal(all.process(drop).attributes!['process.command_line'], 'curl -sS https://api.example.com/v1');
    const c = connectEvent({ pid: 4242, comm: 'curl' });
    assert.equal(all.process(c), c, 'soconnect not listed');
  } finally {
    await proc.cleanup();
  }
});

test('process: gone before lookup → passed on unchanged, counted, negative-cached', () => {
  let now = 0;
  const { p, misses } = make({ proc_root: TESTDATA_PROC(), negative_ttl_ms: 1_000 }, () => now);
  const e = connectEvent({ pid: 7777, comm: 'ghost' });
  assert.equal(p.process(e), e);
  assert.equal(p.process(connectEvent({ pid: 7777, comm: 'ghost' })).attributes, undefined);
  assert.equal(misses('process_gone'), 2);
  assert.equal(p.stats.loads, 1, 'second event answered from the negative cache');
  now += 1_001;
  p.process(connectEvent({ pid: 7777, comm: 'ghost' }));
  assert.equal(p.stats.loads, 2);
  const zero = connectEvent({ pid: 0, comm: 'swapper/0' });
  assert.equal(p.process(zero), zero);
  assert.equal(misses('no_pid'), 1);
});

test('process: LRU is bounded by max_entries', async () => {
  const proc = await procCopy();
  try {
    for (const pid of [6001, 6002, 6003])
      await cp(join(proc.root, '4242'), join(proc.root, String(pid)), { recursive: true, verbatimSymlinks: true });
    const { p } = make({ proc_root: proc.root, max_entries: 2 });
    for (const pid of [6001, 6002, 6003]) p.process(connectEvent({ pid, comm: 'curl' }));
    assert.equal(p.cacheSize, 2);
    p.process(connectEvent({ pid: 6003, comm: 'curl' }));
    assert.equal(p.stats.loads, 3);
    p.process(connectEvent({ pid: 6001, comm: 'curl' })); // evicted → loaded again
    assert.equal(p.stats.loads, 4);
  } finally {
    await proc.cleanup();
  }
});

test('process: a real process via the real /proc, then gone after exit', { timeout: 15_000 }, async () => {
  const child = execa('sleep', ['30'], { reject: false });
  const pid = child.pid!;
  try {
    const { p } = make();
    const out = p.process(connectEvent({ pid, comm: 'sleep' }));
    const exe = await realpath(`/proc/${pid}/exe`);
    assert.deepEqual(out.attributes, {
      'process.parent_pid': process.pid,
      'process.executable.path': exe,
      'process.executable.name': exe.slice(exe.lastIndexOf('/') + 1),
      'process.command_line': 'sleep 30',
    });
  } finally {
    child.kill('SIGKILL');
    await child;
  }
  const { p, misses } = make();
  const e = connectEvent({ pid, comm: 'sleep' });
  assert.equal(p.process(e), e);
  assert.equal(misses('process_gone'), 1);
});

test('prime reads /proc when the event is read: a process gone before process() runs is still named, counted once', async () => {
  for (const primed of [true, false]) {
    const { p, misses } = make();
    const child = execa('sleep', ['0.2'], { reject: false });
    const pid = child.pid!;
    const e = connectEvent({ pid, comm: 'sleep' });
    if (primed) p.prime(e);
    await child; // exited and reaped: /proc/<pid> is gone
    const out = p.process(e);
    if (primed) {
      assert.equal(out.attributes?.['process.executable.name'], 'sleep');
      assert.equal(misses('process_gone'), 0);
    } else {
      assert.equal(out.attributes?.['process.executable.name'], undefined, 'without prime the process is gone');
      assert.equal(misses('process_gone'), 1);
    }
  }
});
