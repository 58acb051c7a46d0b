/**
 * Live test: real bpftrace + real connects between two private namespaces.
 * Needs root, bpftrace, iproute2 and nft; fails (never skips) without them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import type { SoConnectEvent } from '../../core/event.js';
import { runProbeDuring, type Canary } from '../../../test/helpers/live.js';
import {
  cgroupIdOf,
  nftApply,
  nftRuleset,
  nsRun,
  nsSysctl,
  runNodeFixture,
  startNodeServer,
  withNetPair,
} from '../../../test/helpers/netlab.js';
import type { NetPair, NsProcess } from '../../../test/helpers/netlab.js';
import { repoRoot } from '../../paths.js';
import { soconnectProbe } from './index.js';

interface ConnectResult {
  pid: number;
  result: string;
  localAddress?: string;
  localPort?: number;
  ms: number;
}

const OPEN = 9101; // servers listening (v4 and v6)
const CLOSED = 9109; // nothing listening: RST
const BLACKHOLE = 9102; // SYNs dropped by nft in the server namespace
const HOSTILE_COMM = Buffer.from('a\tb\nc"\\\xffd', 'latin1');
const fixture = (name: string): string => join(repoRoot(), 'test/fixtures', name);

/** runProbeDuring's canary: a refused connect named "canary", until the probe reports one (see Canary). */
function canary(net: NetPair): Canary {
  return {
    send: async () => {
      await runNodeFixture(net.clientNs, fixture('tcpconnect.mjs'), [net.server4, String(CLOSED), '--comm', 'canary']);
    },
    seen: (e) => e.type === 'soconnect' && e.comm === 'canary',
  };
}

