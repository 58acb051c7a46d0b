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
const ONE_DROP = 9205; // the connection's 12th packet dropped, segments behind it → one fast retransmit
const TAIL_DROP = 9206; // everything after the handshake dropped, one write → a tail loss probe, then RTOs
const WINDOW_DROP = 9207; // packets 4-8 dropped under a 100 kB write → RTOs, then the rest resent on ACKs (Loss)

void test(
  'tcpretrans live: SYN_SENT, ESTABLISHED (v4 and v6) and SYN-ACK retransmits; RTO, tail loss probe and fast retransmit',
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
          `tcp dport ${ONE_DROP} ct original packets 12 drop`,
          `tcp dport ${TAIL_DROP} ct original packets >= 3 drop`,
          `tcp dport ${WINDOW_DROP} ct original packets 4-8 drop`,
        ]),
      );
      // conntrack's packet counters, for the ONE_DROP, TAIL_DROP and WINDOW_DROP rules (conntrack is loaded by the ruleset's ct match)
      await nsSysctl(net.serverNs, 'net.netfilter.nf_conntrack_acct', '1');
      const servers: NsProcess[] = [];
      try {
        for (const addr of [net.server4, net.server6]) {
          for (const port of [DATA_DROP, ACK_DROP, ONE_DROP, TAIL_DROP, WINDOW_DROP])
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
            // 1 KiB every 2 ms: the segment sent after the lost one is SACKed 2 ms later, long before the probe
            // timer (about 2 RTT + 200 ms with one segment in flight) or the RTO could fire
            connect('fast4', [net.server4, String(ONE_DROP), '--send-ms', '600', '--send-every', '2']),
            connect('fast6', [net.server6, String(ONE_DROP), '--send-ms', '600', '--send-every', '2']),
            // one 1 KiB write at 1000 ms, nothing after it to send: the probe resends it, then the RTO does
            connect('tail4', [net.server4, String(TAIL_DROP), '--send-ms', '1600', '--send-every', '1000']),
            connect('tail6', [net.server6, String(TAIL_DROP), '--send-ms', '1600', '--send-every', '1000']),
            // RTOs at ~0.2, 0.6, 1.4 s ... until one gets past the dropped window, then ACKs clock out the rest
            connect('window4', [net.server4, String(WINDOW_DROP), '--hold-ms', '2600', '--burst', '100000']),
          ]);
        });
        assert.deepEqual(live.errors, [], `parse errors; bpftrace stderr: ${live.stderr}`);
        assert.equal(r.get('syn4')?.result, 'ETIMEDOUT');
        for (const n of ['data4', 'data6', 'synack4', 'synack6', 'fast4', 'fast6', 'tail4', 'tail6', 'window4'])
          assert.equal(r.get(n)?.result, 'ESTABLISHED', `fixture ${n}`);
        const events = live.events.filter((e): e is TcpRetransEvent => e.type === 'tcpretrans');
        const describe = (): string =>
          JSON.stringify(events.map((e) => [e.saddr, e.sport, e.daddr, e.dport, e.state, e.kind, e.comm]));

        // SYN_SENT: client → server:SYN_DROP, the first SYN retransmitted at ~1 s.
        const syn = events.filter((e) => e.dport === SYN_DROP && e.daddr === net.server4);
        assert.ok(syn.length >= 1 && syn.length <= 3, `SYN retransmits: ${describe()}`);
        for (const e of syn) {
          assert.deepEqual(
            [e.family, e.saddr, e.daddr, e.state, e.kind],
            ['ipv4', net.client4, net.server4, 'SYN_SENT', 'rto'],
          );
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
          // Writes queued behind a lost segment go out coalesced and split, the first part without PSH, so it
          // arrives and its SACK starts a fast retransmit; the PSH-carrying resends are lost too: RTOs follow.
          assert.ok(
            mine.every((e) => e.kind === 'rto' || e.kind === 'loss' || e.kind === 'fast' || e.kind === 'tlp'),
            `${name}: kinds: ${describe()}`,
          );
          assert.ok(
            mine.some((e) => e.kind === 'rto'),
            `${name}: an RTO: ${describe()}`,
          );
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
          for (const e of mine)
            assert.deepEqual([e.family, e.saddr, e.daddr, e.kind], [family, saddr, daddr, 'synack']);
        }

        // One lost segment with later ones SACKed: exactly one fast retransmit (Recovery) and no RTO. (Only a stall of
        // the sender of ~200 ms right after the loss could let the probe timer fire first: then a tlp comes before.)
        for (const [name, family, saddr, daddr] of [
          ['fast4', 'ipv4', net.client4, net.server4],
          ['fast6', 'ipv6', net.client6, net.server6],
        ] as const) {
          const sport = r.get(name)!.localPort!;
          const mine = events.filter((e) => e.sport === sport && e.dport === ONE_DROP);
          const fast = mine.filter((e) => e.kind !== 'tlp');
          assert.deepEqual(
            fast.map((e) => [e.family, e.saddr, e.daddr, e.state, e.kind]),
            [[family, saddr, daddr, 'ESTABLISHED', 'fast']],
            `${name}: ${describe()}`,
          );
          assert.ok(mine.length - fast.length <= 1, `${name}: ${describe()}`);
        }

        // Several flights lost: the timer's resends (Loss, no timer armed while it runs) until one arrives, then the
        // segments behind it resent in loss recovery as its ACKs come (Loss, the timer armed again); a packet of the
        // window sent later may be lost too and come back as a fast retransmit.
        const windowPort = r.get('window4')!.localPort!;
        const win = events.filter((e) => e.sport === windowPort && e.dport === WINDOW_DROP);
        const firstRto = win.findIndex((e) => e.kind === 'rto');
        const firstLoss = win.findIndex((e) => e.kind === 'loss');
        assert.ok(firstRto >= 0 && firstLoss > firstRto, `window4: ${describe()}`);
        assert.ok(
          win.every(
            (e) => ['tlp', 'rto', 'loss', 'fast'].includes(e.kind) && ['ESTABLISHED', 'FIN_WAIT1'].includes(e.state),
          ),
          `window4: ${describe()}`,
        );

        // The only segment in flight lost: the probe timer fires first and resends it (Open state), then the RTO.
        // (Seen once on a loaded machine: the first resend reported was the RTO's. Likely the probe's resend failed
        // with EBUSY, the original still queued in the host, which the probe leaves out (err != 0). So: a tlp first
        // in at least one of the two.)
        let probed = 0;
        for (const name of ['tail4', 'tail6']) {
          const port = r.get(name)!.localPort!;
          const tail = events.filter((e) => e.sport === port && e.dport === TAIL_DROP);
          assert.ok(tail.length >= 2, `${name}: ${describe()}`);
          assert.equal(tail[0]!.state, 'ESTABLISHED', `${name}: ${describe()}`);
          if (tail[0]!.kind === 'tlp') probed++;
          assert.ok(
            tail.slice(tail[0]!.kind === 'tlp' ? 1 : 0).every((e) => e.kind === 'rto'),
            `${name}: ${describe()}`,
          );
        }
        assert.ok(probed >= 1, `no tail loss probe: ${describe()}`);
      } finally {
        for (const s of servers) await s.stop();
      }
    });
  },
);
