/**
 * Fault: the Kubernetes API goes away mid-run, then comes back. Through a
 * Service with the real k8s processor and a real client-node informer against
 * the test API server: events keep flowing and keep their pod attributes from
 * the cache while the API is down; the list/watch failures are counted and
 * logged once per interval (not once per retry); when the API is back the
 * store relists and sees what changed meanwhile (a pod added, a pod deleted);
 * no event is lost and the counters add up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { loadConfigText } from '../../src/config/load.js';
import type { NetEvent } from '../../src/core/event.js';
import type { ProcessorFactory } from '../../src/pipeline/component.js';
import type { Registry } from '../../src/registry.js';
import { ProbeInput } from '../../src/service/probe-input.js';
import { Service } from '../../src/service/service.js';
import { Telemetry } from '../../src/telemetry/internal-events.js';
import { captured, fakeRegistry } from '../helpers/fake-registry.js';
import { capturingLogger, sleep, until } from '../helpers/faults.js';
import { FakeK8sApi, pod } from '../helpers/k8s-api-server.js';

const WEB = '3f6c1a2e-0b1d-4c5e-9f00-aaaaaaaaaaaa';
const DB = '3f6c1a2e-0b1d-4c5e-9f00-cccccccccccc';
const LATE = '3f6c1a2e-0b1d-4c5e-9f00-dddddddddddd';
/** sport → the pod uid the event claims (what the container processor would have set). */
const uidFor = (sport: number): string => [WEB, DB, LATE][sport % 3]!;
const sportOf = (e: NetEvent): number => (e.type === 'soconnect' ? e.sport : -1);

const tagSchema = z.strictObject({}).prefault({});
const podTagFactory: ProcessorFactory<typeof tagSchema> = {
  type: 'podtag',
  configSchema: tagSchema,
  create: () => ({
    process: (e) => ({ ...e, attributes: { ...e.attributes, 'k8s.pod.uid': uidFor(sportOf(e)) } }),
  }),
};
const registry: Registry = {
  ...fakeRegistry,
  processors: new Map([...fakeRegistry.processors, ['podtag', podTagFactory]]),
};

