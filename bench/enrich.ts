/**
 * Enrichment cost per event (bounded run, prints figures):
 *   node dist/bench/enrich.js [events=200000]
 *
 * 500 pods are cached (one container each, cgroup directories faked under a
 * temp dir — the resolver only needs directory inodes), plus 500 replicasets
 * and 100 services. Every event is a cache hit for container + k8s + peer;
 * a no-op processor chain runs side by side in the same process as the
 * baseline. The process processor is measured separately for hits and for
 * misses (real /proc reads).
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetEvent } from '../src/core/event.js';
import type { ComponentContext, Processor } from '../src/pipeline/component.js';
import { withAttributes } from '../src/enrich/attrs.js';
import { Telemetry } from '../src/telemetry/internal-events.js';
import { silentLogger } from '../src/telemetry/log.js';
import { containerConfigSchema } from '../src/processors/container/config.js';
import { ContainerProcessor } from '../src/processors/container/processor.js';
import { k8sConfigSchema } from '../src/processors/k8s/config.js';
import { K8sProcessor } from '../src/processors/k8s/processor.js';
import { peerConfigSchema } from '../src/processors/peer/config.js';
import { PeerProcessor } from '../src/processors/peer/processor.js';
import { processConfigSchema } from '../src/processors/process/config.js';
import { ProcessProcessor } from '../src/processors/process/processor.js';

const PODS = 500;
const N = Math.min(Math.max(Number(process.argv[2] ?? 200_000), 1_000), 5_000_000);

function ctx(id: string): ComponentContext {
  return { id, telemetry: new Telemetry(silentLogger()), logger: silentLogger(), env: { NODE_NAME: 'bench-node' } };
}

function hex(i: number, len: number): string {
  return i.toString(16).padStart(len, '0');
}

function run(name: string, chain: Processor[], events: NetEvent[], n: number): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    let e: NetEvent | undefined = events[i % events.length];
    for (let j = 0; j < chain.length && e; j++) e = chain[j]!.process(e);
    if (e?.attributes) sink++;
  }
  const ns = Number(process.hrtime.bigint() - t0) / n;
  console.log(`${name.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/event  (${n} events, ${sink} enriched)`);
  return ns;
}

const dir = await mkdtemp(join(tmpdir(), 'netspan-bench-cg-'));
try {
  // --- fake cgroup tree: one containerd container per pod
  const cgroupIds: number[] = [];
  const uids: string[] = [];
  const cids: string[] = [];
  for (let i = 0; i < PODS; i++) {
    const uid = `${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}`;
    const cid = hex(i, 8).repeat(8);
    const path = join(
      dir,
      'kubepods.slice',
      'kubepods-burstable.slice',
      `kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice`,
      `cri-containerd-${cid}.scope`,
    );
    await mkdir(path, { recursive: true });
    cgroupIds.push(Number((await stat(path, { bigint: true })).ino));
    uids.push(uid);
    cids.push(cid);
  }
  const container = new ContainerProcessor(
    containerConfigSchema.parse({ cgroup_root: dir, rescan_min_interval_ms: 60_000 }),
    ctx('container'),
  );
  const t0 = performance.now();
  await container.start();
  console.log(
    `cgroup scan: ${container.resolver.stats.lastScanDirs} directories in ${(performance.now() - t0).toFixed(1)} ms`,
  );

  // --- k8s store with 500 pods (shared by k8s and peer: no API, filled directly)
  const k8s = new K8sProcessor(
    k8sConfigSchema.parse({ labels: ['app.kubernetes.io/name', 'team'], annotations: ['owner'] }),
    ctx('k8s'),
  );
  const peer = new PeerProcessor(peerConfigSchema.parse({}), ctx('peer'));
  if (peer.store !== k8s.store) throw new Error('k8s and peer should share one store');
  const store = k8s.store;
  for (let i = 0; i < PODS; i++) {
    store.upsertReplicaSet({
      metadata: {
        name: `app${i % 50}-abc`,
        namespace: `ns${i % 10}`,
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name: `app${i % 50}`, uid: 'x', controller: true },
        ],
      },
    });
    store.upsertPod({
      metadata: {
        name: `app${i % 50}-abc-${i}`,
        namespace: `ns${i % 10}`,
        uid: uids[i],
        labels: { 'app.kubernetes.io/name': `app${i % 50}`, team: 'core', 'pod-template-hash': 'abc' },
        annotations: { owner: 'someone', other: 'x'.repeat(200) },
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `app${i % 50}-abc`, uid: 'y', controller: true },
        ],
      },
      spec: { nodeName: 'bench-node', containers: [] },
      status: {
        podIP: `10.1.${i >> 8}.${i & 255}`,
        podIPs: [{ ip: `10.1.${i >> 8}.${i & 255}` }],
        hostIP: '192.168.0.1',
        containerStatuses: [
          {
            name: 'main',
            containerID: `containerd://${cids[i]}`,
            image: 'x',
            imageID: 'x',
            ready: true,
            restartCount: 0,
          },
        ],
      },
    });
  }
  for (let i = 0; i < 100; i++)
    store.upsertService({
      metadata: { name: `svc${i}`, namespace: `ns${i % 10}` },
      spec: { clusterIP: `10.96.0.${i + 1}` },
    });
  console.log(`store: ${store.podCount} pods, 100 services`);

  const T = 1_763_000_000_000_000_000n;
  const events: NetEvent[] = [];
  for (let i = 0; i < PODS * 4; i++) {
    const p = i % PODS;
    const kind = i % 3;
    events.push({
      type: 'soconnect',
      timeUnixNano: T + BigInt(i),
      pid: 10_000 + p,
      tid: 10_000 + p,
      comm: 'app',
      cgroupId: cgroupIds[p]!,
      family: 'ipv4',
      saddr: '10.1.0.1',
      sport: 40_000,
      daddr:
        kind === 0
          ? `10.96.0.${(i % 100) + 1}`
          : kind === 1
            ? `10.1.${((i * 7) % PODS) >> 8}.${((i * 7) % PODS) & 255}`
            : '203.0.113.9',
      dport: 443,
      result: 'ESTABLISHED',
      latencyNs: 1000,
      nonBlocking: true,
    });
  }
  // DNS answers for the external address, per pid
  for (let p = 0; p < PODS; p++) {
    peer.process({
      type: 'gethostlatency',
      timeUnixNano: T,
      pid: 10_000 + p,
      tid: 10_000 + p,
      comm: 'app',
      cgroupId: cgroupIds[p]!,
      func: 'getaddrinfo',
      host: 'api.example.com',
      latencyNs: 1000,
      result: 'OK',
      addresses: ['203.0.113.9'],
    });
  }

  const noop: Processor = { process: (e) => e };
  // What every attribute-adding processor must at least do: a shallow copy with a new attributes object.
  const copy: Processor = { process: (e) => withAttributes(e, {}) };
  const full = [container, k8s, peer];
  // warm-up (JIT + fill every cache), then measure
  for (const chain of [[noop, noop, noop], full]) run('warm-up', chain, events, 50_000);
  console.log('--- cache hits, 500 pods');
  const base = run('no-op chain (3 × identity)', [noop, noop, noop], events, N);
  const baseCopy = run('no-op chain (3 × copy + new attributes)', [copy, copy, copy], events, N);
  run('container', [container], events, N);
  const containerOut = events.map((e) => container.process(e));
  run('k8s (after container)', [k8s], containerOut, N);
  const k8sOut = containerOut.map((e) => k8s.process(e));
  run('peer (after k8s)', [peer], k8sOut, N);
  const chain = run('container + k8s + peer', full, events, N);
  console.log(
    `enrichment overhead vs identity: ${(chain - base).toFixed(0)} ns/event; vs shallow copies: ${(chain - baseCopy).toFixed(0)} ns/event`,
  );

  // --- process processor: hits and misses on the real /proc
  console.log('--- process processor (real /proc)');
  const self: NetEvent = { ...events[0]!, pid: process.pid, comm: 'node' };
  const hit = new ProcessProcessor(processConfigSchema.parse({}), ctx('process'));
  run('process: cache hit', [hit], [self], N);
  const missEvents: NetEvent[] = [self, { ...self, pid: process.ppid, comm: 'x' }];
  const miss = new ProcessProcessor(processConfigSchema.parse({ max_entries: 1, negative_ttl_ms: 0 }), ctx('process'));
  run('process: miss (stat + cmdline + exe reads)', [miss], missEvents, Math.min(N, 20_000));
  const gone = new ProcessProcessor(processConfigSchema.parse({ negative_ttl_ms: 0 }), ctx('process'));
  run('process: gone pid (failed open, counted)', [gone], [{ ...self, pid: 4_000_000 }], Math.min(N, 20_000));
  await Promise.all([k8s.shutdown(), peer.shutdown()]);
} finally {
  await rm(dir, { recursive: true, force: true });
}
