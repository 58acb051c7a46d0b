/**
 * Live test: real bpftrace + real retransmissions provoked with nftables drops
 * between two private namespaces. Needs root, bpftrace, iproute2 and nft;
 * fails (never skips) without them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { TcpRetransEvent } from '../../core/event.js';
import { runProbeDuring } from '../../../test/helpers/live.js';
import {
  nftApply,
  nftRuleset,
  nsSysctl,
  runNodeFixture,
  startNodeServer,
  withNetPair,
} from '../../../test/helpers/netlab.js';
import type { NsProcess } from '../../../test/helpers/netlab.js';
import { repoRoot } from '../../paths.js';
import { tcpretransProbe } from './index.js';

interface ConnectResult {
  pid: number;
  result: string;
  localAddress?: string;
  localPort?: number;
}

const SYN_DROP = 9202; // every SYN dropped → SYN_SENT retransmits, ETIMEDOUT
const DATA_DROP = 9203; // every segment with PSH dropped → ESTABLISHED retransmits
const ACK_DROP = 9204; // the handshake's final ACK dropped → SYN-ACK retransmits

void test(
  'tcpretrans live: SYN_SENT, ESTABLISHED (v4 and v6) and SYN-ACK retransmits',
  { timeout: 120_000 },
  async () => {
    const root = repoRoot();
    const fixture = (name: string): string => join(root, 'test/fixtures', name);
    await withNetPair(async (net) => {
      await nsSysctl(net.clientNs, 'net.ipv4.tcp_syn_retries', '1');
      await nftApply(
        net.serverNs,
        nftRuleset('netspan_test', 'input', [
          `tcp dport ${SYN_DROP} tcp flags & (syn | ack) == syn drop`,
          `tcp dport ${DATA_DROP} tcp flags & psh == psh drop`,
          `tcp dport ${ACK_DROP} tcp flags == ack drop`,
        ]),
      );
      const servers: NsProcess[] = [];
      try {
        for (const addr of [net.server4, net.server6]) {
          for (const port of [DATA_DROP, ACK_DROP])
            servers.push(await startNodeServer(net.serverNs, fixture('tcpserver.mjs'), [addr, String(port)]));
        }
        const r = new Map<string, ConnectResult>();
        const connect = async (name: string, args: string[]): Promise<void> => {
          r.set(
            name,
            await runNodeFixture<ConnectResult>(net.clientNs, fixture('tcpconnect.mjs'), [...args, '--comm', name]),
          );
        };
        const live = await runProbeDuring(tcpretransProbe, async () => {
          await Promise.all([
            connect('syn4', [net.server4, String(SYN_DROP)]),
            connect('data4', [net.server4, String(DATA_DROP), '--send-ms', '1200']),
            connect('data6', [net.server6, String(DATA_DROP), '--send-ms', '1200']),
            connect('synack4', [net.server4, String(ACK_DROP), '--hold-ms', '1600']),
            connect('synack6', [net.server6, String(ACK_DROP), '--hold-ms', '1600']),
          ]);
        });
        assert.deepEqual(live.errors, [], `parse errors; bpftrace stderr: ${live.stderr}`);
        assert.equal(r.get('syn4')?.result, 'ETIMEDOUT');
        for (const n of ['data4', 'data6', 'synack4', 'synack6'])
          assert.equal(r.get(n)?.result, 'ESTABLISHED', `fixture ${n}`);
        const events = live.events.filter((e): e is TcpRetransEvent => e.type === 'tcpretrans');
        const describe = (): string =>
          JSON.stringify(events.map((e) => [e.saddr, e.sport, e.daddr, e.dport, e.state, e.comm]));

        // SYN_SENT: client → server:SYN_DROP, the first SYN retransmitted at ~1 s.
        const syn = events.filter((e) => e.dport === SYN_DROP && e.daddr === net.server4);
        assert.ok(syn.length >= 1 && syn.length <= 3, `SYN retransmits: ${describe()}`);
        for (const e of syn) {
          assert.deepEqual([e.family, e.saddr, e.daddr, e.state], ['ipv4', net.client4, net.server4, 'SYN_SENT']);
          assert.ok(e.sport >= 1024);
          assert.ok(e.pid >= 0 && e.comm.length > 0);
        }
        assert.equal(new Set(syn.map((e) => e.sport)).size, 1, 'one connection');

        // ESTABLISHED data retransmits, v4 and v6, exact 4-tuple from the fixture's own view.
        for (const [name, family, saddr, daddr] of [
          ['data4', 'ipv4', net.client4, net.server4],
          ['data6', 'ipv6', net.client6, net.server6],
        ] as const) {
          const sport = r.get(name)!.localPort!;
          const mine = events.filter((e) => e.sport === sport && e.dport === DATA_DROP && e.daddr === daddr);
          const established = mine.filter((e) => e.state === 'ESTABLISHED');
          assert.ok(established.length >= 2, `${name}: ESTABLISHED retransmits for sport ${sport}: ${describe()}`);
          for (const e of mine) {
            assert.equal(e.family, family);
            assert.equal(e.saddr, saddr);
            assert.ok(
              ['ESTABLISHED', 'FIN_WAIT1', 'CLOSING', 'LAST_ACK'].includes(e.state),
              `${name}: state ${e.state}`,
            );
          }
        }

        // SYN-ACK retransmits by the server, towards the client's port.
        for (const [name, family, saddr, daddr] of [
          ['synack4', 'ipv4', net.server4, net.client4],
          ['synack6', 'ipv6', net.server6, net.client6],
        ] as const) {
          const cport = r.get(name)!.localPort!;
          const mine = events.filter((e) => e.state === 'SYN_RECV' && e.dport === cport && e.sport === ACK_DROP);
          assert.ok(mine.length >= 1, `${name}: SYN-ACK retransmit to port ${cport}: ${describe()}`);
          for (const e of mine) assert.deepEqual([e.family, e.saddr, e.daddr], [family, saddr, daddr]);
        }
      } finally {
        for (const s of servers) await s.stop();
      }
    });
  },
);