test(
  'Kubernetes API down mid-run: events keep their cached pod attributes, errors counted, relist on return, counters add up',
  { timeout: 40_000 },
  async () => {
    const api = new FakeK8sApi();
    const port = await api.listen();
    let cleanup = (): Promise<void> => Promise.resolve();
    let stopService = (): Promise<void> => Promise.resolve();
    try {
      const kc = await FakeK8sApi.kubeconfigFor(port);
      cleanup = kc.cleanup;
      api.upsert('pods', pod({ name: 'web-1', namespace: 'shop', uid: WEB, node: 'node-a', ip: '10.0.0.11' }));
      api.upsert('pods', pod({ name: 'db-0', namespace: 'shop', uid: DB, node: 'node-a', ip: '10.0.0.12' }));
      const r = loadConfigText(
        `probes: { soconnect: {} }
processors:
  podtag: {}
  k8s: { kubeconfig: ${JSON.stringify(kc.path)}, deletion_grace_period_ms: 0, retry_interval_ms: 100, max_retry_interval_ms: 200, request_timeout_ms: 1000 }
exporters: { capture/k8s: { queue: { scheduled_delay_ms: 5 } } }
pipelines: { p: { probes: [soconnect], processors: [podtag, k8s], exporters: [capture/k8s] } }
`,
        'k8s-api-down.yaml',
        registry,
        {},
      );
      assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
      const { logger, lines } = capturingLogger('warn');
      const t = new Telemetry(logger, undefined, 60_000);
      const svc = new Service({ config: r.config, registry, telemetry: t, logger, env: { NODE_NAME: 'node-a' } });
      stopService = () => svc.stop();
      const out = captured.get('capture/k8s') ?? [];
      captured.set('capture/k8s', out);
      out.length = 0;
      let seq = 0;
      await svc.graph.start();
      const probe = await registry.probes.get('soconnect')!.definition.prepare({} as never, {} as never);
      const input = new ProbeInput('soconnect', () => probe.createParser(), svc, t);
      const send = async (n: number): Promise<[number, number]> => {
        const from = seq;
        for (let i = 0; i < n; i++) input.line(`E\t${seq++}`);
        await until(() => out.length === seq, 5_000, `events up to ${seq} delivered`);
        return [from, seq];
      };
      const errors = t.metrics.counter('netspan_k8s_api_errors_total', '');
      const misses = t.metrics.counter('netspan_enrich_misses_total', '');

      // 1. API up: web-1 and db-0 known, the third uid not (yet).
      const [a0, a1] = await send(90);
      assert.equal(misses.get({ processor: 'k8s', reason: 'pod_unknown' }), 30);

      // 2. API down mid-run; meanwhile db-0 is deleted and late-7 is created.
      await api.stop();
      api.delete('pods', 'shop', 'db-0');
      api.upsert('pods', pod({ name: 'late-7', namespace: 'shop', uid: LATE, node: 'node-a', ip: '10.0.0.13' }));
      await until(() => errors.sum() >= 3, 10_000, 'list/watch failures counted while the API is down');
      const [b0, b1] = await send(90);
      await sleep(300); // more retries fail meanwhile
      const errorsWhileDown = errors.sum();

      // While down: the cache still answers. web-1 and db-0 (deleted meanwhile, but nobody could
      // say so) keep their names; late-7 is unknown; nothing is dropped.
      const nameOf = (e: NetEvent): string | undefined => e.attributes?.['k8s.pod.name'] as string | undefined;
      const namesIn = (from: number, to: number): Record<string, number> => {
        const counts: Record<string, number> = {};
        for (const e of out.slice(from, to)) {
          const k = nameOf(e) ?? '-';
          counts[k] = (counts[k] ?? 0) + 1;
        }
        return counts;
      };
      assert.deepEqual(namesIn(a0, a1), { 'web-1': 30, 'db-0': 30, '-': 30 });
      assert.deepEqual(
        namesIn(b0, b1),
        { 'web-1': 30, 'db-0': 30, '-': 30 },
        'the cache answers while the API is down',
      );
      assert.ok(errorsWhileDown >= 3, `failures counted: ${errorsWhileDown}`);
      const failedLogs = lines.filter((l) => String(l.msg).startsWith('Kubernetes API list/watch failed'));
      assert.ok(
        failedLogs.length >= 1 && failedLogs.length <= 3,
        `logged once per interval per resource, not once per retry: ${failedLogs.length} lines for ${errorsWhileDown} failures`,
      );

      // 3. API back on the same port: the informers relist and see both changes.
      await api.listen(port);
      await until(
        () => {
          const last = out.at(-1);
          if (last && seq === out.length && nameOf(out.at(-3)!) === 'web-1' && nameOf(last) === 'late-7') {
            return nameOf(out.at(-2)!) === undefined;
          }
          if (seq === out.length) for (let i = 0; i < 3; i++) input.line(`E\t${seq++}`);
          return false;
        },
        10_000,
        'the relisted state (late-7 known, db-0 gone)',
      );
      const [c0, c1] = await send(90);
      assert.deepEqual(namesIn(c0, c1), { 'web-1': 30, '-': 30, 'late-7': 30 });
      assert.equal(errors.sum(), errorsWhileDown, 'no failures after the API came back');
      await svc.stop();

      // Nothing lost: every event received was delivered, none dropped, each exactly once.
      assert.equal(t.eventsReceived.get({ probe: 'soconnect' }), seq);
      assert.equal(t.eventsSent.get({ exporter: 'capture/k8s' }), seq);
      assert.equal(t.eventsDropped.sum(), 0);
      assert.deepEqual(
        out.map(sportOf),
        Array.from({ length: seq }, (_, i) => i),
      );
    } finally {
      try {
        await stopService(); // safe twice
      } finally {
        await api.stop();
        await cleanup();
      }
    }
  },
);
