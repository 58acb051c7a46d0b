/**
 * Live test: real bpftrace + real UDP connects inside a private namespace.
 * Needs root, bpftrace and iproute2; fails (never skips) without them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { UdpConnectEvent } from '../../core/event.js';
import { runProbeDuring } from '../../../test/helpers/live.js';
import { cgroupIdOf, runNodeFixture, withNetPair } from '../../../test/helpers/netlab.js';
import { repoRoot } from '../../paths.js';
import { udpconnectProbe } from './index.js';

interface UdpResult {
  pid: number;
  result: string;
  localAddress?: string;
  localPort?: number;
}

const HOSTILE_COMM = Buffer.from('u\td\nq"\\\xfez', 'latin1');

void test('udpconnect live: IPv4, IPv6, unreachable, hostile comm', { timeout: 120_000 }, async () => {
  const script = join(repoRoot(), 'test/fixtures/udpconnect.mjs');
  const cgroupId = await cgroupIdOf('self');
  await withNetPair(async (net) => {
    const unroutable = `10.200.${(net.subnet % 254) + 1}.9`;
    const runs: [string, string[], string, string][] = [
      // name, args, expected result, expected daddr
      ['udp4ok', [net.server4, '5353', '--comm', 'udp4ok'], 'OK', net.server4],
      ['udp6ok', [net.server6, '5353', '--comm', 'udp6ok'], 'OK', net.server6],
      ['udp4unreach', [unroutable, '53', '--comm', 'udp4unreach'], 'ENETUNREACH', unroutable],
      ['hostile', [net.server4, '5353', '--comm-hex', HOSTILE_COMM.toString('hex')], 'OK', net.server4],
    ];
    const results = new Map<string, UdpResult>();
    const t0 = BigInt(Date.now()) * 1_000_000n;
    const live = await runProbeDuring(
      udpconnectProbe,
      async () => {
        for (const [name, args] of runs) results.set(name, await runNodeFixture<UdpResult>(net.clientNs, script, args));
      },
      500,
      undefined,
      // until the probe reports one: a UDP connect named "canary" (see Canary)
      {
        send: async () => {
          await runNodeFixture(net.clientNs, script, [net.server4, '5354', '--comm', 'canary']);
        },
        seen: (e) => e.type === 'udpconnect' && e.comm === 'canary',
      },
    );
    const t1 = BigInt(Date.now()) * 1_000_000n;
    assert.deepEqual(live.errors, [], `parse errors; bpftrace stderr: ${live.stderr}`);
    const events = live.events.filter((e): e is UdpConnectEvent => e.type === 'udpconnect');
    for (const [name, args, want, daddr] of runs) {
      const r = results.get(name)!;
      assert.equal(r.result, want, `fixture ${name} itself got ${r.result}`);
      const mine = events.filter((e) => e.pid === r.pid);
      assert.equal(
        mine.length,
        1,
        `${name}: expected one event for pid ${r.pid}; all: ${JSON.stringify(events.map((e) => [e.pid, e.comm]))}`,
      );
      const e = mine[0]!;
      const v6 = name === 'udp6ok';
      assert.equal(e.comm, name === 'hostile' ? 'u\td\nq"\\\uFFFDz' : name);
      assert.equal(e.tid, r.pid);
      assert.equal(e.cgroupId, cgroupId);
      assert.ok(e.timeUnixNano >= t0 - 1_000_000_000n && e.timeUnixNano <= t1 + 1_000_000_000n, `${name}: time`);
      assert.equal(e.family, v6 ? 'ipv6' : 'ipv4');
      assert.equal(e.daddr, daddr);
      assert.equal(e.dport, Number(args[1]));
      assert.equal(e.result, want);
      assert.ok(e.latencyNs > 0 && e.latencyNs < 500_000_000, `${name}: latency ${e.latencyNs}`);
      if (want === 'OK') {
        assert.equal(e.saddr, r.localAddress, `${name}: saddr`);
        assert.equal(e.sport, r.localPort, `${name}: sport`);
        assert.equal(e.saddr, v6 ? net.client6 : net.client4);
      } else {
        // Node binds to 0.0.0.0:<ephemeral> before connect(2); the failed connect picks no source address.
        assert.equal(e.saddr, '0.0.0.0');
        assert.ok(e.sport > 0);
      }
    }
  });
});
