/**
 * Test helper: a small private network lab for live probe tests.
 *
 * `createNetPair()` makes two network namespaces ("client" and "server")
 * joined by a veth pair, with addresses
 *
 *   client 10.200.N.1/24  fd00:10:200:N::1/64
 *   server 10.200.N.2/24  fd00:10:200:N::2/64
 *
 * (N random in 1..254, IPv6 added with `nodad` so it is usable at once) and
 * loopback up in both. There is no route out of the namespaces, so traffic
 * can only flow between the two ends. Names embed the test process pid plus
 * a random suffix, so parallel runs never collide; `destroyNetPair()` deletes
 * both namespaces (which also removes the veth pair and every nftables table
 * created inside them). `withNetPair()` does create/destroy around a callback.
 *
 * Everything runs through execa with argument arrays (never a shell), with
 * a timeout on every command. Requires root, iproute2 (`ip`), `nft` and
 * `sysctl`; `checkNetlabPrerequisites()` fails with a clear message otherwise.
 *
 * Typical use:
 *
 *   await withNetPair(async (net) => {
 *     await nsSysctl(net.clientNs, 'net.ipv4.tcp_syn_retries', '1');
 *     await nftApply(net.serverNs, dropTcpSynRuleset('netspan_test', 9000));
 *     const srv = nsSpawn(net.serverNs, 'node', ['test/fixtures/tcpserver.mjs', net.server4, '9000']);
 *     await srv.waitForLine((l) => l === 'READY', 5000);
 *     const r = await nsRun(net.clientNs, 'node', ['test/fixtures/tcpconnect.mjs', ...]);
 *     await srv.stop();
 *   });
 */
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import { execa } from 'execa';
import type { ResultPromise } from 'execa';
import { LineSplitter } from '../../src/runner/line-splitter.js';

