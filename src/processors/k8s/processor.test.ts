import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../paths.js';
import type { NetEvent } from '../../core/event.js';
import { connectEvent } from '../../../test/helpers/events.js';
import { testContext, waitFor } from '../../../test/helpers/enrich.js';
import { testCgroups } from '../../../test/helpers/cgroups.js';
import { FakeK8sApi, freePort, pod, replicaSet, service } from '../../../test/helpers/k8s-api-server.js';
import { registeredK8sStores } from '../../enrich/k8s-store.js';
import { peerConfigSchema } from '../peer/config.js';
import { peerProcessorFactory } from '../peer/factory.js';
import type { PeerProcessor } from '../peer/processor.js';
import { k8sConfigSchema } from './config.js';
import { k8sProcessorFactory } from './factory.js';
import type { K8sProcessor } from './processor.js';

const UID_A = '3f6c1a2e-0b1d-4c5e-9f00-aaaaaaaaaaaa';
const UID_B = '3f6c1a2e-0b1d-4c5e-9f00-bbbbbbbbbbbb';
const UID_C = '3f6c1a2e-0b1d-4c5e-9f00-cccccccccccc';
const CID_A = 'a'.repeat(64);

interface Fixture {
  pods: Array<Parameters<typeof pod>[0]>;
  replicasets: Array<Parameters<typeof replicaSet>[0]>;
  services: Array<Parameters<typeof service>[0]>;
}
const fixture = JSON.parse(
  readFileSync(join(repoRoot(), 'src/processors/k8s/testdata/cluster.json'), 'utf8'),
) as Fixture;

function seed(api: FakeK8sApi): void {
  for (const p of fixture.pods) api.upsert('pods', pod(p));
  for (const r of fixture.replicasets) api.upsert('replicasets', replicaSet(r));
  for (const s of fixture.services) api.upsert('services', service(s));
}

function ev(attrs: Record<string, string | boolean>): NetEvent {
  return { ...connectEvent(), attributes: attrs };
}

async function withApi(fn: (api: FakeK8sApi, kubeconfig: string) => Promise<void>): Promise<void> {
  const api = new FakeK8sApi();
  await api.listen();
  const kc = await FakeK8sApi.kubeconfigFor(api.port);
  try {
    await fn(api, kc.path);
  } finally {
    await api.stop();
    await kc.cleanup();
  }
}

function make(
  kubeconfig: string,
  over: Record<string, unknown> = {},
  env: Record<string, string> = { NODE_NAME: 'node-a' },
) {
  const ctx = testContext(env, 'k8s');
  const config = k8sConfigSchema.parse({
    kubeconfig,
    labels: ['app.kubernetes.io/name', 'team/*'],
    annotations: ['owner'],
    deletion_grace_period_ms: 400,
    retry_interval_ms: 50,
    ...over,
  });
  return { p: k8sProcessorFactory.create(config, ctx) as K8sProcessor, ctx };
}

test('config: defaults and strictness', () => {
  const c = k8sConfigSchema.parse({});
  assert.equal(c.kubeconfig, '');
  assert.equal(c.node_name, '');
  assert.equal(c.deletion_grace_period_ms, 30_000);
  assert.deepEqual(c.labels, []);
  assert.equal(k8sConfigSchema.safeParse({ label: ['x'] }).success, false);
});

test(
  'k8s: pods of this node via the real informer; attributes, allow-lists, container name, owner → deployment',
  { timeout: 20_000 },
  async () => {
    await withApi(async (api, kubeconfig) => {
      seed(api);
      const { p, ctx } = make(kubeconfig);
      try {
        await p.start();
        assert.equal(p.store.ready, true);
        // Field selector sent and honored: node-b's pod is not known.
        const podLists = api.log.filter((l) => l.resource === 'pods' && !l.watch);
        assert.deepEqual(
          podLists.map((l) => l.fieldSelector),
          ['spec.nodeName=node-a'],
        );
        assert.equal(p.store.podCount, 2);

        const out = p.process(ev({ 'k8s.pod.uid': UID_A, 'container.id': CID_A, 'container.runtime': 'containerd' }));
        assert.deepEqual(out.attributes, {
          'k8s.pod.uid': UID_A,
          'container.id': CID_A,
          'container.runtime': 'containerd',
          'k8s.namespace.name': 'shop',
          'k8s.pod.name': 'web-7d9f8-abcde',
          'k8s.node.name': 'node-a',
          'k8s.replicaset.name': 'web-7d9f8',
          'k8s.deployment.name': 'web',
          'service.name': 'storefront',
          'k8s.pod.label.app.kubernetes.io/name': 'storefront',
          'k8s.pod.label.team/backend': 'payments',
          'k8s.pod.annotation.owner': 'alice',
          'k8s.container.name': 'web',
        });
        // StatefulSet pod without the name label: service.name = workload name; no allowed labels.
        const db = p.process(ev({ 'k8s.pod.uid': UID_C }));
        assert.deepEqual(db.attributes, {
          'k8s.pod.uid': UID_C,
          'k8s.namespace.name': 'shop',
          'k8s.pod.name': 'db-0',
          'k8s.node.name': 'node-a',
          'k8s.statefulset.name': 'db',
          'service.name': 'db',
        });
        // Another node's pod: a counted miss, event unchanged.
        const e = ev({ 'k8s.pod.uid': UID_B });
        assert.equal(p.process(e), e);
        assert.equal(
          ctx.telemetry.metrics
            .counter('netspan_enrich_misses_total', '')
            .get({ processor: 'k8s', reason: 'pod_unknown' }),
          1,
        );
        // Host process: node name only.
        assert.deepEqual(p.process(ev({ 'netspan.host_process': true })).attributes, {
          'netspan.host_process': true,
          'k8s.node.name': 'node-a',
        });
      } finally {
        await p.shutdown();
      }
      assert.equal(api.openWatches, 0);
    });
  },
);

