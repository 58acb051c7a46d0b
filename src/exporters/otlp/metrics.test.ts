import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { status } from '@grpc/grpc-js';
import { attrs, type Metric, type NumberPoint } from '../../../test/helpers/otlp-server.js';
import { connect, dns, drop, retrans, udp } from '../../../test/helpers/otlp-events.js';
import { setup } from '../../../test/helpers/otlp-setup.js';
import { DEFAULT_EXPLICIT_BOUNDS, otlpConfigSchema } from './config.js';

const pod = {
  'k8s.namespace.name': 'shop',
  'k8s.pod.name': 'checkout-1',
  'k8s.pod.uid': 'u1',
  'k8s.deployment.name': 'checkout',
};
const value = (p: NumberPoint) => (p.value === 'asInt' ? Number(p.asInt) : p.asDouble);

function sumPoints(m: Metric | undefined): [Record<string, unknown>, number | undefined][] {
  assert.ok(m?.sum, `${m?.name} is a sum`);
  return m.sum.dataPoints.map((p) => [attrs(p.attributes), value(p)]);
}

test('event metrics: exponential duration histograms, counters by bounded dimensions, and self-metrics', async () => {
  const s = await setup({ signals: { traces: true, logs: true, metrics: true } });
  try {
    const events = [
      dns({ latencyNs: 2_000_000, attributes: pod }),
      dns({ latencyNs: 4_000_000, attributes: pod }),
      dns({ latencyNs: 1_000_000, result: 'EAI_NONAME', addresses: [] }),
      connect({ latencyNs: 1_500_000, attributes: pod }),
      connect({ sport: 40002, latencyNs: 2_500_000, attributes: pod }),
      connect({ sport: 40003, latencyNs: 50_000, result: 'ECONNREFUSED' }),
      retrans({ sport: 1 }),
      retrans({ sport: 2 }),
      retrans({ sport: 3, state: 'ESTABLISHED', kind: 'tlp' }),
      retrans({ sport: 4, state: 'ESTABLISHED', kind: 'tlp' }),
      retrans({ sport: 5, state: 'ESTABLISHED', kind: 'fast' }),
      drop(),
      drop({ sport: 444 }),
      drop({ reason: 'NO_SOCKET', l4Protocol: 'UDP' }),
      udp(),
    ];
    assert.deepEqual(await s.send(...events), { code: 'success' });
    await s.exp.flushMetrics();
    assert.equal(s.server.metrics.length, 1);
    const rm = s.server.metrics[0]!.resourceMetrics;
    assert.equal(rm.length, 1);
    const res = attrs(rm[0]!.resource.attributes);
    assert.deepEqual([res['service.name'], res['host.name']], ['netspan', hostname()]);

    const dnsM = s.server.latestMetric('dns.lookup.duration')!;
    assert.equal(dnsM.unit, 's');
    assert.ok(dnsM.exponentialHistogram, 'exponential histogram');
    assert.equal(dnsM.exponentialHistogram.aggregationTemporality, 'AGGREGATION_TEMPORALITY_CUMULATIVE');
    assert.deepEqual(
      dnsM.exponentialHistogram.dataPoints.map((p) => [attrs(p.attributes), p.count, p.sum]),
      [
        [{ 'k8s.namespace.name': 'shop', 'k8s.deployment.name': 'checkout' }, '2', 2_000_000 / 1e9 + 4_000_000 / 1e9],
        [{ 'error.type': 'EAI_NONAME' }, '1', 1_000_000 / 1e9],
      ],
    );
    const conn = s.server.latestMetric('netspan.connect.duration')!;
    assert.deepEqual(
      conn.exponentialHistogram!.dataPoints.map((p) => [attrs(p.attributes), p.count, p.sum]),
      [
        [
          {
            'k8s.namespace.name': 'shop',
            'k8s.deployment.name': 'checkout',
            'netspan.connect.result': 'ESTABLISHED',
            'network.type': 'ipv4',
          },
          '2',
          1_500_000 / 1e9 + 2_500_000 / 1e9,
        ],
        [
          { 'netspan.connect.result': 'ECONNREFUSED', 'network.type': 'ipv4', 'error.type': 'ECONNREFUSED' },
          '1',
          50_000 / 1e9,
        ],
      ],
    );
    const rt = s.server.latestMetric('netspan.tcp.retransmits');
    assert.equal(rt!.sum!.isMonotonic, true);
    assert.deepEqual(sumPoints(rt), [
      [{ 'tcp.state': 'SYN_SENT', 'tcp.retransmit.kind': 'rto', 'network.type': 'ipv4' }, 2],
      [{ 'tcp.state': 'ESTABLISHED', 'tcp.retransmit.kind': 'tlp', 'network.type': 'ipv4' }, 2],
      [{ 'tcp.state': 'ESTABLISHED', 'tcp.retransmit.kind': 'fast', 'network.type': 'ipv4' }, 1],
    ]);
    assert.deepEqual(sumPoints(s.server.latestMetric('netspan.packet.drops')), [
      [{ 'netspan.drop.reason': 'NETFILTER_DROP', 'network.transport': 'tcp' }, 2],
      [{ 'netspan.drop.reason': 'NO_SOCKET', 'network.transport': 'udp' }, 1],
    ]);
    assert.deepEqual(sumPoints(s.server.latestMetric('netspan.udp.connects')), [
      [{ 'netspan.connect.result': 'OK', 'network.type': 'ipv4' }, 1],
    ]);

    // self-metrics: the Telemetry registry's counters and gauges, names unchanged
    const req = s.server.latestMetric('netspan_otlp_requests_total');
    assert.equal(req!.sum!.isMonotonic, true);
    assert.deepEqual(sumPoints(req), [
      [{ exporter: 'otlp', signal: 'traces', outcome: 'success' }, 1],
      [{ exporter: 'otlp', signal: 'logs', outcome: 'success' }, 1],
    ]);
    // 15 events: 2 SYN_SENT retransmits and 2 TCP drops are held waiting for a connect → 11 spans, 11 log records so far
    assert.deepEqual(sumPoints(s.server.latestMetric('netspan_otlp_records_sent_total')), [
      [{ exporter: 'otlp', signal: 'traces' }, 11],
      [{ exporter: 'otlp', signal: 'logs' }, 11],
    ]);
    const held = s.server.latestMetric('netspan_otlp_stitch_held');
    assert.deepEqual(
      held!.gauge!.dataPoints.map((p) => [attrs(p.attributes), value(p)]),
      [[{ exporter: 'otlp' }, 4]],
    );
  } finally {
    await s.close();
  }
});