export interface NetPair {
  /** Unique id of this pair (also part of every name). */
  readonly id: string;
  readonly clientNs: string;
  readonly serverNs: string;
  /** veth end inside clientNs / serverNs. */
  readonly clientIf: string;
  readonly serverIf: string;
  /** The N of 10.200.N.0/24 and fd00:10:200:N::/64. */
  readonly subnet: number;
  readonly client4: string;
  readonly server4: string;
  readonly client6: string;
  readonly server6: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  /** Pid of the process that ran inside the namespace (`ip netns exec` execs the command, so it is the command's pid). */
  pid: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const NS_PREFIX = 'netspan-';

/** Runs a host command (argument array, no shell); throws with stderr when it fails. */
async function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await execa(cmd, args, {
    reject: false,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
  });
  if (r.exitCode !== 0 || r.timedOut) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (exit ${String(r.exitCode)}${r.timedOut ? ', timed out' : ''}): ${String(r.stderr).trim()}`,
    );
  }
  return String(r.stdout);
}

/** Throws a descriptive error when the lab cannot work on this machine. */
export async function checkNetlabPrerequisites(): Promise<void> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('netlab needs root (network namespaces, veth, nftables)');
  }
  for (const tool of ['ip', 'nft', 'sysctl']) {
    const r = await execa('which', [tool], { reject: false, timeout: 5000, stdin: 'ignore' });
    if (r.exitCode !== 0) throw new Error(`netlab needs the '${tool}' command, which is not installed`);
  }
  try {
    await access('/var/run/netns', fsConstants.W_OK);
  } catch {
    // `ip netns add` creates it on first use; nothing to check then.
  }
}

/** Deletes namespaces left behind by earlier runs whose test process is gone. */
export async function removeStaleNamespaces(): Promise<void> {
  const out = await run('ip', ['netns', 'list']);
  for (const line of out.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^netspan-(\d+)-[0-9a-f]+-[cs]$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) await run('ip', ['netns', 'del', name]).catch(() => undefined);
  }
}

/** Creates a namespace pair joined by veth, with IPv4/IPv6 addresses; cleans up on failure. */
export async function createNetPair(): Promise<NetPair> {
  await checkNetlabPrerequisites();
  const rand = randomBytes(2).toString('hex');
  const id = `${process.pid}-${rand}`;
  const subnet = 1 + (randomBytes(1)[0]! % 254);
  const short = `${(process.pid % 100000).toString(36)}${rand}`; // ifnames are at most 15 bytes
  const pair: NetPair = {
    id,
    clientNs: `${NS_PREFIX}${id}-c`,
    serverNs: `${NS_PREFIX}${id}-s`,
    clientIf: `ns${short}c`,
    serverIf: `ns${short}s`,
    subnet,
    client4: `10.200.${subnet}.1`,
    server4: `10.200.${subnet}.2`,
    client6: `fd00:10:200:${subnet.toString(16)}::1`,
    server6: `fd00:10:200:${subnet.toString(16)}::2`,
  };
  try {
    await run('ip', ['netns', 'add', pair.clientNs]);
    await run('ip', ['netns', 'add', pair.serverNs]);
    for (const ns of [pair.clientNs, pair.serverNs]) {
      // No duplicate address detection (also for link-local addresses), so IPv6 works at once.
      await run('ip', [
        'netns',
        'exec',
        ns,
        'sysctl',
        '-q',
        '-w',
        'net.ipv6.conf.default.accept_dad=0',
        'net.ipv6.conf.all.accept_dad=0',
      ]);
    }
    await run('ip', [
      'link',
      'add',
      pair.clientIf,
      'netns',
      pair.clientNs,
      'type',
      'veth',
      'peer',
      'name',
      pair.serverIf,
      'netns',
      pair.serverNs,
    ]);
    for (const [ns, dev, a4, a6] of [
      [pair.clientNs, pair.clientIf, pair.client4, pair.client6],
      [pair.serverNs, pair.serverIf, pair.server4, pair.server6],
    ] as const) {
      await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      await run('ip', ['-n', ns, 'addr', 'add', `${a4}/24`, 'dev', dev]);
      await run('ip', ['-n', ns, '-6', 'addr', 'add', `${a6}/64`, 'dev', dev, 'nodad']);
      await run('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
  } catch (err) {
    await destroyNetPair(pair);
    throw err;
  }
  return pair;
}

/** Deletes both namespaces (veth and nftables tables go with them). Never throws. */
export async function destroyNetPair(pair: NetPair): Promise<void> {
  for (const ns of [pair.clientNs, pair.serverNs]) {
    await execa('ip', ['netns', 'del', ns], { reject: false, timeout: DEFAULT_TIMEOUT_MS, stdin: 'ignore' });
  }
}

/** createNetPair / fn / destroyNetPair, also when fn throws. */
export async function withNetPair<T>(fn: (pair: NetPair) => Promise<T>): Promise<T> {
  const pair = await createNetPair();
  try {
    return await fn(pair);
  } finally {
    await destroyNetPair(pair);
  }
}

/** Runs a command inside a namespace and waits for it (bounded by timeoutMs). Does not throw on a non-zero exit. */
export async function nsRun(
  ns: string,
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  const child = execa('ip', ['netns', 'exec', ns, cmd, ...args], {
    reject: false,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
  });
  const pid = child.pid;
  const r = await child;
  if (r.timedOut)
    throw new Error(
      `'${cmd} ${args.join(' ')}' in ${ns} timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms: ${String(r.stderr)}`,
    );
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode, pid };
}

/** A long-running process inside a namespace (e.g. a server fixture). */
export interface NsProcess {
  readonly pid: number | undefined;
  /** Lines seen on stdout so far. */
  readonly lines: string[];
  /** Resolves with the first stdout line (past or future) matching pred; rejects after timeoutMs or if the process exits first. */
  waitForLine(pred: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** SIGTERM (then SIGKILL after 2 s) and wait for exit. Never throws. */
  stop(): Promise<void>;
  stderr(): string;
}

/** Starts a command inside a namespace without waiting for it; stdin is a pipe the process may watch to exit. */
export function nsSpawn(ns: string, cmd: string, args: string[], opts: { maxLifeMs?: number } = {}): NsProcess {
  const child: ResultPromise = execa('ip', ['netns', 'exec', ns, cmd, ...args], {
    reject: false,
    buffer: false,
    stdin: 'pipe',
    timeout: opts.maxLifeMs ?? 60_000,
    forceKillAfterDelay: 2000,
  });
  const lines: string[] = [];
  const waiters: { pred: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  let errText = '';
  let exited = false;
  const onExit: (() => void)[] = [];
  child.stdout!.setEncoding('utf8');
  const splitter = new LineSplitter(
    (line) => {
      lines.push(line);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i]!;
        if (w.pred(line)) {
          waiters.splice(i, 1);
          w.resolve(line);
        }
      }
    },
    () => undefined,
  );
  child.stdout!.on('data', (chunk: string) => splitter.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => {
    if (errText.length < 64 * 1024) errText += chunk.toString();
  });
  const done = child
    .then(
      () => undefined,
      () => undefined,
    )
    .finally(() => {
      exited = true;
      for (const f of onExit) f();
    });
  return {
    pid: child.pid,
    lines,
    stderr: () => errText,
    waitForLine(pred, timeoutMs) {
      const seen = lines.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no matching line from '${cmd} ${args.join(' ')}' within ${timeoutMs} ms; stdout: ${lines.join('|')}; stderr: ${errText}`,
              ),
            ),
          timeoutMs,
        );
        const fail = (): void => {
          clearTimeout(timer);
          reject(
            new Error(
              `'${cmd} ${args.join(' ')}' exited before printing the expected line; stdout: ${lines.join('|')}; stderr: ${errText}`,
            ),
          );
        };
        if (exited) {
          fail();
          return;
        }
        onExit.push(fail);
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    async stop() {
      if (!exited) {
        child.stdin?.end();
        child.kill('SIGTERM');
      }
      await done;
    },
  };
}