void test(
  'soconnect live: blocking and non-blocking, v4 and v6, success / refused / timeout / unreachable',
  { timeout: 150_000 },
  async () => {
    const cgroupId = await cgroupIdOf('self');
    await withNetPair(async (net) => {
      await nsSysctl(net.clientNs, 'net.ipv4.tcp_syn_retries', '1'); // SYN timeout after ~3 s (also used by IPv6)
      await nftApply(
        net.serverNs,
        nftRuleset('netspan_test', 'input', [`tcp dport ${BLACKHOLE} tcp flags & (syn | ack) == syn drop`]),
      );
      const servers: NsProcess[] = [];
      try {
        servers.push(await startNodeServer(net.serverNs, fixture('tcpserver.mjs'), [net.server4, String(OPEN)]));
        servers.push(await startNodeServer(net.serverNs, fixture('tcpserver.mjs'), [net.server6, String(OPEN)]));
        const unroutable = `10.200.${(net.subnet % 254) + 1}.9`;
        const runs: Record<string, string[]> = {
          nb4ok: [net.server4, String(OPEN)],
          nb4refused: [net.server4, String(CLOSED)],
          nb4timeout: [net.server4, String(BLACKHOLE)],
          nb6ok: [net.server6, String(OPEN)],
          nb6refused: [net.server6, String(CLOSED)],
          nb4unreach: [unroutable, String(OPEN)],
          blk4ok: [net.server4, String(OPEN), '--blocking'],
          blk4refused: [net.server4, String(CLOSED), '--blocking'],
          blk4timeout: [net.server4, String(BLACKHOLE), '--blocking'],
          blk6ok: [net.server6, String(OPEN), '--blocking'],
          blk6refused: [net.server6, String(CLOSED), '--blocking'],
          '123456789012345': [net.server4, String(OPEN)],
        };
        const results = new Map<string, ConnectResult>();
        const t0 = BigInt(Date.now()) * 1_000_000n;
        const live = await runProbeDuring(
          soconnectProbe,
          async () => {
            // The two timeouts run alongside the quick cases.
            const slow = ['nb4timeout', 'blk4timeout'].map(async (name) => {
              results.set(
                name,
                await runNodeFixture<ConnectResult>(net.clientNs, fixture('tcpconnect.mjs'), [
                  ...runs[name]!,
                  '--comm',
                  name,
                ]),
              );
            });
            for (const [name, args] of Object.entries(runs)) {
              if (name.endsWith('timeout')) continue;
              results.set(
                name,
                await runNodeFixture<ConnectResult>(net.clientNs, fixture('tcpconnect.mjs'), [...args, '--comm', name]),
              );
            }
            results.set(
              'hostile',
              await runNodeFixture<ConnectResult>(net.clientNs, fixture('tcpconnect.mjs'), [
                net.server4,
                String(OPEN),
                '--comm-hex',
                HOSTILE_COMM.toString('hex'),
              ]),
            );
            await Promise.all(slow);
          },
          500,
          undefined,
          // until the probe reports one: a refused connect named "canary" (see Canary)
          canary(net),
        );
        const t1 = BigInt(Date.now()) * 1_000_000n;
        assert.deepEqual(live.errors, [], `parse errors; bpftrace stderr: ${live.stderr}`);
        assert.equal(live.lost, 0);

        // What the fixtures themselves saw.
        const expected: Record<string, string> = {
          nb4ok: 'ESTABLISHED',
          nb4refused: 'ECONNREFUSED',
          nb4timeout: 'ETIMEDOUT',
          nb6ok: 'ESTABLISHED',
          nb6refused: 'ECONNREFUSED',
          nb4unreach: 'ENETUNREACH',
          blk4ok: 'ESTABLISHED',
          blk4refused: 'ECONNREFUSED',
          blk4timeout: 'ETIMEDOUT',
          blk6ok: 'ESTABLISHED',
          blk6refused: 'ECONNREFUSED',
          '123456789012345': 'ESTABLISHED',
          hostile: 'ESTABLISHED',
        };
        const events = live.events.filter((e): e is SoConnectEvent => e.type === 'soconnect');
        for (const [name, want] of Object.entries(expected)) {
          const r = results.get(name);
          assert.ok(r, `no fixture result for ${name}`);
          assert.equal(r.result, want, `fixture ${name} itself got ${r.result}`);
          const mine = events.filter((e) => e.pid === r.pid);
          assert.equal(
            mine.length,
            1,
            `${name}: expected exactly one event for pid ${r.pid}, got ${mine.length}; all: ${JSON.stringify(events.map((e) => [e.pid, e.comm, e.result]))}`,
          );
          const e = mine[0]!;
          const v6 = /^(nb|blk)6/.test(name);
          const blocking = name.startsWith('blk');
          assert.equal(e.comm, name === 'hostile' ? 'a\tb\nc"\\\uFFFDd' : name, `${name}: comm`);
          assert.equal(e.tid, e.pid, `${name}: connect runs on the main thread`);
          assert.equal(e.cgroupId, cgroupId, `${name}: cgroup`);
          assert.ok(
            e.timeUnixNano >= t0 - 1_000_000_000n && e.timeUnixNano <= t1 + 1_000_000_000n,
            `${name}: time ${e.timeUnixNano} not in [${t0}, ${t1}]`,
          );
          assert.equal(e.family, v6 ? 'ipv6' : 'ipv4', `${name}: family`);
          assert.equal(
            e.daddr,
            name === 'nb4unreach' ? runs[name]![0] : v6 ? net.server6 : net.server4,
            `${name}: daddr`,
          );
          assert.equal(e.dport, Number(runs[name === 'hostile' ? 'nb4ok' : name]![1]), `${name}: dport`);
          assert.equal(e.result, want, `${name}: result`);
          // Node connects non-blocking (EINPROGRESS, result from the state change);
          // bash /dev/tcp connects blocking; ENETUNREACH fails inside the syscall.
          assert.equal(e.nonBlocking, !blocking && name !== 'nb4unreach', `${name}: nonBlocking`);
          if (name === 'nb4unreach') {
            assert.equal(e.saddr, '0.0.0.0');
            assert.equal(e.sport, 0);
          } else {
            assert.equal(e.saddr, v6 ? net.client6 : net.client4, `${name}: saddr`);
            assert.ok(e.sport >= 1024 && e.sport <= 65535, `${name}: sport ${e.sport}`);
          }
          if (r.localPort !== undefined)
            assert.equal(e.sport, r.localPort, `${name}: sport equals the fixture's local port`);
          if (want === 'ETIMEDOUT') {
            assert.ok(e.latencyNs >= 1_000_000_000 && e.latencyNs < 10_000_000_000, `${name}: latency ${e.latencyNs}`);
          } else {
            assert.ok(e.latencyNs > 0 && e.latencyNs < 1_000_000_000, `${name}: latency ${e.latencyNs}`);
          }
          assert.ok(
            e.latencyNs <= r.ms * 1e6 + 5_000_000,
            `${name}: latency ${e.latencyNs} ns exceeds what the fixture measured (${r.ms} ms)`,
          );
        }
      } finally {
        for (const s of servers) await s.stop();
      }
    });
  },
);