test('k8s: pod update, delete with grace period, replicaset arriving later', { timeout: 20_000 }, async () => {
  await withApi(async (api, kubeconfig) => {
    seed(api);
    api.delete('replicasets', 'shop', 'web-7d9f8');
    const { p } = make(kubeconfig);
    try {
      await p.start();
      const attrsA = () => p.process(ev({ 'k8s.pod.uid': UID_A })).attributes!;
      assert.equal(attrsA()['k8s.deployment.name'], undefined);
      assert.equal(attrsA()['service.name'], 'storefront');
      api.upsert('replicasets', replicaSet({ name: 'web-7d9f8', namespace: 'shop', deployment: 'web' }));
      await waitFor(() => attrsA()['k8s.deployment.name'] === 'web', 5_000, 'deployment via replicaset');

      const updated = pod({
        ...fixture.pods[0]!,
        labels: { 'app.kubernetes.io/name': 'storefront-v2', 'team/backend': 'payments' },
      });
      api.upsert('pods', updated);
      await waitFor(() => attrsA()['service.name'] === 'storefront-v2', 5_000, 'label update');
      assert.equal(attrsA()['k8s.pod.label.app.kubernetes.io/name'], 'storefront-v2');

      api.delete('pods', 'shop', 'web-7d9f8-abcde');
      await waitFor(() => p.store.podByUid(UID_A)?.deletedAt !== undefined, 5_000, 'delete event');
      // Within the grace period late events still resolve.
      assert.equal(attrsA()['k8s.pod.name'], 'web-7d9f8-abcde');
      await waitFor(() => p.store.podByUid(UID_A) === undefined, 5_000, 'grace period expiry');
      assert.equal(attrsA()['k8s.pod.name'], undefined);
    } finally {
      await p.shutdown();
    }
  });
});

test(
  'k8s: 410 Gone on the watch forces a relist that picks up changes made meanwhile',
  { timeout: 20_000 },
  async () => {
    await withApi(async (api, kubeconfig) => {
      seed(api);
      const { p } = make(kubeconfig, { deletion_grace_period_ms: 0 });
      try {
        await p.start();
        assert.equal(p.store.listCount('pods'), 1);
        api.silently(() => {
          api.upsert(
            'pods',
            pod({ name: 'late-1', namespace: 'shop', uid: 'uid-late-1', node: 'node-a', ip: '10.0.0.77' }),
          );
          api.delete('pods', 'shop', 'db-0');
        });
        api.expireWatches();
        await waitFor(() => p.store.listCount('pods') === 2, 5_000, 'relist');
        await waitFor(
          () => p.store.podByUid('uid-late-1') !== undefined && p.store.podByUid(UID_C) === undefined,
          5_000,
          'relisted state',
        );
        assert.equal(p.process(ev({ 'k8s.pod.uid': 'uid-late-1' })).attributes!['k8s.pod.name'], 'late-1');
        // All three watches expired: each resource relists exactly once more, then watches again.
        await waitFor(
          () => p.store.listCount('services') === 2 && p.store.listCount('replicasets') === 2,
          5_000,
          'relists',
        );
        await waitFor(() => api.openWatches === 3, 5_000, 'watches re-opened');
        assert.deepEqual(
          [p.store.listCount('pods'), p.store.listCount('services'), p.store.listCount('replicasets')],
          [2, 2, 2],
        );
      } finally {
        await p.shutdown();
      }
    });
  },
);

