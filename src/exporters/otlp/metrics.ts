/**
 * Event metrics and netspan's self-metrics through the SDK MeterProvider,
 * shipped by the SDK's OTLP gRPC metric exporter on a periodic reader.
 *
 * One resource (netspan itself on this node); pod identity, when wanted, is a
 * bounded set of dimensions (namespace, workload, pod). Per-peer-address and
 * per-DNS-name dimensions are opt-in because they are unbounded. The SDK's
 * cardinality limit folds anything past `cardinality_limit` series into an
 * overflow series.
 *
 * Instruments (durations in seconds: exponential histograms, or explicit buckets with histogram: explicit):
 *   dns.lookup.duration        histogram  s            error.type
 *   netspan.connect.duration   histogram  s            netspan.connect.result, network.type, error.type
 *   netspan.tcp.retransmits    counter    {retransmit} tcp.state, tcp.retransmit.kind, network.type
 *   netspan.packet.drops       counter    {packet}     netspan.drop.reason, network.transport
 *   netspan.udp.connects       counter    {connect}    netspan.connect.result, network.type, error.type
 *   netspan_*_total / gauges   observable counters/gauges mirroring ctx.telemetry.metrics (names unchanged)
 */
import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  AggregationType,
  InstrumentType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type AggregationOption,
  type AggregationTemporality,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { NetEvent } from '../../core/event.js';
import type { AttrValue, Attrs } from '../../otel/attributes.js';
import type { MetricsRegistry } from '../../telemetry/metrics.js';
import type { MetricDimension } from './config.js';
import { classify } from './grpc-status.js';
import { workloadOf } from './resources.js';
import type { OtlpTelemetry } from './telemetry.js';

export const METRIC_NAMES = {
  dnsDuration: 'dns.lookup.duration',
  connectDuration: 'netspan.connect.duration',
  retransmits: 'netspan.tcp.retransmits',
  drops: 'netspan.packet.drops',
  udpConnects: 'netspan.udp.connects',
} as const;

/**
 * Counts every metric export by outcome, picks the histogram aggregation and
 * delegates to the SDK exporter; after UNAVAILABLE the next export uses a
 * fresh SDK exporter (fresh gRPC channel, no inherited reconnect back-off).
 */
class CountingMetricExporter implements PushMetricExporter {
  private inner: PushMetricExporter;
  private needsReset = false;

  constructor(
    private readonly make: () => PushMetricExporter,
    private readonly tel: OtlpTelemetry,
    private readonly histogram: AggregationOption,
  ) {
    this.inner = make();
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    let points = 0;
    for (const sm of metrics.scopeMetrics) for (const m of sm.metrics) points += m.dataPoints.length;
    if (this.needsReset) {
      this.needsReset = false;
      const old = this.inner;
      this.inner = this.make();
      old.shutdown().catch(() => undefined);
    }
    const done = (r: ExportResult) => {
      const c = classify(r);
      this.tel.request('metrics', c.outcome, c.status ? `${c.status}: ${c.error ?? ''}` : c.error);
      if (c.outcome === 'success') this.tel.sent('metrics', points);
      else if (c.status === 'UNAVAILABLE') this.needsReset = true;
      resultCallback(r);
    };
    try {
      this.inner.export(metrics, done);
    } catch (e) {
      done({ code: ExportResultCode.FAILED, error: e instanceof Error ? e : new Error(String(e)) });
    }
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  selectAggregationTemporality(t: InstrumentType): AggregationTemporality {
    return this.inner.selectAggregationTemporality!(t);
  }

  selectAggregation(t: InstrumentType): AggregationOption {
    return t === InstrumentType.HISTOGRAM ? this.histogram : { type: AggregationType.DEFAULT };
  }
}

export interface NetMetricsOptions {
  /** Makes the SDK OTLP metric exporter (again after UNAVAILABLE). */
  makeExporter: () => PushMetricExporter;
  resource: Resource;
  intervalMs: number;
  timeoutMs: number;
  dimensions: readonly MetricDimension[];
  cardinalityLimit: number;
  /** Duration histograms: exponential, or explicit with these bounds (seconds). */
  histogram: { kind: 'exponential' } | { kind: 'explicit'; bounds: readonly number[] };
  /** Mirror these self-metrics (undefined: don't). */
  selfMetrics?: MetricsRegistry;
  version: string;
}

export class NetMetrics {
  private readonly provider: MeterProvider;
  private readonly meter: Meter;
  private readonly dnsDuration: Histogram;
  private readonly connectDuration: Histogram;
  private readonly retransmits: Counter;
  private readonly drops: Counter;
  private readonly udpConnects: Counter;
  private readonly dims: ReadonlySet<MetricDimension>;
  private readonly observed = new Set<string>();
  private stopped = false;

