import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EVENT_TYPES } from '../core/event.js';
import { probeConfigSchema } from '../probes/config.js';
import { registry } from '../registry.js';
import { repoRoot } from '../paths.js';
import { formatError } from './errors.js';
import { loadConfigFile, loadConfigText, type ComponentCatalog } from './load.js';
import { substituteEnv } from './env.js';

const catalog: ComponentCatalog = {
  probes: new Map(EVENT_TYPES.map((t) => [t, { configSchema: probeConfigSchema }])),
  processors: registry.processors,
  exporters: new Map([['stdout', registry.exporters.get('stdout')!]]),
};
const data = (f: string) => join(repoRoot(), 'src/config/testdata', f);

test('a valid file loads with env substitution, defaults and shared exporters', async () => {
  const r = await loadConfigFile(data('valid.yaml'), catalog, { FORMAT: 'json' });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const c = r.config;
  assert.deepEqual([...c.pipelines.keys()], ['net', 'dns']);
  assert.deepEqual(c.pipelines.get('dns'), {
    probes: ['gethostlatency'],
    processors: [],
    exporters: ['stdout', 'stdout/table'],
  });
  assert.deepEqual(c.probes.get('gethostlatency'), {
    type: 'gethostlatency',
    config: { restart_backoff_max_ms: 5000, perf_rb_pages: 256 },
  });
  const stdout = c.exporters.get('stdout')!.config as {
    format: string;
    queue: { max_queue_size: number; max_batch_size: number };
  };
  assert.equal(stdout.format, 'json');
  assert.equal(stdout.queue.max_queue_size, 20_000);
  const table = c.exporters.get('stdout/table')!;
  assert.equal(table.type, 'stdout');
  assert.equal((table.config as { queue: { max_queue_size: number } }).queue.max_queue_size, 100);
  assert.equal(c.telemetry.log_level, 'info');
});

test('every error at once, with file, line, column, key path and suggestions', async () => {
  const r = await loadConfigFile(data('invalid.yaml'), catalog, {});
  assert.equal(r.ok, false);
  const lines = !r.ok ? r.errors.map((e) => formatError({ ...e, file: 'invalid.yaml' })) : [];
  assert.deepEqual(lines, [
    'invalid.yaml:2:3: probes.soconect: unknown probe type "soconect" (did you mean "soconnect"?); known: soconnect, tcpretrans, gethostlatency, skbdrop, udpconnect',
    'invalid.yaml:4:29: probes.udpconnect.restart_backoff_max_ms: must be >= 100',
    'invalid.yaml:7:5: exporters.stdout.formt: unknown key (did you mean "format"?); valid keys: format, queue',
    'invalid.yaml:8:3: exporters.stdot: unknown exporter type "stdot" (did you mean "stdout"?); known: stdout',
    'invalid.yaml:13:5: pipelines.net.procesors: unknown key (did you mean "processors"?); valid keys: probes, processors, exporters',
    'invalid.yaml:15:14: telemetry.log_level: must be one of "trace", "debug", "info", "warn", "error", "fatal", "silent", got "loud"',
    'invalid.yaml:16:20: telemetry.log_interval_ms: environment variable NETSPAN_TEST_UNSET is not set and has no default (write ${env:NETSPAN_TEST_UNSET:-value})',
  ]);
});

test('perf_rb_pages: a power of two, named with its key when it is not', () => {
  const text = (pages: number) =>
    `probes: { soconnect: { perf_rb_pages: ${pages} } }\nexporters: { stdout: {} }\npipelines: { p: { probes: [soconnect], exporters: [stdout] } }\n`;
  const ok = loadConfigText(text(1024), 'rb.yaml', catalog, {});
  assert.ok(ok.ok);
  assert.equal((ok.config.probes.get('soconnect')!.config as { perf_rb_pages: number }).perf_rb_pages, 1024);
  const bad = loadConfigText(text(100), 'rb.yaml', catalog, {});
  assert.deepEqual(!bad.ok && bad.errors.map((e) => formatError({ ...e, file: 'rb.yaml' })), [
    'rb.yaml:1:39: probes.soconnect.perf_rb_pages: must be a power of two',
  ]);
});

