/**
 * End to end with every real part at once: live bpftrace probes, traffic from
 * a process inside a real cgroup shaped like a containerd pod, the real
 * Kubernetes informer against a local API server that knows that pod, and
 * both exporters — OTLP/gRPC to a real server decoding the official protos,
 * Kafka records to librdkafka's mock cluster read back with kcat.
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
  nsSysctl,
  startNodeServer,
  type NetPair,
} from '../helpers/netlab.js';
import { until } from '../helpers/faults.js';
import { testCgroups, type TestCgroups } from '../helpers/cgroups.js';
import { FakeK8sApi, pod, replicaSet } from '../helpers/k8s-api-server.js';
import { OtlpTestServer, attrs, hex } from '../helpers/otlp-server.js';
import { consumeAll, startMockCluster, type MockCluster } from '../helpers/kafka-mock.js';

const root = repoRoot();
const fixture = (f: string) => join(root, 'test/fixtures', f);
const HOST = 'payments.shop.e2e';
const UID = '5a1e0c3d-77aa-4bb0-9c1d-0123456789ab';
const CID = 'c0ffee'.padEnd(64, '7');
type Rec = Record<string, unknown>;

test(
  'live events from a pod are enriched and exported as OTLP traces/logs/metrics and Kafka records',
  { timeout: 180_000 },
  async () => {
    await checkNetlabPrerequisites();
    const dir = await mkdtemp(join(tmpdir(), 'netspan-e2e-'));
    let net: NetPair | undefined;
    let destroyLab: (() => Promise<void>) | undefined;
    let cgs: TestCgroups | undefined;
    let kafka: MockCluster | undefined;
    const otlp = await OtlpTestServer.start();
    const api = new FakeK8sApi();
    const cleanups: (() => Promise<void>)[] = [];
    try {
      kafka = await startMockCluster(1);
      await api.listen();
      api.upsert('replicasets', replicaSet({ name: 'web-7d9f8', namespace: 'shop', deployment: 'web' }));
      api.upsert(
        'pods',
        pod({
          name: 'web-7d9f8-abcde',
          namespace: 'shop',
          uid: UID,
          node: 'node-e2e',
          ip: '10.244.0.7',
          labels: { 'app.kubernetes.io/name': 'storefront' },
          owner: { kind: 'ReplicaSet', name: 'web-7d9f8' },
          containers: [{ name: 'web', id: `containerd://${CID}` }],
        }),
      );
      const kube = await FakeK8sApi.kubeconfigFor(api.port);
      cleanups.push(kube.cleanup);
      const kubeconfig = kube.path;

      cgs = await testCgroups();
      const leaf = await cgs.create(
        `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replaceAll('-', '_')}.slice/cri-containerd-${CID}.scope`,
      );
      const procs = join(cgs.mount, leaf.path);

      const lab = await createNetPairWithHosts((n) => ({ [HOST]: n.server4 }));

      net = lab.net;

      destroyLab = lab.destroy;
      await nsSysctl(net.clientNs, 'net.ipv4.tcp_syn_retries', '1');
      await nftApply(net.serverNs, nftRuleset('e2e', 'input', ['tcp dport 9002 drop']));
      // Dropped on the way out of the pod: the packet still belongs to the pod's socket.
      await nftApply(net.clientNs, nftRuleset('e2eout', 'output', ['udp dport 9005 drop']));

      const cfg = join(dir, 'netspan.yaml');
      await writeFile(
        cfg,
        `probes: { soconnect: {}, tcpretrans: {}, gethostlatency: {}, skbdrop: {}, udpconnect: {} }
processors:
  process: {}
  container: {}
  k8s: { kubeconfig: ${kubeconfig}, node_name: node-e2e, labels: [app.kubernetes.io/name] }
  peer: {}
exporters:
  otlp:
    endpoint: http://127.0.0.1:${otlp.port}
    metrics: { export_interval_ms: 500 }
    queue: { scheduled_delay_ms: 50 }
  kafka:
    brokers: ${kafka.bootstrap}
    encoding: json
    queue: { scheduled_delay_ms: 50 }
pipelines:
  all:
    probes: [soconnect, tcpretrans, gethostlatency, skbdrop, udpconnect]
    processors: [process, container, k8s, peer]
    exporters: [otlp, kafka]
`,
      );
      const daemon = execa(process.execPath, [join(root, 'bin/netspan'), 'run', '--config', cfg, '--duration', '150'], {
        reject: false,
        stdin: 'ignore',
        timeout: 170_000,
      });
      let stderr = '';
      daemon.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      await until(
        () => stderr.includes('"msg":"netspan running"') || daemon.exitCode !== null,
        60_000,
        'netspan to start',
      );
      assert.match(stderr, /"failed":\[\]/, stderr);
      await new Promise((r) => setTimeout(r, 1500)); // informer sync

      // Enter the pod's cgroup first, then the namespace (`ip netns exec` remounts /sys, hiding the cgroup tree).
      const inPodRun = (cmd: string, args: string[]) =>
        execa(process.execPath, [fixture('in-cgroup.mjs'), procs, 'ip', 'netns', 'exec', net!.clientNs, cmd, ...args], {
          reject: false,
          timeout: 20_000,
          stdin: 'ignore',
        });
      const inPod = async (script: string, args: string[]) => {
        const r = await inPodRun(process.execPath, [fixture(script), ...args]);
        return JSON.parse(String(r.stdout).trim().split('\n').pop() ?? '') as {
          pid: number;
          result: string;
          localPort?: number;
        };
      };
      const server = await startNodeServer(net.serverNs, fixture('tcpserver.mjs'), [net.server4, '9000']);
      // --linger-ms: the processes outlive their events' way through bpftrace (a process that exits
      // before its line is read cannot be named from /proc; src/processors/process tests prime() for that)
      const ok = await inPod('tcpconnect.mjs', [HOST, '9000', '--comm', 'storefront', '--linger-ms', '500']);
      const slow = await inPod('tcpconnect.mjs', [HOST, '9002', '--comm', 'storefront', '--linger-ms', '500']);
      const udp = await inPod('udpconnect.mjs', [net.server4, '9005', '--comm', 'storefront']);
      await inPodRun('python3', [
        '-c',
        `import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("${net.server4}", 9005))`,
      ]);
      await server.stop();
      assert.equal(ok.result, 'ESTABLISHED');
      assert.equal(slow.result, 'ETIMEDOUT');
      assert.equal(udp.result, 'OK');
      // stop once both connects have gone all the way through (on a busy machine bpftrace's
      // output can take longer than any fixed pause); the stop flushes what is still queued
      const exported = (pid: number | undefined) =>
        otlp.allSpans().some((s) => s.span.name === 'connect' && attrs(s.span.attributes)['process.pid'] === pid);
      await until(() => exported(ok.pid) && exported(slow.pid), 20_000, 'both connect spans at the collector');
      await new Promise((r) => setTimeout(r, 300));
      daemon.kill('SIGTERM');
      const result = await daemon;
      assert.equal(result.exitCode, 0, stderr);
      const summary = JSON.parse(stderr.split('\n').find((l) => l.includes('"msg":"netspan stopped"'))!) as Rec;
      assert.deepEqual(summary.events_dropped, {}, 'nothing dropped');
      assert.equal(summary.events_sent, 2 * (summary.events_received as number), 'every event reached both exporters');

      const podAttrs = {
        'k8s.pod.name': 'web-7d9f8-abcde',
        'k8s.namespace.name': 'shop',
        'k8s.pod.uid': UID,
        'container.id': CID,
        'k8s.deployment.name': 'web',
        'k8s.node.name': 'node-e2e',
      };
      const hasPod = (a: Rec | undefined) => Object.entries(podAttrs).every(([k, v]) => a?.[k] === v);

      // ---- Kafka: one topic per type, JSON records, enriched. ----
      const read = async (type: string) =>
        (await consumeAll(kafka!.bootstrap, `netspan.${type}`)).map((r) => JSON.parse(r.value.toString('utf8')) as Rec);
      const connects = (await read('soconnect')).filter((r) => r.pid === ok.pid || r.pid === slow.pid);
      assert.equal(connects.length, 2);
      for (const c of connects) {
        assert.ok(hasPod(c.attributes as Rec), `pod attributes on connect: ${JSON.stringify(c.attributes)}`);
        assert.equal((c.attributes as Rec)['server.address'], HOST, 'DNS name of the peer');
        assert.equal((c.attributes as Rec)['k8s.pod.label.app.kubernetes.io/name'], 'storefront');
        assert.equal((c.attributes as Rec)['process.executable.name'], 'node', JSON.stringify(c.attributes));
      }
      const lookups = (await read('gethostlatency')).filter((r) => r.host === HOST && r.pid === ok.pid);
      assert.ok(lookups.length >= 1 && hasPod(lookups[0]!.attributes as Rec), 'DNS lookup from the pod');
      assert.deepEqual(lookups[0]!.addresses, [net.server4]);
      const udpRecs = (await read('udpconnect')).filter((r) => r.pid === udp.pid);
      assert.equal(udpRecs.length, 1);
      assert.ok(hasPod(udpRecs[0]!.attributes as Rec));
      const retrans = (await read('tcpretrans')).filter((r) => r.dport === 9002 && r.daddr === net!.server4);
      assert.ok(retrans.length >= 1, 'SYN retransmits');
      assert.ok(
        retrans.every((r) => hasPod(r.attributes as Rec)),
        `retransmits attributed to the pod by the socket's cgroup: ${JSON.stringify(retrans.map((r) => r.attributes))}`,
      );
      assert.equal((retrans[0]!.attributes as Rec)['server.address'], HOST);
      const drops = (await read('skbdrop')).filter((r) => r.reason === 'NETFILTER_DROP' && r.dport === 9005);
      assert.ok(drops.length >= 1, 'egress drop');
      assert.ok(
        hasPod(drops[0]!.attributes as Rec),
        `drop attributed to the pod: ${JSON.stringify(drops[0]!.attributes)}`,
      );

      // ---- OTLP: spans with one resource per pod, DNS + connect in one trace, retransmits on the connect. ----
      const spans = otlp.allSpans();
      const connectSpans = spans.filter(
        (s) => s.span.name === 'connect' && attrs(s.span.attributes)['process.pid'] === ok.pid,
      );
      assert.equal(connectSpans.length, 1);
      const cs = connectSpans[0]!;
      const ra = attrs(cs.resource.attributes);
      assert.equal(ra['k8s.pod.name'], 'web-7d9f8-abcde');
      assert.equal(ra['k8s.namespace.name'], 'shop');
      assert.equal(ra['container.id'], CID);
      assert.equal(cs.span.kind, 'SPAN_KIND_CLIENT');
      assert.equal(attrs(cs.span.attributes)['server.address'], HOST);
      assert.equal(attrs(cs.span.attributes)['network.peer.address'], net.server4);
      const dnsSpan = spans.find(
        (s) => s.span.name.startsWith('dns.lookup') && attrs(s.span.attributes)['process.pid'] === ok.pid,
      );
      assert.ok(dnsSpan, 'DNS span');
      assert.equal(hex(dnsSpan.span.traceId), hex(cs.span.traceId), 'DNS lookup and connect share a trace');
      const slowSpan = spans.find(
        (s) => s.span.name === 'connect' && attrs(s.span.attributes)['process.pid'] === slow.pid,
      );
      assert.equal(slowSpan?.span.status.code, 'STATUS_CODE_ERROR');
      assert.equal(attrs(slowSpan.span.attributes)['error.type'], 'ETIMEDOUT');
      const retransInTrace =
        slowSpan.span.events.filter((e) => e.name === 'tcp.retransmit').length +
        spans.filter((s) => s.span.name === 'tcp.retransmit' && hex(s.span.traceId) === hex(slowSpan.span.traceId))
          .length;
      assert.ok(retransInTrace >= 1, "SYN retransmits belong to the timed-out connect's trace");

      // Logs: one per event, all five types present for the pod.
      const logTypes = new Set(
        otlp
          .allLogs()
          .filter((l) => attrs(l.resource.attributes)['k8s.pod.uid'] === UID)
          .map((l) => attrs(l.log.attributes)['netspan.event.type']),
      );
      assert.deepEqual([...logTypes].sort(), ['gethostlatency', 'skbdrop', 'soconnect', 'tcpretrans', 'udpconnect']);
      // Metrics.
      assert.ok(otlp.latestMetric('dns.lookup.duration')?.exponentialHistogram, 'dns.lookup.duration histogram');
      assert.ok(otlp.latestMetric('netspan.connect.duration')?.exponentialHistogram, 'connect duration histogram');
      assert.ok(otlp.latestMetric('netspan_events_received_total'), 'self-metrics');
    } finally {
      await destroyLab?.();
      if (cgs) await cgs.remove();
      await kafka?.stop();
      await api.stop();
      await otlp.stop();
      for (const c of cleanups) await c();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
