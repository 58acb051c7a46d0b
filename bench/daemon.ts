/**
 * netspan's own `run` command (src/cli/run.ts, unchanged code path) with two
 * bench-only components added to the registry:
 *
 * - exporter `latency`: records, per delivered event, wall-clock now minus the
 *   kernel time the event was complete: its timestamp (timeUnixNano), plus its
 *   latencyNs for a connect or a DNS lookup, whose timestamp is the start (a
 *   non-blocking connect is reported when it leaves SYN_SENT); at shutdown writes
 *   { events, p50_ms, p99_ms, max_ms, max_rss_mb } as JSON to `out`.
 * - processor `bench_k8s`: the real k8s processor (src/processors/k8s) whose
 *   store is filled directly with `pods` pods (no API server); each event is
 *   first given the pod uid and container id a container processor would have
 *   found (pod chosen from pid+cgroup id), then enriched by the k8s processor.
 *
 *   node dist/bench/daemon.js run --config F [--replay R] [--duration S]
 */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { runCommand } from '../src/cli/run.js';
import type { NetEvent } from '../src/core/event.js';
import { withSharedAttributes } from '../src/enrich/attrs.js';
import { queueConfigSchema } from '../src/pipeline/batch-queue.js';
import type { ExporterFactory, ProcessorFactory } from '../src/pipeline/component.js';
import { k8sConfigSchema } from '../src/processors/k8s/config.js';
import { K8sProcessor } from '../src/processors/k8s/processor.js';
import { registry, type Registry } from '../src/registry.js';
import { parseArgs } from 'node:util';

const latencySchema = z.strictObject({ out: z.string(), queue: queueConfigSchema }).prefault({ out: '/dev/null' });

const MAX_SAMPLES = 4_000_000;

const latencyFactory: ExporterFactory<typeof latencySchema> = {
  type: 'latency',
  configSchema: latencySchema,
  create: (cfg) => {
    const samples = new Float64Array(MAX_SAMPLES);
    let n = 0;
    let total = 0;
    return {
      start: () => Promise.resolve(),
      export: (batch) => {
        const nowNs = (performance.timeOrigin + performance.now()) * 1e6;
        for (const e of batch) {
          total++;
          const done = Number(e.timeUnixNano) + ('latencyNs' in e ? e.latencyNs : 0);
          samples[n++ % MAX_SAMPLES] = (nowNs - done) / 1e6;
        }
        return Promise.resolve({ code: 'success' });
      },
      shutdown: () => {
        const s = samples.subarray(0, Math.min(n, MAX_SAMPLES)).sort();
        const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN);
        writeFileSync(
          cfg.out,
          JSON.stringify({
            events: total,
            p50_ms: q(0.5),
            p99_ms: q(0.99),
            max_ms: s.length ? s[s.length - 1] : NaN,
            max_rss_mb: process.resourceUsage().maxRSS / 1024,
          }),
        );
        return Promise.resolve();
      },
    };
  },
};

const benchK8sSchema = z.strictObject({ pods: z.int().min(1).max(100_000).default(500) }).prefault({});

const benchK8sFactory: ProcessorFactory<typeof benchK8sSchema> = {
  type: 'bench_k8s',
  configSchema: benchK8sSchema,
  create: (cfg, ctx) => {
    const k8s = new K8sProcessor(
      k8sConfigSchema.parse({
        labels: ['app.kubernetes.io/name', 'team'],
        annotations: ['owner'],
        resolve_from_cgroup: false,
      }),
      ctx,
    );
    const hex = (i: number, len: number) => i.toString(16).padStart(len, '0');
    const ids: { 'k8s.pod.uid': string; 'container.id': string }[] = [];
    const store = k8s.store;
    for (let i = 0; i < cfg.pods; i++) {
      const uid = `${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}`;
      const cid = hex(i, 8).repeat(8);
      ids.push({ 'k8s.pod.uid': uid, 'container.id': cid });
      const ns = `ns${i % 10}`;
      store.upsertReplicaSet({
        metadata: {
          name: `app${i % 50}-abc`,
          namespace: ns,
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'Deployment', name: `app${i % 50}`, uid: 'x', controller: true },
          ],
        },
      });
      store.upsertPod({
        metadata: {
          name: `app${i % 50}-abc-${i}`,
          namespace: ns,
          uid,
          labels: { 'app.kubernetes.io/name': `app${i % 50}`, team: 'core', 'pod-template-hash': 'abc' },
          annotations: { owner: 'someone', other: 'x'.repeat(200) },
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `app${i % 50}-abc`, uid: 'y', controller: true },
          ],
        },
        spec: { nodeName: 'bench-node', containers: [] },
        status: {
          podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          podIPs: [{ ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }],
          hostIP: '192.168.0.1',
          containerStatuses: [
            {
              name: 'main',
              containerID: `containerd://${cid}`,
              image: 'x',
              imageID: 'x',
              ready: true,
              restartCount: 0,
            },
          ],
        },
      });
    }
    return {
      // no start(): the store is filled above, no informers
      process: (e: NetEvent) => k8s.process(withSharedAttributes(e, ids[(e.pid + e.cgroupId) % ids.length]!)),
    };
  },
};

const benchRegistry: Registry = {
  probes: registry.probes,
  processors: new Map([...registry.processors, ['bench_k8s', benchK8sFactory]]),
  exporters: new Map([...registry.exporters, ['latency', latencyFactory]]),
};

const [cmd, ...rest] = process.argv.slice(2);
if (cmd !== 'run') {
  process.stderr.write('usage: daemon.js run --config F [--replay R] [--duration S]\n');
  process.exit(2);
}
const { values } = parseArgs({
  args: rest,
  options: { config: { type: 'string' }, replay: { type: 'string' }, duration: { type: 'string' } },
});
const code = await runCommand({
  configFile: values.config!,
  replay: values.replay,
  durationS: values.duration === undefined ? undefined : Number(values.duration),
  env: process.env,
  registry: benchRegistry,
});
process.exitCode = code;
setTimeout(() => process.exit(code), 200).unref();