test('pipelines must reference defined components, once each', async () => {
  const r = await loadConfigFile(data('bad-refs.yaml'), catalog, {});
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`), [
    '7:25 pipelines.net.probes[1]: "soconnect" is listed twice',
    '7:36 pipelines.net.probes[2]: probe "tcpretrans" is not defined under probes:',
    '8:17 pipelines.net.exporters[0]: exporter "stdou" is not defined under exporters: (did you mean "stdout"?)',
  ]);
});

test('YAML syntax errors, non-map files and missing files are reported, not thrown', async () => {
  const syntax = loadConfigText('pipelines:\n  net: [a\n', 'x.yaml', catalog, {});
  assert.equal(syntax.ok, false);
  assert.match(!syntax.ok ? formatError(syntax.errors[0]!) : '', /^x\.yaml:\d+:\d+: /);
  const list = loadConfigText('- a\n- b\n', 'x.yaml', catalog, {});
  assert.deepEqual(!list.ok && list.errors.map((e) => e.message), [
    'the file must be a YAML map with probes, processors, exporters and pipelines',
  ]);
  const dup = loadConfigText('pipelines: {}\npipelines: {}\n', 'x.yaml', catalog, {});
  assert.equal(dup.ok, false);
  assert.match(!dup.ok ? dup.errors[0]!.message : '', /unique/i);
  const missing = await loadConfigFile('/nonexistent/netspan.yaml', catalog, {});
  assert.match(!missing.ok ? missing.errors[0]!.message : '', /cannot read the file: ENOENT/);
  const noPipelines = loadConfigText('probes: {}\n', 'x.yaml', catalog, {});
  assert.deepEqual(!noPipelines.ok && noPipelines.errors.map((e) => `${e.path}: ${e.message}`), [
    'pipelines: is required (record)',
  ]);
});

test('env substitution: defaults, $$ escapes, types of whole-value references', () => {
  assert.deepEqual(substituteEnv('${env:A}', { A: '9092' }), { ok: true, value: 9092 });
  assert.deepEqual(substituteEnv('${env:A}', { A: 'true' }), { ok: true, value: true });
  assert.deepEqual(substituteEnv('host:${env:A}', { A: '9092' }), { ok: true, value: 'host:9092' });
  assert.deepEqual(substituteEnv('${env:B:-localhost:9092}', {}), { ok: true, value: 'localhost:9092' });
  assert.deepEqual(substituteEnv('$${env:B}', {}), { ok: true, value: '${env:B}' });
  assert.equal(substituteEnv('${env:B}', {}).ok, false);
  assert.deepEqual(substituteEnv('${env:A}', { A: '9092' }, false), { ok: true, value: '9092' });
});

test('a whole-value reference keeps its text where the schema wants a string: an all-digit token in an OTLP header', () => {
  const text = (ref: string) => `
probes: { soconnect: {} }
exporters:
  otlp:
    endpoint: http://127.0.0.1:4317
    headers:
      authorization: ${ref}
    metrics:
      export_interval_ms: \${env:T}
pipelines: { p: { probes: [soconnect], exporters: [otlp] } }
`;
  const env = { TOKEN: '0123456789', T: '2500' };
  const r = loadConfigText(text('"${env:TOKEN}"'), 'h.yaml', registry, env);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const otlp = r.config.exporters.get('otlp')!.config as {
    headers: Record<string, string>;
    metrics: { export_interval_ms: number };
  };
  assert.deepEqual(otlp.headers, { authorization: '0123456789' });
  assert.equal(otlp.metrics.export_interval_ms, 2500, 'a plain reference still reads as a number');
  // unquoted too (as Helm's toYaml writes it), leading zero and all
  const plain = loadConfigText(text('${env:TOKEN}'), 'h.yaml', registry, env);
  assert.ok(plain.ok, JSON.stringify(!plain.ok && plain.errors));
  assert.deepEqual((plain.config.exporters.get('otlp')!.config as { headers: unknown }).headers, {
    authorization: '0123456789',
  });
  const big = loadConfigText(text('${env:TOKEN}'), 'h.yaml', registry, { ...env, TOKEN: '12345678901234567890123' });
  assert.ok(big.ok);
  assert.deepEqual((big.config.exporters.get('otlp')!.config as { headers: unknown }).headers, {
    authorization: '12345678901234567890123',
  });
});
