/**
 * End to end against the real kernel, through the CLI a user runs:
 * `bin/netspan run` with all five probes, real traffic between two network
 * namespaces this test creates (nftables makes the kernel drop and
 * retransmit), the JSON records on stdout checked field by field, the
 * accounting line checked, and the --record file replayed to the same records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../../src/paths.js';
import {
  checkNetlabPrerequisites,
  createNetPairWithHosts,
  nftApply,
  nftRuleset,
  nsRun,
  nsSysctl,
  runNodeFixture,
  startNodeServer,
  type NetPair,
} from '../helpers/netlab.js';
import { until } from '../helpers/faults.js';

const root = repoRoot();
const netspan = join(root, 'bin/netspan');
const fixture = (f: string) => join(root, 'test/fixtures', f);
const HOST = 'payments.e2e.test';

type Rec = Record<string, unknown>;

interface ConnectResult {
  pid: number;
  result: string;
  localAddress?: string;
  localPort?: number;
}

test(
  'netspan run: all five probes, real traffic, records field by field, counters add up, replay reproduces them',
  { timeout: 120_000 },
  async () => {
    await checkNetlabPrerequisites();
    const dir = await mkdtemp(join(tmpdir(), 'netspan-e2e-'));
    let net: NetPair | undefined;
    let destroyLab: (() => Promise<void>) | undefined;
    try {
      // A name only the client namespace resolves (its own /etc/hosts).
      const lab = await createNetPairWithHosts((n) => ({ [HOST]: n.server4 }));
      net = lab.net;
      destroyLab = lab.destroy;
      await nsSysctl(net.clientNs, 'net.ipv4.tcp_syn_retries', '1');
      // Server side: SYNs to 9002 and datagrams to 9003 are dropped by netfilter.
      await nftApply(net.serverNs, nftRuleset('e2e', 'input', ['tcp dport 9002 drop', 'udp dport 9003 drop']));

      const cfg = join(dir, 'netspan.yaml');
      await writeFile(
        cfg,
        `probes: { soconnect: {}, tcpretrans: {}, gethostlatency: {}, skbdrop: {}, udpconnect: {} }
exporters: { stdout: { format: json } }
pipelines:
  all: { probes: [soconnect, tcpretrans, gethostlatency, skbdrop, udpconnect], exporters: [stdout] }
`,
      );
      const rec = join(dir, 'live.rec');
      const daemon = execa(process.execPath, [netspan, 'run', '--config', cfg, '--record', rec, '--duration', '90'], {
        reject: false,
        buffer: true,
        stdin: 'ignore',
        timeout: 110_000,
      });
      let stderr = '';
      daemon.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      await until(
        () => stderr.includes('"msg":"netspan running"') || daemon.exitCode !== null,
        60_000,
        'netspan to attach its probes',
      );
      assert.match(stderr, /"attached":\["[a-z",]+\],"failed":\[\]/, `all probes attach:\n${stderr}`);

      const server = await startNodeServer(net.serverNs, fixture('tcpserver.mjs'), [net.server4, '9000']);
      const server6 = await startNodeServer(net.serverNs, fixture('tcpserver.mjs'), [net.server6, '9006']);
      const ok = await runNodeFixture<ConnectResult>(net.clientNs, fixture('tcpconnect.mjs'), [
        net.server4,
        '9000',
        '--comm',
        'e2e-ok',
      ]);
      const ok6 = await runNodeFixture<ConnectResult>(net.clientNs, fixture('tcpconnect.mjs'), [
        net.server6,
        '9006',
        '--comm',
        'e2e-ok6',
      ]);
      const refused = await runNodeFixture<ConnectResult>(net.clientNs, fixture('tcpconnect.mjs'), [
        net.server4,
        '9001',
        '--comm',
        'e2e-refused',
      ]);
      const timedOut = await runNodeFixture<ConnectResult>(net.clientNs, fixture('tcpconnect.mjs'), [
        net.server4,
        '9002',
        '--comm',
        'e2e-timeout',
      ]);
      const udp = await runNodeFixture<ConnectResult>(net.clientNs, fixture('udpconnect.mjs'), [
        net.server4,
        '9003',
        '--comm',
        'e2e-udp',
      ]);
      // A datagram to the filtered port: NETFILTER_DROP for UDP too.
      await nsRun(net.clientNs, 'python3', [
        '-c',
        `import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("${net.server4}", 9003))`,
      ]);
      const dns = await nsRun(net.clientNs, 'python3', [
        fixture('resolve.py'),
        'gai',
        Buffer.from(HOST).toString('hex'),
      ]);
      const lookup = JSON.parse(dns.stdout.trim().split('\n').pop()!) as { pid: number };
      await server.stop();
      await server6.stop();
      assert.equal(ok.result, 'ESTABLISHED');
      assert.equal(refused.result, 'ECONNREFUSED');
      assert.equal(timedOut.result, 'ETIMEDOUT');
      assert.equal(udp.result, 'OK');

      await new Promise((r) => setTimeout(r, 1500));
      const stopAt = Date.now();
      daemon.kill('SIGTERM');
      const result = await daemon;
      assert.equal(result.exitCode, 0, `exit 0 on SIGTERM; stderr:\n${stderr}`);
      assert.ok(Date.now() - stopAt < 10_000, 'stops within a few seconds');

      const records = String(result.stdout)
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Rec);
      const mine = (type: string, pred: (r: Rec) => boolean) => records.filter((r) => r.type === type && pred(r));

      // TCP connects: success (v4 and v6), refused, timed out.
      const [c1] = mine('soconnect', (r) => r.pid === ok.pid);
      assert.ok(c1, 'connect event for the successful connect');
      assert.equal(c1.comm, 'e2e-ok');
      assert.equal(c1.family, 'ipv4');
      assert.equal(c1.saddr, net.client4);
      assert.equal(c1.sport, ok.localPort);
      assert.equal(c1.daddr, net.server4);
      assert.equal(c1.dport, 9000);
      assert.equal(c1.result, 'ESTABLISHED');
      assert.equal(c1.non_blocking, true);
      assert.ok((c1.latency_ns as number) > 0 && (c1.latency_ns as number) < 1e9);
      assert.equal(c1.schema_version, 1);
      assert.match(c1.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      const [c6] = mine('soconnect', (r) => r.pid === ok6.pid);
      assert.equal(c6?.family, 'ipv6');
      assert.equal(c6?.daddr, net.server6);
      assert.equal(c6?.result, 'ESTABLISHED');
      const [c2] = mine('soconnect', (r) => r.pid === refused.pid);
      assert.equal(c2?.result, 'ECONNREFUSED');
      assert.equal(c2?.dport, 9001);
      const [c3] = mine('soconnect', (r) => r.pid === timedOut.pid);
      assert.equal(c3?.result, 'ETIMEDOUT');
      assert.equal(c3?.comm, 'e2e-timeout');
      assert.ok((c3?.latency_ns as number) >= 1e9, `timed-out connect took ${String(c3?.latency_ns)} ns`);

      // The SYNs of the timed-out connect were retransmitted.
      const retrans = mine('tcpretrans', (r) => r.daddr === net!.server4 && r.dport === 9002 && r.sport === c3?.sport);
      assert.ok(retrans.length >= 1, 'SYN retransmits seen');
      assert.deepEqual([...new Set(retrans.map((r) => r.state))], ['SYN_SENT']);

      // UDP connect.
      const [u] = mine('udpconnect', (r) => r.pid === udp.pid);
      assert.equal(u?.comm, 'e2e-udp');
      assert.equal(u?.daddr, net.server4);
      assert.equal(u?.dport, 9003);
      assert.equal(u?.sport, udp.localPort);
      assert.equal(u?.result, 'OK');

      // DNS lookup from the namespace-local hosts file, with its answer.
      const [d] = mine('gethostlatency', (r) => r.pid === lookup.pid && r.host === HOST);
      assert.ok(d, 'lookup event');
      assert.equal(d.func, 'getaddrinfo');
      assert.equal(d.result, 'OK');
      assert.deepEqual(d.addresses, [net.server4]);
      assert.equal(d.comm, 'python3');

      // Drops: netfilter dropped the SYNs and the datagram; the RST case dropped the SYN with NO_SOCKET.
      const nfTcp = mine(
        'skbdrop',
        (r) => r.reason === 'NETFILTER_DROP' && r.daddr === net!.server4 && r.dport === 9002,
      );
      assert.ok(nfTcp.length >= 2, `NETFILTER_DROP of the SYNs: ${nfTcp.length}`);
      assert.equal(nfTcp[0]!.l4_protocol, 'TCP');
      assert.equal(nfTcp[0]!.protocol, 'IPv4');
      assert.ok((nfTcp[0]!.stack as string[]).length > 3);
      const nfUdp = mine(
        'skbdrop',
        (r) => r.reason === 'NETFILTER_DROP' && r.dport === 9003 && r.l4_protocol === 'UDP',
      );
      assert.ok(nfUdp.length >= 1, 'NETFILTER_DROP of the datagram');
      const noSock = mine('skbdrop', (r) => r.reason === 'NO_SOCKET' && r.daddr === net!.server4 && r.dport === 9001);
      assert.equal(noSock.length, 1, 'NO_SOCKET drop of the refused SYN');
      assert.equal(noSock[0]!.sport, c2?.sport);

      // Accounting: every event received was sent; nothing dropped, nothing lost, no parse errors.
      const summaryLine = stderr.split('\n').find((l) => l.includes('"msg":"netspan stopped"'));
      assert.ok(summaryLine, 'summary line');
      const summary = JSON.parse(summaryLine) as Rec;
      assert.equal(summary.events_received, records.length);
      assert.equal(summary.events_sent, records.length);
      assert.deepEqual(summary.events_dropped, {});
      assert.equal(summary.kernel_lost, 0);
      assert.equal(
        summary.parse_errors,
        0,
        `parse errors: ${stderr
          .split('\n')
          .filter((l) => /parse|error_type/i.test(l))
          .join('\n')
          .slice(0, 4000)}`,
      );

      // Replaying the record file through the same pipeline gives the same records.
      const replay = await execa(process.execPath, [netspan, 'run', '--config', cfg, '--replay', rec], {
        reject: false,
        timeout: 60_000,
      });
      assert.equal(replay.exitCode, 0, String(replay.stderr));
      const replayed = String(replay.stdout).split('\n').filter(Boolean);
      assert.deepEqual(replayed.sort(), String(result.stdout).split('\n').filter(Boolean).sort());
    } finally {
      await destroyLab?.();
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test('netspan run --duration stops by itself, flushing, exit 0', { timeout: 60_000 }, async () => {
  const started = Date.now();
  const r = await execa(process.execPath, [netspan, 'run', '--duration', '3'], {
    reject: false,
    timeout: 50_000,
    stdin: 'ignore',
  });
  const took = Date.now() - started;
  assert.equal(r.exitCode, 0, String(r.stderr));
  assert.ok(took >= 3000 && took < 45_000, `took ${took} ms`);
  assert.match(String(r.stderr), /"msg":"netspan stopped"/);
  for (const line of String(r.stdout).split('\n').filter(Boolean)) {
    const rec = JSON.parse(line) as Rec;
    assert.ok(['soconnect', 'tcpretrans', 'gethostlatency', 'skbdrop', 'udpconnect'].includes(rec.type as string));
  }
});