/** Applies an nftables ruleset (nft -f syntax) inside a namespace. */
export async function nftApply(ns: string, ruleset: string): Promise<void> {
  await run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: ruleset });
}

/**
 * A ruleset with one inet table `table` and a filter chain on `hook`
 * (input or output) holding `rules` (nft rule syntax, one per entry).
 */
export function nftRuleset(table: string, hook: 'input' | 'output', rules: string[]): string {
  return [
    `table inet ${table} {`,
    `  chain ${hook}_chain {`,
    `    type filter hook ${hook} priority 0; policy accept;`,
    ...rules.map((r) => `    ${r}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Deletes an nftables table inside a namespace (ignores "no such table"). */
export async function nftDeleteTable(ns: string, table: string): Promise<void> {
  await execa('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', table], {
    reject: false,
    timeout: DEFAULT_TIMEOUT_MS,
    stdin: 'ignore',
  });
}

/** `sysctl -w key=value` inside a namespace (for per-netns keys such as net.ipv4.tcp_syn_retries). */
export async function nsSysctl(ns: string, key: string, value: string): Promise<void> {
  await run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`]);
}

/**
 * Runs a Node fixture script (test/fixtures/*.mjs) inside a namespace with the
 * current Node binary and returns its last stdout line parsed as JSON (the
 * fixtures print one JSON result line). Throws with stdout/stderr when the
 * script fails or prints no JSON.
 */
export async function runNodeFixture<T = Record<string, unknown>>(
  ns: string,
  script: string,
  args: string[],
  timeoutMs = 15_000,
): Promise<T> {
  const r = await nsRun(ns, process.execPath, [script, ...args], { timeoutMs });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(
      `fixture ${script} ${args.join(' ')} in ${ns} printed no JSON result (exit ${String(r.exitCode)}); stdout: ${r.stdout}; stderr: ${r.stderr}`,
    );
  }
}

/** Starts a Node fixture server inside a namespace and waits for its READY line. */
export async function startNodeServer(
  ns: string,
  script: string,
  args: string[],
  readyTimeoutMs = 10_000,
): Promise<NsProcess> {
  const p = nsSpawn(ns, process.execPath, [script, ...args]);
  try {
    await p.waitForLine((l) => l === 'READY', readyTimeoutMs);
  } catch (err) {
    await p.stop();
    throw err;
  }
  return p;
}

/** cgroup v2 id (inode of the cgroup directory) of a live process; what bpftrace's `cgroup` builtin reports. */
export async function cgroupIdOf(pid: number | 'self'): Promise<number> {
  const { readFile, stat } = await import('node:fs/promises');
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('0::'));
  if (line === undefined) throw new Error(`no cgroup v2 entry in /proc/${pid}/cgroup`);
  const st = await stat(`/sys/fs/cgroup${line.slice(3)}`, { bigint: true });
  return Number(st.ino);
}

/**
 * A hosts file private to a namespace: `ip netns exec NS` bind-mounts
 * /etc/netns/NS/hosts over /etc/hosts, so libc resolves these names only
 * there. Returns a function that removes it.
 */
export async function nsHostsFile(ns: string, entries: Record<string, string>): Promise<() => Promise<void>> {
  const { mkdir, rm, writeFile } = await import('node:fs/promises');
  const dir = `/etc/netns/${ns}`;
  await mkdir(dir, { recursive: true });
  const lines = ['127.0.0.1 localhost', ...Object.entries(entries).map(([name, addr]) => `${addr} ${name}`)];
  await writeFile(`${dir}/hosts`, lines.join('\n') + '\n');
  return () => rm(dir, { recursive: true, force: true });
}

/** Creates a namespace pair with a private hosts file in the client namespace (see nsHostsFile). */
export async function createNetPairWithHosts(
  hosts: (pair: NetPair) => Record<string, string>,
): Promise<{ net: NetPair; destroy: () => Promise<void> }> {
  const net = await createNetPair();
  let removeHosts: (() => Promise<void>) | undefined;
  try {
    removeHosts = await nsHostsFile(net.clientNs, hosts(net));
  } catch (e) {
    await destroyNetPair(net);
    throw e;
  }
  return {
    net,
    destroy: async () => {
      await destroyNetPair(net);
      await removeHosts?.();
    },
  };
}