  constructor(opts: NetMetricsOptions, tel: OtlpTelemetry) {
    const reader = new PeriodicExportingMetricReader({
      exporter: new CountingMetricExporter(
        opts.makeExporter,
        tel,
        opts.histogram.kind === 'explicit'
          ? { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [...opts.histogram.bounds] } }
          : { type: AggregationType.EXPONENTIAL_HISTOGRAM },
      ),
      exportIntervalMillis: opts.intervalMs,
      exportTimeoutMillis: Math.min(opts.timeoutMs, opts.intervalMs),
      cardinalityLimits: { default: opts.cardinalityLimit },
    });
    this.provider = new MeterProvider({ resource: opts.resource, readers: [reader] });
    this.meter = this.provider.getMeter('netspan', opts.version);
    this.dims = new Set(opts.dimensions);
    this.dnsDuration = this.meter.createHistogram(METRIC_NAMES.dnsDuration, {
      unit: 's',
      description: 'Duration of DNS lookups (getaddrinfo, gethostbyname)',
    });
    this.connectDuration = this.meter.createHistogram(METRIC_NAMES.connectDuration, {
      unit: 's',
      description: 'TCP connect latency, syscall entry to handshake completion, by result',
    });
    this.retransmits = this.meter.createCounter(METRIC_NAMES.retransmits, {
      unit: '{retransmit}',
      description: 'TCP retransmits by TCP state and kind (rto, loss, fast, tlp, synack, other)',
    });
    this.drops = this.meter.createCounter(METRIC_NAMES.drops, {
      unit: '{packet}',
      description: 'Packets dropped by the kernel, by drop reason',
    });
    this.udpConnects = this.meter.createCounter(METRIC_NAMES.udpConnects, {
      unit: '{connect}',
      description: 'UDP connect(2) calls by result',
    });
    if (opts.selfMetrics) this.syncSelfMetrics(opts.selfMetrics);
  }

  private base(e: NetEvent, resource: Attrs): Attributes {
    const a: Attributes = {};
    if (this.dims.has('namespace') && resource['k8s.namespace.name'] !== undefined)
      a['k8s.namespace.name'] = resource['k8s.namespace.name'];
    if (this.dims.has('workload')) {
      const w = workloadOf(resource);
      if (w) a[w[0]] = w[1];
    }
    if (this.dims.has('pod') && resource['k8s.pod.name'] !== undefined) a['k8s.pod.name'] = resource['k8s.pod.name'];
    if (this.dims.has('peer_address')) {
      const peer = peerAddress(e);
      if (peer !== undefined) a['network.peer.address'] = peer;
    }
    return a;
  }

  /** `resource`: resourceAttributes(e). */
  record(e: NetEvent, resource: Attrs): void {
    if (this.stopped) return;
    const a = this.base(e, resource);
    switch (e.type) {
      case 'gethostlatency':
        if (e.result !== 'OK') a['error.type'] = e.result;
        if (this.dims.has('dns_question_name')) a['dns.question.name'] = e.host;
        this.dnsDuration.record(e.latencyNs / 1e9, a);
        break;
      case 'soconnect':
        a['netspan.connect.result'] = e.result;
        a['network.type'] = e.family;
        if (e.result !== 'ESTABLISHED') a['error.type'] = e.result;
        this.connectDuration.record(e.latencyNs / 1e9, a);
        break;
      case 'udpconnect':
        a['netspan.connect.result'] = e.result;
        a['network.type'] = e.family;
        if (e.result !== 'OK') a['error.type'] = e.result;
        this.udpConnects.add(1, a);
        break;
      case 'tcpretrans':
        a['tcp.state'] = e.state;
        a['tcp.retransmit.kind'] = e.kind;
        a['network.type'] = e.family;
        this.retransmits.add(1, a);
        break;
      case 'skbdrop':
        a['netspan.drop.reason'] = e.reason;
        if (e.l4Protocol) a['network.transport'] = e.l4Protocol.toLowerCase();
        this.drops.add(1, a);
        break;
    }
  }

  /**
   * One observable instrument per self-metric, created the first time the
   * metric is seen (metrics registered later appear from the next cycle on).
   */
  private syncSelfMetrics(registry: MetricsRegistry): void {
    for (const snap of registry.collect()) {
      if (this.observed.has(snap.name)) continue;
      if (this.observed.size >= 1000) return; // bound: never more than the registry could sensibly hold
      this.observed.add(snap.name);
      const name = snap.name;
      const inst =
        snap.kind === 'counter'
          ? this.meter.createObservableCounter(name, { description: snap.help })
          : this.meter.createObservableGauge(name, { description: snap.help });
      inst.addCallback((result) => {
        const current = registry.collect().find((m) => m.name === name);
        for (const s of current?.series ?? []) result.observe(s.value, { ...s.labels });
        this.syncSelfMetrics(registry);
      });
    }
  }

  /** Collect and export now (tests, shutdown). */
  async flush(): Promise<void> {
    await this.provider.forceFlush();
  }

  /** Final collection and export, then stop. Safe twice. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.provider.shutdown();
  }
}

/**
 * splitAttributes(e).record['network.peer.address'] without the record: an
 * enrichment value of that name, else the connect's or retransmit's daddr.
 */
function peerAddress(e: NetEvent): AttrValue | undefined {
  const extra = e.attributes;
  if (extra !== undefined && Object.prototype.hasOwnProperty.call(extra, 'network.peer.address'))
    return extra['network.peer.address'];
  return e.type === 'soconnect' || e.type === 'udpconnect' || e.type === 'tcpretrans' ? e.daddr : undefined;
}
