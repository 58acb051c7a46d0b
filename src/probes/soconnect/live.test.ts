/**
 * Live test: real bpftrace + real connects between two private namespaces.
 * Needs root, bpftrace, iproute2 and nft; fails (never skips) without them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { SoConnectEvent } from '../../core/event.js';
import { runProbeDuring } from '../../../test/helpers/live.js';
import {
  cgroupIdOf,
  nftApply,
  nftRuleset,
  nsSysctl,
  runNodeFixture,
  startNodeServer,
  withNetPair,
} from '../../../test/helpers/netlab.js';
import type { NsProcess } from '../../../test/helpers/netlab.js';
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

void test(
  'soconnect live: blocking and non-blocking, v4 and v6, success / refused / timeout / unreachable',
  { timeout: 150_000 },
  async () => {
    const root = repoRoot();
    const fixture = (name: string): string => join(root, 'test/fixtures', name);
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
          {
            send: async () => {
              await runNodeFixture(net.clientNs, fixture('tcpconnect.mjs'), [
                net.server4,
                String(CLOSED),
                '--comm',
                'canary',
              ]);
            },
            seen: (e) => e.type === 'soconnect' && e.comm === 'canary',
          },
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
