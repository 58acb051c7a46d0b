/** The processors' config schemas through the real loader: messages, key paths, line:col; and the example pipelines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES } from '../core/event.js';
import { loadConfigFile, loadConfigText, type ComponentCatalog } from '../config/load.js';
import { stdoutExporterFactory } from '../exporters/stdout/factory.js';
import { repoRoot } from '../paths.js';
import type { ProcessorFactory } from '../pipeline/component.js';
import { probeConfigSchema } from '../probes/config.js';
import { attributesProcessorFactory } from './attributes/factory.js';
import { filterProcessorFactory } from './filter/factory.js';
import { rateLimitProcessorFactory } from './rate_limit/factory.js';
import { redactProcessorFactory } from './redact/factory.js';
import { sampleProcessorFactory } from './sample/factory.js';

const factories: ProcessorFactory[] = [
  filterProcessorFactory,
  sampleProcessorFactory,
  rateLimitProcessorFactory,
  redactProcessorFactory,
  attributesProcessorFactory,
];
const catalog: ComponentCatalog = {
  probes: new Map(EVENT_TYPES.map((t) => [t, { configSchema: probeConfigSchema }])),
  processors: new Map(factories.map((f) => [f.type, f])),
  exporters: new Map([['stdout', stdoutExporterFactory]]),
};

/** A file with one processor body (YAML flow or block text after "processors:\n"). */
function file(processors: string): string {
  return `processors:\n${processors}\nprobes:\n  soconnect: {}\nexporters:\n  stdout: {}\npipelines:\n  p:\n    probes: [soconnect]\n    exporters: [stdout]\n`;
}

const cases: [name: string, processors: string, errors: string[]][] = [
  ['sample ratio above 1', '  sample: {ratio: 1.5}', ['2:19 processors.sample.ratio: must be between 0 and 1']],
  [
    'sample ratio below 0',
    '  sample/low:\n    ratio: -0.1',
    ['3:12 processors.sample/low.ratio: must be between 0 and 1'],
  ],
  ['sample ratio missing', '  sample: {}', ['2:11 processors.sample.ratio: is required (number)']],
  [
    'sample ratio not a number',
    '  sample: {ratio: half}',
    ['2:19 processors.sample.ratio: expected number, got "half"'],
  ],
  [
    'sample key typo',
    '  sample: {ratio: 0.1, key: conection}',
    ['2:29 processors.sample.key: must be one of "peer", "connection", got "conection" (did you mean "connection"?)'],
  ],
  ['filter without include or exclude', '  filter: {}', ['2:11 processors.filter: needs include, exclude or both']],
  [
    'filter with an empty include',
    '  filter:\n    include: {}',
    [
      '3:14 processors.filter.include: needs at least one criterion (types, namespaces, pods, labels, workloads, ports, cidrs, results, drop_reasons, comms)',
    ],
  ],
  [
    'filter unknown criterion',
    '  filter:\n    exclude:\n      namespace: [kube-system]\n      types: [skbdrop]',
    [
      '4:7 processors.filter.exclude.namespace: unknown key (did you mean "namespaces"?); valid keys: match_type, types, namespaces, pods, labels, workloads, ports, cidrs, results, drop_reasons, comms',
    ],
  ],
  [
    'filter bad CIDR and port',
    '  filter:\n    include:\n      cidrs: [10.0.0.0/8, 10.0.0.0/33, fd00::/8]\n      ports: [443, "9000-80", 70000]',
    [
      '4:27 processors.filter.include.cidrs[1]: must be an IPv4 or IPv6 address or CIDR, such as 10.0.0.0/8 or fd00::/8',
      '5:20 processors.filter.include.ports[1]: must be a port 0-65535 or a range "low-high" such as "8000-8999"',
      '5:31 processors.filter.include.ports[2]: must be a port 0-65535 or a range "low-high" such as "8000-8999"',
    ],
  ],
  [
    'filter bad regexp',
    '  filter:\n    include:\n      match_type: regexp\n      pods: ["web-(", ok]',
    ['5:14 processors.filter.include.pods[0]: Invalid regular expression: /web-(/: Unterminated group'],
  ],
  [
    'filter unknown event type',
    '  filter:\n    include: {types: [soconnect, dns]}',
    [
      '3:34 processors.filter.include.types[1]: must be one of "soconnect", "tcpretrans", "gethostlatency", "skbdrop", "udpconnect", got "dns"',
    ],
  ],
  ['rate_limit zero rate', '  rate_limit: {rate: 0}', ['2:22 processors.rate_limit.rate: must be > 0']],
  [
    'rate_limit key typo',
    '  rate_limit: {rate: 5, key: pods}',
    [
      '2:30 processors.rate_limit.key: must be one of "pod", "namespace", "workload", "comm", "type", "none", got "pods" (did you mean "pod"?)',
    ],
  ],
  [
    'rate_limit max_keys 0',
    '  rate_limit: {rate: 5, max_keys: 0}',
    ['2:35 processors.rate_limit.max_keys: must be >= 1'],
  ],
  [
    'redact two keys',
    '  redact: {hmac_key: a, hmac_key_env: B}',
    ['2:39 processors.redact.hmac_key_env: set hmac_key or hmac_key_env, not both'],
  ],
  [
    'redact action typo',
    '  redact: {comm: hsah}',
    ['2:18 processors.redact.comm: must be one of "hash", "drop", "keep", got "hsah" (did you mean "hash"?)'],
  ],
  [
    'attributes action typo and missing value',
    '  attributes:\n    actions:\n      - {key: a, action: upsret, value: 1}\n      - {key: b, action: insert}',
    [
      '4:26 processors.attributes.actions[0].action: must be one of "insert", "update", "upsert", "delete", "rename", got "upsret" (did you mean "upsert"?)',
      '5:9 processors.attributes.actions[1].value: is required for action insert',
    ],
  ],
  [
    'attributes rename without from_attribute',
    '  attributes:\n    actions: [{key: a, action: rename}]',
    ['3:15 processors.attributes.actions[0].from_attribute: is required for action rename'],
  ],
];