test('opt-in pod and peer-address dimensions', async () => {
  const s = await setup({
    signals: { traces: false, logs: false, metrics: true },
    metrics: { export_interval_ms: 3_600_000, dimensions: ['pod', 'peer_address'], self_metrics: false },
  });
  try {
    assert.deepEqual(await s.send(connect({ attributes: pod })), { code: 'success' });
    await s.exp.flushMetrics();
    const conn = s.server.latestMetric('netspan.connect.duration')!;
    assert.deepEqual(
      conn.exponentialHistogram!.dataPoints.map((p) => attrs(p.attributes)),
      [
        {
          'k8s.pod.name': 'checkout-1',
          'network.peer.address': '10.0.0.5',
          'netspan.connect.result': 'ESTABLISHED',
          'network.type': 'ipv4',
        },
      ],
    );
    assert.equal(s.server.latestMetric('netspan_otlp_requests_total'), undefined, 'self_metrics: false');
    assert.equal(s.server.traces.length + s.server.logs.length, 0);
    // an enrichment value of network.peer.address wins over the event's daddr, as it does on spans and logs
    const enriched = connect({ sport: 40_002, attributes: { ...pod, 'network.peer.address': '10.9.9.9' } });
    assert.deepEqual(await s.send(enriched), { code: 'success' });
    await s.exp.flushMetrics();
    assert.deepEqual(
      s.server
        .latestMetric('netspan.connect.duration')!
        .exponentialHistogram!.dataPoints.map((p) => attrs(p.attributes)['network.peer.address'])
        .sort(),
      ['10.0.0.5', '10.9.9.9'],
    );
  } finally {
    await s.close();
  }
});

test('histogram: explicit gives classic bucket histograms with the configured bounds (default bounds by default)', async () => {
  assert.deepEqual(otlpConfigSchema.parse({}).metrics.explicit_bounds, DEFAULT_EXPLICIT_BOUNDS);
  assert.equal(otlpConfigSchema.safeParse({ metrics: { explicit_bounds: [1, 0.5] } }).success, false);
  const s = await setup({
    signals: { traces: false, logs: false, metrics: true },
    metrics: {
      export_interval_ms: 3_600_000,
      histogram: 'explicit',
      explicit_bounds: [0.001, 0.01, 1],
      self_metrics: false,
    },
  });
  try {
    const events = [
      connect({ latencyNs: 500_000 }),
      connect({ sport: 40_002, latencyNs: 50_000_000 }),
      connect({ sport: 40_003, latencyNs: 3_000_000_000 }),
      dns({ latencyNs: 2_000_000 }),
    ];
    assert.deepEqual(await s.send(...events), { code: 'success' });
    await s.exp.flushMetrics();
    const conn = s.server.latestMetric('netspan.connect.duration')!;
    assert.equal(conn.exponentialHistogram, undefined);
    assert.equal(conn.histogram!.aggregationTemporality, 'AGGREGATION_TEMPORALITY_CUMULATIVE');
    assert.deepEqual(
      conn.histogram!.dataPoints.map((p) => [p.count, p.explicitBounds, p.bucketCounts]),
      [['3', [0.001, 0.01, 1], ['1', '0', '1', '1']]],
    );
    const dnsM = s.server.latestMetric('dns.lookup.duration')!;
    assert.deepEqual(
      dnsM.histogram!.dataPoints.map((p) => p.bucketCounts),
      [['0', '1', '0', '0']],
    );
  } finally {
    await s.close();
  }
});

test('a failed metric export is counted per signal and the cumulative values arrive with the next one', async () => {
  const s = await setup({
    signals: { traces: false, logs: false, metrics: true },
    metrics: { export_interval_ms: 3_600_000, self_metrics: false },
  });
  try {
    s.server.failWith(status.UNAVAILABLE, ['metrics']);
    assert.deepEqual(await s.send(udp(), udp({ sport: 50001 })), { code: 'success' });
    await s.exp.flushMetrics();
    assert.equal(s.server.metrics.length, 0);
    assert.equal(s.server.rejected.metrics, 1);
    s.server.failWith(undefined);
    assert.deepEqual(await s.send(udp({ sport: 50002 })), { code: 'success' });
    await s.exp.flushMetrics();
    assert.deepEqual(sumPoints(s.server.latestMetric('netspan.udp.connects')), [
      [{ 'netspan.connect.result': 'OK', 'network.type': 'ipv4' }, 3],
    ]);
    const req = s.exp.otel.counters.requests;
    assert.deepEqual(
      [
        req.get({ exporter: 'otlp', signal: 'metrics', outcome: 'retryable' }),
        req.get({ exporter: 'otlp', signal: 'metrics', outcome: 'success' }),
      ],
      [1, 1],
    );
    assert.equal(s.exp.otel.counters.recordsSent.get({ exporter: 'otlp', signal: 'metrics' }), 1);
  } finally {
    await s.close();
  }
});