test(
  'k8s: API down at start — start() returns in bounded time, errors counted, recovers in the background',
  { timeout: 20_000 },
  async () => {
    const port = await freePort();
    const kc = await FakeK8sApi.kubeconfigFor(port);
    const api = new FakeK8sApi();
    const { p, ctx } = make(kc.path, {
      initial_sync_timeout_ms: 300,
      retry_interval_ms: 100,
      max_retry_interval_ms: 200,
    });
    try {
      const t0 = Date.now();
      await p.start();
      assert.ok(Date.now() - t0 < 2_000, `start took ${Date.now() - t0} ms`);
      assert.equal(p.store.ready, false);
      const e = ev({ 'k8s.pod.uid': UID_A });
      assert.equal(p.process(e), e);
      const misses = ctx.telemetry.metrics.counter('netspan_enrich_misses_total', '');
      assert.equal(misses.get({ processor: 'k8s', reason: 'k8s_unavailable' }), 1);
      const errors = ctx.telemetry.metrics.counter('netspan_k8s_api_errors_total', '');
      await waitFor(() => errors.get({ resource: 'pods' }) >= 2, 5_000, 'retries');
      seed(api);
      await api.listen(port);
      await waitFor(() => p.store.ready, 5_000, 'recovery');
      assert.equal(p.process(ev({ 'k8s.pod.uid': UID_A })).attributes!['k8s.pod.name'], 'web-7d9f8-abcde');
      assert.equal(ctx.telemetry.metrics.gauge('netspan_k8s_synced', '').get({ resource: 'pods' }), 1);
    } finally {
      await p.shutdown();
      await api.stop();
      await kc.cleanup();
    }
  },
);

test('k8s: list errors (HTTP 500) are retried with backoff until the API answers', { timeout: 20_000 }, async () => {
  await withApi(async (api, kubeconfig) => {
    seed(api);
    api.failLists = 500;
    const { p, ctx } = make(kubeconfig, {
      initial_sync_timeout_ms: 200,
      retry_interval_ms: 50,
      max_retry_interval_ms: 100,
    });
    try {
      await p.start();
      const errors = ctx.telemetry.metrics.counter('netspan_k8s_api_errors_total', '');
      await waitFor(() => errors.get({ resource: 'services' }) >= 3, 5_000, 'retries');
      api.failLists = undefined;
      await waitFor(() => p.store.ready, 5_000, 'recovery');
      assert.equal(p.store.podCount, 2);
    } finally {
      await p.shutdown();
    }
  });
});

test('k8s + peer share one store per kubeconfig/node; the last shutdown stops it', { timeout: 20_000 }, async () => {
  await withApi(async (api, kubeconfig) => {
    seed(api);
    const { p } = make(kubeconfig);
    const peer = peerProcessorFactory.create(
      peerConfigSchema.parse({ kubeconfig }),
      testContext({ NODE_NAME: 'node-a' }, 'peer'),
    ) as PeerProcessor;
    assert.equal(peer.store, p.store);
    assert.equal(registeredK8sStores(), 1);
    await p.start();
    await peer.start();
    assert.equal(p.store.holders, 2);
    await waitFor(() => api.openWatches === 3, 3_000, 'three watches (pods, services, replicasets)');
    assert.equal(api.log.filter((l) => l.resource === 'pods' && !l.watch).length, 1);
    // peer: pod IP, service ClusterIP, node IP
    const toPod = peer.process(connectEvent({ daddr: '10.0.0.12' }));
    assert.deepEqual(toPod.attributes, { 'k8s.peer.pod.name': 'db-0', 'k8s.peer.namespace.name': 'shop' });
    const toSvc = peer.process(connectEvent({ daddr: '10.96.0.20' }));
    assert.deepEqual(toSvc.attributes, { 'k8s.peer.service.name': 'db', 'k8s.peer.namespace.name': 'shop' });
    const toNode = peer.process(connectEvent({ daddr: '192.168.0.10' }));
    assert.deepEqual(toNode.attributes, { 'k8s.peer.node.name': 'node-a' });
    const other = connectEvent({ daddr: '10.0.0.99' });
    assert.equal(peer.process(other), other);
    await p.shutdown();
    await p.shutdown(); // twice is safe
    assert.equal(peer.store.holders, 1);
    assert.equal(api.openWatches, 3);
    await peer.shutdown();
    assert.equal(registeredK8sStores(), 0);
    await waitFor(() => api.openWatches === 0, 3_000, 'watches closed');
  });
});

test('k8s: not configured → passes events through, start() does not throw', async () => {
  const p = k8sProcessorFactory.create(k8sConfigSchema.parse({}), testContext({})) as K8sProcessor;
  await p.start();
  assert.equal(p.store.configured, false);
  const e = ev({ 'k8s.pod.uid': UID_A });
  assert.equal(p.process(e), e);
  await p.shutdown();
});

test(
  "k8s: without a container processor, the pod is resolved from the event's real cgroup id",
  { timeout: 20_000 },
  async () => {
    const cg = await testCgroups();
    try {
      const { id } = await cg.create(
        `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_A.replace(/-/g, '_')}.slice/cri-containerd-${CID_A}.scope`,
      );
      await withApi(async (api, kubeconfig) => {
        seed(api);
        const { p } = make(kubeconfig);
        try {
          await p.start();
          const out = p.process(connectEvent({ cgroupId: id, pid: 0 }));
          assert.equal(out.attributes!['k8s.pod.name'], 'web-7d9f8-abcde');
          assert.equal(out.attributes!['k8s.container.name'], 'web');
          assert.equal(
            out.attributes!['container.id'],
            undefined,
            "container attributes are the container processor's job",
          );
        } finally {
          await p.shutdown();
        }
      });
    } finally {
      await cg.remove();
    }
  },
);