for (const [name, processors, want] of cases) {
  test(`processor config: ${name}`, () => {
    const r = loadConfigText(file(processors), 'x.yaml', catalog, {});
    assert.equal(r.ok, false);
    assert.deepEqual(!r.ok && r.errors.map((e) => `${e.line}:${e.col} ${e.path}: ${e.message}`), want);
  });
}

test('processor config: valid bodies load with their defaults', () => {
  const r = loadConfigText(
    file(
      '  sample: {ratio: 0.25}\n  rate_limit: {rate: 100}\n  redact:\n  filter: {exclude: {namespaces: [kube-system]}}',
    ),
    'x.yaml',
    catalog,
    {},
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.deepEqual(r.config.processors.get('sample')?.config, { ratio: 0.25, key: 'peer', hash_seed: 0 });
  assert.deepEqual(r.config.processors.get('rate_limit')?.config, { rate: 100, key: 'none', max_keys: 10_000 });
  assert.deepEqual(r.config.processors.get('redact')?.config, {
    addresses: 'hash',
    host_names: 'hash',
    comm: 'keep',
    command_line: 'drop',
    cache_size: 16_384,
    hash_length: 16,
  });
  assert.deepEqual(r.config.processors.get('filter')?.config, {
    exclude: { match_type: 'strict', namespaces: ['kube-system'] },
  });
});

test('every example pipeline in pipelines/examples loads', async () => {
  const dir = join(repoRoot(), 'pipelines/examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.deepEqual(files.sort(), ['attributes.yaml', 'filter.yaml', 'rate_limit.yaml', 'redact.yaml', 'sample.yaml']);
  for (const f of files) {
    const r = await loadConfigFile(join(dir, f), catalog, { NETSPAN_REDACT_KEY: 'k' });
    assert.ok(r.ok, `${f}: ${JSON.stringify(!r.ok && r.errors)}`);
    const types = [...r.config.processors.values()].map((p) => p.type);
    assert.ok(types.includes(f.replace('.yaml', '')), `${f} uses its processor`);
  }
});
