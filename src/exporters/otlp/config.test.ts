import { test } from 'node:test';
import { registry } from '../../registry.js';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfigFile, type ComponentCatalog } from '../../config/load.js';
import { EVENT_TYPES } from '../../core/event.js';
import { repoRoot } from '../../paths.js';
import { probeConfigSchema } from '../../probes/config.js';
import { DEFAULT_EXPLICIT_BOUNDS, otlpConfigSchema } from './config.js';
import { otlpExporterFactory } from './factory.js';

test('defaults', () => {
  const c = otlpConfigSchema.parse(undefined);
  assert.equal(c.endpoint, 'http://localhost:4317');
  assert.deepEqual(c.tls, {});
  assert.deepEqual(c.headers, {});
  assert.equal(c.compression, 'none');
  assert.deepEqual(c.signals, { traces: true, logs: true, metrics: true });
  assert.deepEqual(c.metrics, {
    export_interval_ms: 60_000,
    dimensions: ['namespace', 'workload'],
    histogram: 'exponential',
    explicit_bounds: DEFAULT_EXPLICIT_BOUNDS,
    cardinality_limit: 2_000,
    self_metrics: true,
  });
  assert.deepEqual(c.connection_traces, {
    enabled: true,
    window_ms: 5_000,
    connect_ttl_ms: 60_000,
    max_entries: 32_768,
  });
  assert.equal(c.host_service_name, 'netspan-host');
  assert.equal(c.queue.max_batch_size, 512);
  assert.equal(otlpExporterFactory.type, 'otlp');
});

test('strict: unknown keys, unbounded dimensions by typo, bad headers and half mTLS are rejected', () => {
  const bad = (v: unknown) => otlpConfigSchema.safeParse(v).success;
  assert.equal(bad({ endpont: 'x' }), false);
  assert.equal(bad({ signals: { spans: true } }), false);
  assert.equal(bad({ metrics: { dimensions: ['container'] } }), false);
  assert.equal(bad({ headers: { 'bad header': 'x' } }), false);
  assert.equal(bad({ headers: { 'trace-bin': 'x' } }), false);
  assert.equal(bad({ tls: { cert_file: '/c.pem' } }), false);
  assert.equal(bad({ connection_traces: { window_ms: -1 } }), false);
  assert.equal(
    bad({ headers: { Authorization: 'Bearer x' }, tls: { insecure: false, cert_file: '/c', key_file: '/k' } }),
    true,
  );
});

const catalog: ComponentCatalog = {
  probes: new Map(EVENT_TYPES.map((t) => [t, { configSchema: probeConfigSchema }])),
  processors: registry.processors,
  exporters: new Map([['otlp', otlpExporterFactory]]),
};

test('pipelines/otlp.yaml: all five probes into the otlp exporter, endpoint from OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
  const file = join(repoRoot(), 'pipelines/otlp.yaml');
  const withEnv = await loadConfigFile(file, catalog, {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector.observability:4317',
  });
  assert.ok(withEnv.ok, JSON.stringify(!withEnv.ok && withEnv.errors));
  assert.deepEqual(withEnv.config.pipelines.get('otlp'), {
    probes: [...EVENT_TYPES],
    processors: ['process', 'container', 'k8s', 'peer'],
    exporters: ['otlp'],
  });
  const exp = withEnv.config.exporters.get('otlp')!;
  assert.equal(exp.type, 'otlp');
  assert.equal((exp.config as { endpoint: string }).endpoint, 'http://collector.observability:4317');
  const dflt = await loadConfigFile(file, catalog, {});
  assert.ok(dflt.ok, JSON.stringify(!dflt.ok && dflt.errors));
  assert.equal((dflt.config.exporters.get('otlp')!.config as { endpoint: string }).endpoint, 'http://localhost:4317');
});
