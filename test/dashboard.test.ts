/**
 * The Grafana dashboard (helm/netspan/dashboards/netspan.json) against the
 * metrics netspan really exports: its network panels query the series the
 * Collector's Prometheus exporter makes from netspan's OTLP metrics, so every
 * metric name they match and every label they group or filter by must be the
 * Prometheus form of a metric and attribute that arrive at a real OTLP server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/paths.js';
import { attrs, type Metric } from './helpers/otlp-server.js';
import { connect, dns, drop, retrans, udp } from './helpers/otlp-events.js';
import { setup } from './helpers/otlp-setup.js';

interface Target {
  expr: string;
  legendFormat?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Target[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; options?: { value: string }[] }[] };
}

/** The Prometheus exporter's label / metric name form of an OTel name. */
const prom = (name: string): string => name.replace(/[^A-Za-z0-9_]/g, '_');

/** Series names a metric becomes: [name, labels] for native histograms / sums, and classic _bucket/_count. */
function seriesOf(m: Metric, pointLabels: Set<string>): Map<string, Set<string>> {
  const base = prom(m.name) + (m.unit === 's' ? '_seconds' : '');
  const out = new Map<string, Set<string>>();
  if (m.sum) out.set(m.sum.isMonotonic ? `${base}_total` : base, pointLabels);
  if (m.exponentialHistogram || m.histogram) {
    out.set(base, pointLabels); // native histogram
    out.set(`${base}_bucket`, new Set([...pointLabels, 'le']));
    out.set(`${base}_count`, pointLabels);
  }
  return out;
}

void test('dashboard network panels: every metric matched and every label used is one netspan exports', async () => {
  const dash = JSON.parse(readFileSync(join(repoRoot(), 'helm/netspan/dashboards/netspan.json'), 'utf8')) as Dashboard;
  const pod = {
    'k8s.namespace.name': 'shop',
    'k8s.pod.name': 'checkout-1',
    'k8s.pod.uid': 'u1',
    'k8s.deployment.name': 'checkout',
  };
  // Series and their labels, as exported: every event kind, failures included, all pod dimensions on.
  const series = new Map<string, Set<string>>();
  for (const histogram of ['exponential', 'explicit']) {
    const s = await setup({
      signals: { traces: false, logs: false, metrics: true },
      metrics: { export_interval_ms: 3_600_000, dimensions: ['namespace', 'workload', 'pod'], histogram },
    });
    try {
      const events = [
        dns({ attributes: pod }),
        dns({ result: 'EAI_NONAME', addresses: [], attributes: pod }),
        connect({ attributes: pod }),
        connect({ sport: 40_003, result: 'ECONNREFUSED', attributes: pod }),
        retrans({ attributes: pod }),
        drop({ attributes: pod }),
        udp({ attributes: pod }),
      ];
      assert.deepEqual(await s.send(...events), { code: 'success' });
      await s.exp.flushMetrics();
      for (const rm of s.server.metrics)
        for (const r of rm.resourceMetrics)
          for (const sm of r.scopeMetrics)
            for (const m of sm.metrics) {
              const points = m.sum?.dataPoints ?? m.exponentialHistogram?.dataPoints ?? m.histogram?.dataPoints ?? [];
              const labels = new Set(points.flatMap((p) => Object.keys(attrs(p.attributes)).map(prom)));
              for (const [name, l] of seriesOf(m, labels))
                series.set(name, new Set([...(series.get(name) ?? []), ...l]));
            }
    } finally {
      await s.close();
    }
  }
  assert.ok(series.has('netspan_connect_duration_seconds_bucket') && series.has('netspan_tcp_retransmits_total'));

  const workload = dash.templating.list.find((v) => v.name === 'workload')!.options!.map((o) => o.value);
  const network = dash.panels.filter((p) => p.id >= 2 && p.id <= 6);
  assert.deepEqual(
    network.map((p) => p.title),
    [
      'TCP connect latency p50 / p99 by $workload',
      'Failed connects by $workload and error.type',
      'DNS lookup latency p50 / p99 by $workload',
      'TCP retransmits by state and kind',
      'Packet drops by reason',
    ],
  );
  for (const p of network) {
    for (const t of p.targets ?? []) {
      const where = `panel ${p.id} (${p.title}): ${t.expr}`;
      // each selector: the metric names its regex matches, and the label matchers next to it
      const selectors = [...t.expr.matchAll(/\{__name__=~"([^"]+)"((?:,\s*[a-z_]+\s*[!=~]+\s*"[^"]*")*)\}/g)];
      assert.ok(selectors.length > 0, `no selector in ${where}`);
      const matched = new Set<string>();
      for (const [, regex, matchers] of selectors) {
        const re = new RegExp(`^(?:${regex!})$`);
        const names = [...series.keys()].filter((n) => re.test(n));
        assert.ok(
          names.length > 0,
          `${where}: /${regex}/ matches no exported series (${[...series.keys()].join(', ')})`,
        );
        for (const n of names) matched.add(n);
        for (const [, label] of matchers!.matchAll(/,\s*([a-z_]+)\s*[!=~]/g))
          for (const n of names) assert.ok(series.get(n)!.has(label!), `${where}: ${n} has no label ${label}`);
      }
      // a histogram panel reads both forms: native (exponential histograms) and classic _bucket (explicit)
      for (const n of matched)
        if (n.endsWith('_bucket'))
          assert.ok(matched.has(n.slice(0, -'_bucket'.length)), `${where}: reads ${n} but not the native histogram`);
      const grouped = [...t.expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap(([, l]) => l!.split(',').map((x) => x.trim()));
      assert.ok(grouped.length > 0, `${where}: groups by nothing`);
      for (const label of grouped) {
        const wanted = label === '$workload' ? workload : [label];
        for (const w of wanted)
          assert.ok(
            [...matched].some((n) => series.get(n)!.has(w)),
            `${where}: no matched series (${[...matched].join(', ')}) has the label ${w}`,
          );
      }
      for (const [, label] of (t.legendFormat ?? '').matchAll(/\{\{([a-z_]+)\}\}/g))
        assert.ok(grouped.includes(label!), `${where}: legend {{${label}}} is not grouped by`);
    }
  }
});