/** What test/fixtures/tfoconnect.py prints. */
interface TfoResult {
  pid: number;
  tid: number;
  result: string;
  connectRet?: number;
  /** TCP state right after connect(2): 2 (SYN_SENT) = deferred, nothing sent; 1 = handshake done inside connect(2). */
  stateAfterConnect?: number;
  /** The server acked the data carried by the SYN. */
  synData?: boolean;
  localAddress?: string;
  localPort?: number;
  ms: number;
}

const WRITE_DELAY_MS = 200; // between connect(2) returning 0 and the write that sends the SYN

void test(
  'soconnect live: TCP Fast Open connect(2) with a cached cookie (returns 0, SYN on the first write) is reported when the handshake ends: ESTABLISHED, and ETIMEDOUT when the SYN is dropped',
  { timeout: 90_000 },
  async () => {
    const py = await execa('python3', ['--version'], { reject: false, stdin: 'ignore', timeout: 10_000 });
    assert.equal(py.exitCode, 0, `this test needs python3 (Node has no TCP Fast Open API): ${String(py.stderr)}`);
    const cgroupId = await cgroupIdOf('self');
    await withNetPair(async (net) => {
      const tfo = async (args: string[]): Promise<TfoResult> => {
        const r = await nsRun(net.clientNs, 'python3', [fixture('tfoconnect.py'), ...args], { timeoutMs: 20_000 });
        const last = r.stdout.trim().split('\n').pop() ?? '';
        try {
          return JSON.parse(last) as TfoResult;
        } catch {
          throw new Error(
            `tfoconnect.py ${args.join(' ')} printed no JSON (exit ${String(r.exitCode)}); stdout: ${r.stdout}; stderr: ${r.stderr}`,
          );
        }
      };
      // Server: TFO on every listener without TCP_FASTOPEN (0x400 | 0x2), so the
      // Node server fixture serves it. Client: TFO with cookies (1, the default).
      await nsSysctl(net.serverNs, 'net.ipv4.tcp_fastopen', String(0x402));
      await nsSysctl(net.clientNs, 'net.ipv4.tcp_fastopen', '1');
      await nsSysctl(net.clientNs, 'net.ipv4.tcp_syn_retries', '1'); // SYN timeout after ~3 s
      await nftApply(
        net.serverNs,
        nftRuleset('netspan_test', 'input', [`tcp dport ${BLACKHOLE} tcp flags & (syn | ack) == syn drop`]),
      );
      const server = await startNodeServer(net.serverNs, fixture('tcpserver.mjs'), [net.server4, String(OPEN)]);
      try {
        // First connection: no cookie yet, so a normal handshake inside connect(2)
        // that asks for one; the cookie is cached per server address.
        const first = await tfo([net.server4, String(OPEN), '--comm', 'tfocookie']);
        assert.deepEqual(
          [first.result, first.connectRet, first.stateAfterConnect],
          ['ESTABLISHED', 0, 1],
          `cookie request: ${JSON.stringify(first)}`,
        );
        const metrics = await nsRun(net.clientNs, 'ip', ['tcp_metrics', 'show', net.server4]);
        assert.match(
          metrics.stdout,
          /fo_cookie [0-9a-f]+/,
          `no TFO cookie cached: ${metrics.stdout} ${metrics.stderr}`,
        );

        const results = new Map<string, TfoResult>();
        const t0 = BigInt(Date.now()) * 1_000_000n;
        const live = await runProbeDuring(
          soconnectProbe,
          async () => {
            // Success first: a TFO SYN lost to a timeout counts against the cookie.
            for (const [name, port, mode] of [
              ['tfook', OPEN, 'connect'],
              ['tfodrop', BLACKHOLE, 'connect'],
              ['tfosendto', OPEN, 'sendto'],
            ] as const) {
              results.set(
                name,
                await tfo([
                  net.server4,
                  String(port),
                  '--comm',
                  name,
                  '--mode',
                  mode,
                  '--write-delay-ms',
                  String(WRITE_DELAY_MS),
                ]),
              );
            }
          },
          500,
          undefined,
          canary(net),
        );
        const t1 = BigInt(Date.now()) * 1_000_000n;
        assert.deepEqual(live.errors, [], `parse errors; bpftrace stderr: ${live.stderr}`);
        assert.equal(live.lost, 0);
        const events = live.events.filter((e): e is SoConnectEvent => e.type === 'soconnect');
        const all = JSON.stringify(events.map((e) => [e.pid, e.comm, e.result, e.latencyNs]));

        // The fixtures: connect(2) returned 0 at once with the socket still in
        // SYN_SENT (the cookie was used, nothing sent yet); the first write then
        // got the real outcome.
        const ok = results.get('tfook')!;
        const drop = results.get('tfodrop')!;
        for (const [r, want] of [
          [ok, 'ESTABLISHED'],
          [drop, 'ETIMEDOUT'],
        ] as const) {
          assert.equal(r.connectRet, 0, `connect(2) returns 0: ${JSON.stringify(r)}`);
          assert.equal(r.stateAfterConnect, 2, `deferred (SYN_SENT, nothing sent): ${JSON.stringify(r)}`);
          assert.equal(r.result, want, `the first write's outcome: ${JSON.stringify(r)}`);
          assert.equal(r.pid, r.tid);
          assert.ok(r.localPort !== undefined && r.localPort >= 1024, JSON.stringify(r));
        }
        assert.equal(ok.synData, true, `the server took the data in the SYN: ${JSON.stringify(ok)}`);

        for (const [r, dport] of [
          [ok, OPEN],
          [drop, BLACKHOLE],
        ] as const) {
          const mine = events.filter((e) => e.pid === r.pid);
          assert.equal(mine.length, 1, `exactly one event for pid ${r.pid}; all: ${all}`);
          const e = mine[0]!;
          assert.ok(
            e.timeUnixNano >= t0 - 1_000_000_000n && e.timeUnixNano <= t1 + 1_000_000_000n,
            `time ${e.timeUnixNano} not in [${t0}, ${t1}]`,
          );
          assert.deepEqual(e, {
            type: 'soconnect',
            timeUnixNano: e.timeUnixNano,
            pid: r.pid,
            tid: r.pid,
            comm: r === ok ? 'tfook' : 'tfodrop',
            cgroupId,
            family: 'ipv4',
            saddr: net.client4,
            sport: r.localPort,
            daddr: net.server4,
            dport,
            // the real handshake's outcome, not connect(2)'s 0
            result: r.result,
            latencyNs: e.latencyNs,
            // connect(2) returned 0, not EINPROGRESS
            nonBlocking: false,
          });
          // connect(2) entry to the end of the handshake, which began with the
          // first write WRITE_DELAY_MS later; never more than the fixture measured.
          const min = r === ok ? WRITE_DELAY_MS * 1e6 : WRITE_DELAY_MS * 1e6 + 1e9;
          const max = r === ok ? WRITE_DELAY_MS * 1e6 + 500e6 : 10e9;
          assert.ok(
            e.latencyNs >= min && e.latencyNs < max,
            `${e.comm}: latency ${e.latencyNs} not in [${min}, ${max})`,
          );
          assert.ok(
            e.latencyNs <= r.ms * 1e6 + 5_000_000,
            `${e.comm}: latency ${e.latencyNs} ns exceeds what the fixture measured (${r.ms} ms)`,
          );
        }

        // sendto(MSG_FASTOPEN) connects without connect(2): not reported (manifest limitations).
        const st = results.get('tfosendto')!;
        assert.deepEqual([st.result, st.synData], ['ESTABLISHED', true], JSON.stringify(st));
        assert.deepEqual(
          events.filter((e) => e.pid === st.pid),
          [],
          `sendto(MSG_FASTOPEN) is not a connect(2); all: ${all}`,
        );
      } finally {
        await server.stop();
      }
    });
  },
);
