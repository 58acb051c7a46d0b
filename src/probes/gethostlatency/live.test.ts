/**
 * Live: real bpftrace + uprobes on this machine's libc. Names resolve from a
 * hosts file private to a network namespace this test creates
 * (`ip netns exec NS` bind-mounts /etc/netns/NS/{hosts,nsswitch.conf} over
 * /etc), so nothing leaves the machine: nsswitch is "hosts: files" only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { runProbeDuring } from '../../../test/helpers/live.js';
import type { GetHostLatencyEvent } from '../../core/event.js';
import { gethostlatencyProbe } from './index.js';
import { repoRoot } from '../../paths.js';

const LONG_NAME = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.long.test`; // 252 bytes

async function withResolverNs<T>(fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `nsghl${process.pid}${randomBytes(2).toString('hex')}`;
  const etc = join('/etc/netns', ns);
  try {
    await mkdir(etc, { recursive: true });
    await writeFile(
      join(etc, 'hosts'),
      [
        '127.0.0.1 localhost',
        '10.201.0.5 payments.test',
        'fd00:201::5 payments.test',
        '10.201.0.6 ledger.test',
        `10.201.0.7 ${LONG_NAME}`,
        '',
      ].join('\n'),
    );
    await writeFile(join(etc, 'nsswitch.conf'), 'hosts: files\n');
    await execa('ip', ['netns', 'add', ns], { timeout: 10_000, stdin: 'ignore' });
    await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], { timeout: 10_000, stdin: 'ignore' });
    return await fn(ns);
  } finally {
    await execa('ip', ['netns', 'del', ns], { reject: false, timeout: 10_000, stdin: 'ignore' });
    await rm(etc, { recursive: true, force: true });
  }
}

interface Resolved {
  pid: number;
  tid?: number;
  results: { name: string; ok?: boolean; addresses?: string[]; error?: number | string }[];
}

async function inNs(ns: string, cmd: string, args: string[]): Promise<Resolved> {
  const r = await execa('ip', ['netns', 'exec', ns, cmd, ...args], {
    timeout: 20_000,
    stdin: 'ignore',
    cwd: repoRoot(),
  });
  return JSON.parse(String(r.stdout).trim().split('\n').pop() ?? '') as Resolved;
}

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

void test('gethostlatency live: getaddrinfo / gethostbyname / gethostbyname2 from a namespace hosts file', async () => {
  await withResolverNs(async (ns) => {
    let gai!: Resolved;
    let ghbn!: Resolved;
    let ghbn2!: Resolved;
    let node!: Resolved;
    const py = 'test/fixtures/resolve.py';
    const live = await runProbeDuring(
      gethostlatencyProbe,
      async () => {
        gai = await inNs(ns, 'python3', [py, 'gai', hex('payments.test'), hex('nosuch.test'), hex(LONG_NAME)]);
        ghbn = await inNs(ns, 'python3', [py, 'ghbn', hex('ledger.test'), hex('nosuch.test')]);
        ghbn2 = await inNs(ns, 'python3', [py, 'ghbn2_6', hex('payments.test')]);
        node = await inNs(ns, process.execPath, ['test/fixtures/resolve.mjs', 'ledger.test']);
      },
      500,
      undefined,
      // until the probe reports one: a lookup of canary.test (not in the hosts file; see Canary)
      {
        send: async () => {
          await inNs(ns, 'python3', [py, 'gai', hex('canary.test')]);
        },
        seen: (e) => e.type === 'gethostlatency' && e.host === 'canary.test',
      },
    );
    assert.deepEqual(live.errors, [], `parse errors; bpftrace stderr:\n${live.stderr}`);
    // The fixture itself saw what the hosts file says.
    assert.deepEqual(
      gai.results.map((r) => r.ok),
      [true, false, true],
    );
    assert.deepEqual([...new Set(gai.results[0]!.addresses)].sort(), ['10.201.0.5', 'fd00:201::5']);

    const mine = (pid: number): GetHostLatencyEvent[] =>
      live.events.filter((e): e is GetHostLatencyEvent => e.type === 'gethostlatency' && e.pid === pid);

    const g = mine(gai.pid);
    assert.deepEqual(
      g.map((e) => [e.func, e.host, e.result]),
      [
        ['getaddrinfo', 'payments.test', 'OK'],
        ['getaddrinfo', 'nosuch.test', 'EAI_NONAME'],
        ['getaddrinfo', LONG_NAME, 'OK'],
      ],
    );
    assert.deepEqual([...g[0]!.addresses].sort(), ['10.201.0.5', 'fd00:201::5']);
    assert.equal(g[0]!.addresses.length, 2, 'one entry per address (socket types deduplicated)');
    assert.deepEqual(g[1]!.addresses, []);
    assert.deepEqual(g[2]!.addresses, ['10.201.0.7']);
    for (const e of g) {
      assert.equal(e.comm, 'python3');
      assert.equal(e.tid, gai.tid);
      assert.ok(e.latencyNs > 0 && e.latencyNs < 20e9, `latency ${e.latencyNs}`);
      assert.ok(e.cgroupId > 0);
      const skew = Number(e.timeUnixNano / 1_000_000n) - Date.now();
      assert.ok(Math.abs(skew) < 120_000, `timestamp off by ${skew} ms`);
    }

    assert.deepEqual(
      mine(ghbn.pid).map((e) => [e.func, e.host, e.result, e.addresses, e.tid]),
      [
        ['gethostbyname', 'ledger.test', 'OK', ['10.201.0.6'], ghbn.tid],
        ['gethostbyname', 'nosuch.test', 'NULL', [], ghbn.tid],
      ],
    );
    assert.deepEqual(
      mine(ghbn2.pid).map((e) => [e.func, e.host, e.result, e.addresses]),
      [['gethostbyname2', 'payments.test', 'OK', ['fd00:201::5']]],
    );

    // Node: dns.lookup runs getaddrinfo on a libuv worker thread (tid != pid).
    const n = mine(node.pid);
    assert.equal(n.length, 1, JSON.stringify(n.map((e) => [e.host, e.tid, e.comm, e.addresses])));
    assert.equal(n[0]!.host, 'ledger.test');
    assert.deepEqual(n[0]!.addresses, ['10.201.0.6']);
    assert.notEqual(n[0]!.tid, node.pid);
    assert.equal(n[0]!.comm, NODE_WORKER_COMM);
  });
});

/**
 * comm of a libuv threadpool thread as the kernel reports it. Observed on this
 * machine (Node 20): the worker threads are not renamed, so comm is the
 * process's "node" while tid is the worker's (newer libuv names them "libuv-worker").
 */
const NODE_WORKER_COMM = 'node';
