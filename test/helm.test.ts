/**
 * The Helm chart (helm/netspan), rendered without the helm binary by
 * test/helm-render (Go text/template + sprig, the engine Helm uses), built
 * offline from Debian's golang-go, golang-github-masterminds-sprig-dev and
 * golang-github-ghodss-yaml-dev. Checks the objects of the default values and
 * of every example values file, validates the rendered pipelines with
 * `netspan validate`, and values.schema.json with ajv.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Ajv } from 'ajv';
import { repoRoot } from '../src/paths.js';
import { registry } from '../src/registry.js';
import { componentType, configFileSchema } from '../src/config/schema.js';
import { loadConfigText } from '../src/config/load.js';
import { healthConfigSchema } from '../src/health/config.js';

const ROOT = repoRoot();
const CHART = join(ROOT, 'helm', 'netspan');
const EXAMPLES = join(CHART, 'examples');
const RENDERER_SRC = join(ROOT, 'test', 'helm-render', 'main.go');
const exampleFiles = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call -- rendered Kubernetes objects are untyped YAML, checked field by field */
type Obj = Record<string, any>;

let renderer = '';
let tmp = '';

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'netspan-helm-'));
  const hash = createHash('sha256').update(readFileSync(RENDERER_SRC)).digest('hex').slice(0, 16);
  const cache = join(ROOT, 'node_modules', '.cache', 'netspan-helm-render');
  renderer = join(cache, `helm-render-${hash}`);
  if (existsSync(renderer)) return;
  mkdirSync(cache, { recursive: true });
  // GOPATH mode against Debian's packaged sources: no module download, no network.
  await execa('go', ['build', '-o', renderer, RENDERER_SRC], {
    cwd: join(ROOT, 'test', 'helm-render'),
    env: {
      GOPATH: '/usr/share/gocode',
      GO111MODULE: 'off',
      GOFLAGS: '',
      GOCACHE: join(cache, 'gocache'),
      GOTOOLCHAIN: 'local',
    },
  });
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface Rendered {
  objects: Obj[];
  byKind: (kind: string) => Obj[];
  one: (kind: string, name?: string) => Obj;
}

async function renderRaw(valueFiles: string[], args: string[] = []) {
  return execa(
    renderer,
    ['-chart', CHART, '-name', 'netspan', '-namespace', 'netspan', ...valueFiles.flatMap((f) => ['-f', f]), ...args],
    { reject: false },
  );
}

async function render(...valueFiles: string[]): Promise<Rendered> {
  const r = await renderRaw(valueFiles);
  assert.equal(r.exitCode, 0, `render failed: ${r.stderr}`);
  const objects: Obj[] = [];
  for (const doc of parseAllDocuments(r.stdout)) {
    assert.deepEqual(doc.errors, [], `YAML error in rendered output`);
    const o = doc.toJS() as Obj | null;
    if (o) objects.push(o);
  }
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const one = (kind: string, name?: string) => {
    const found = byKind(kind).filter((o) => name === undefined || o.metadata?.name === name);
    assert.equal(found.length, 1, `exactly one ${kind}${name ? ` ${name}` : ''}`);
    return found[0]!;
  };
  return { objects, byKind, one };
}

async function writeValues(name: string, text: string): Promise<string> {
  const file = join(tmp, name);
  await writeFile(file, text);
  return file;
}

const API_VERSIONS: Record<string, string> = {
  ConfigMap: 'v1',
  ServiceAccount: 'v1',
  DaemonSet: 'apps/v1',
  ClusterRole: 'rbac.authorization.k8s.io/v1',
  ClusterRoleBinding: 'rbac.authorization.k8s.io/v1',
};

function kinds(r: Rendered): string[] {
  return r.objects.map((o) => `${o.apiVersion} ${o.kind}/${o.metadata.name}`).sort();
}

/** The netspan container and pod spec: the DaemonSet's, or the sidecar patch's. */
function podSpec(r: Rendered): Obj {
  const ds = r.byKind('DaemonSet');
  if (ds.length) return ds[0]!.spec.template.spec;
  const patch = parseYaml(r.one('ConfigMap', 'netspan-sidecar-patch').data['patch.yaml']) as Obj;
  return patch.spec.template.spec;
}

function container(r: Rendered): Obj {
  const cs = podSpec(r).containers as Obj[];
  assert.equal(cs.length, 1);
  return cs[0]!;
}

const EXPECTED_RULES = [
  { apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get', 'list', 'watch'] },
];

void test('default values: exactly the DaemonSet-mode objects, with their apiVersions', async () => {
  const r = await render();
  assert.deepEqual(kinds(r), [
    'apps/v1 DaemonSet/netspan',
    'rbac.authorization.k8s.io/v1 ClusterRole/netspan',
    'rbac.authorization.k8s.io/v1 ClusterRoleBinding/netspan',
    'v1 ConfigMap/netspan',
    'v1 ServiceAccount/netspan',
  ]);
  for (const o of r.objects) {
    assert.equal(o.apiVersion, API_VERSIONS[o.kind], o.kind);
    if (!o.kind.startsWith('Cluster')) assert.equal(o.metadata.namespace, 'netspan');
    assert.equal(o.metadata.labels['app.kubernetes.io/managed-by'], 'Helm');
  }
  const ds = r.one('DaemonSet');
  assert.deepEqual(ds.spec.selector.matchLabels, {
    'app.kubernetes.io/name': 'netspan',
    'app.kubernetes.io/instance': 'netspan',
  });
  for (const [k, v] of Object.entries(ds.spec.selector.matchLabels))
    assert.equal(ds.spec.template.metadata.labels[k], v);
  assert.equal(ds.spec.template.spec.serviceAccountName, 'netspan');
  assert.equal(ds.spec.template.spec.automountServiceAccountToken, true);
  assert.match(ds.spec.template.metadata.annotations['checksum/config'], /^[0-9a-f]{64}$/);
  assert.equal(container(r).image, 'ghcr.io/netspan/netspan:0.1.0');
  assert.deepEqual(container(r).args, ['--config', '/etc/netspan/netspan.yaml']);
});

void test('DaemonSet: least-privilege security context, hostPID, tolerate everything', async () => {
  const r = await render();
  const spec = podSpec(r);
  assert.equal(spec.hostPID, true);
  assert.equal(spec.hostNetwork, false);
  assert.equal(spec.shareProcessNamespace, undefined);
  assert.deepEqual(spec.tolerations, [{ operator: 'Exists' }]);
  assert.equal(spec.priorityClassName, undefined);
  assert.deepEqual(container(r).securityContext, {
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsUser: 0,
    runAsNonRoot: false,
    capabilities: { drop: ['ALL'], add: ['BPF', 'PERFMON', 'SYS_RESOURCE'] },
    seccompProfile: { type: 'Unconfined' },
  });
  assert.deepEqual(container(r).resources, { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '512Mi' } });
});

void test('securityContext.appArmorProfile: RuntimeDefault, Unconfined or a Localhost profile, in either spelling', async () => {
  const cases: [string, Obj | undefined][] = [
    ['""', undefined],
    ['RuntimeDefault', { type: 'RuntimeDefault' }],
    ['runtime/default', { type: 'RuntimeDefault' }],
    ['Unconfined', { type: 'Unconfined' }],
    ['unconfined', { type: 'Unconfined' }],
    ['localhost/netspan-bpf', { type: 'Localhost', localhostProfile: 'netspan-bpf' }],
    ['netspan-bpf', { type: 'Localhost', localhostProfile: 'netspan-bpf' }],
  ];
  for (const [value, want] of cases) {
    const r = await render(await writeValues('apparmor.yaml', `securityContext:\n  appArmorProfile: ${value}\n`));
    assert.deepEqual(container(r).securityContext.appArmorProfile, want, value);
  }
});

void test('DaemonSet: host paths mounted read-only where they belong', async () => {
  const r = await render();
  const spec = podSpec(r);
  const hostPaths = Object.fromEntries(
    (spec.volumes as Obj[]).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath.path]),
  );
  assert.deepEqual(hostPaths, {
    'netspan-tracefs': '/sys/kernel/tracing',
    'netspan-btf': '/sys/kernel/btf',
    'netspan-cgroup': '/sys/fs/cgroup',
    'netspan-host-proc': '/proc',
  });
  const mounts: Record<string, Obj> = Object.fromEntries((container(r).volumeMounts as Obj[]).map((m) => [m.name, m]));
  assert.deepEqual(Object.fromEntries(Object.entries(mounts).map(([n, m]) => [n, m.mountPath])), {
    'netspan-config': '/etc/netspan',
    'netspan-tmp': '/tmp',
    'netspan-tracefs': '/sys/kernel/tracing',
    'netspan-btf': '/sys/kernel/btf',
    'netspan-cgroup': '/sys/fs/cgroup',
    'netspan-host-proc': '/host/proc',
  });
  for (const [name, m] of Object.entries(mounts)) {
    if (name === 'netspan-tmp') assert.equal(m.readOnly, undefined, 'the emptyDir /tmp is the only writable mount');
    else assert.equal(m.readOnly, true, `${name} is read-only`);
  }
  const tmpVol = (spec.volumes as Obj[]).find((v) => v.name === 'netspan-tmp')!;
  assert.deepEqual(tmpVol.emptyDir, { sizeLimit: '64Mi' });
  assert.deepEqual((spec.volumes as Obj[]).find((v) => v.name === 'netspan-config')!.configMap, { name: 'netspan' });
});

void test('process and container processors read the host procfs, and container the host cgroup2 hierarchy, where the chart mounts them (default values and every example)', async () => {
  let checked = 0;
  for (const [label, files] of [['default', []], ...exampleFiles.map((f) => [f, [join(EXAMPLES, f)]])] as [
    string,
    string[],
  ][]) {
    const r = await render(...files);
    assert.equal(
      (container(r).env as Obj[]).find((e) => e.name === 'HOST_PROC'),
      undefined,
      `${label}: nothing reads HOST_PROC`,
    );
    const mount = (container(r).volumeMounts as Obj[]).find((m) => m.name === 'netspan-host-proc')!;
    const cgroupMount = (container(r).volumeMounts as Obj[]).find((m) => m.name === 'netspan-cgroup')!;
    assert.equal(
      (podSpec(r).volumes as Obj[]).find((v) => v.name === cgroupMount.name)!.hostPath.path,
      '/sys/fs/cgroup',
    );
    assert.deepEqual((podSpec(r).volumes as Obj[]).find((v) => v.name === mount.name)!.hostPath, {
      path: '/proc',
      type: 'Directory',
    });
    const cm = r.one('ConfigMap', 'netspan');
    for (const [file, text] of Object.entries(cm.data as Record<string, string>)) {
      const doc = parseYaml(text) as Obj;
      for (const [id, body] of Object.entries((doc.processors ?? {}) as Obj)) {
        if (!['process', 'container'].includes(componentType(id))) continue;
        assert.equal(body?.proc_root, mount.mountPath, `${label}/${file}: processors.${id}.proc_root`);
        if (componentType(id) === 'container')
          assert.equal(body?.cgroup_root, cgroupMount.mountPath, `${label}/${file}: processors.${id}.cgroup_root`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 6, `default, kafka and sidecar each have a process and a container processor (${checked})`);
});

void test('RBAC: get/list/watch on pods, services and replicasets, nothing more, bound to the ServiceAccount', async () => {
  const r = await render();
  assert.deepEqual(r.one('ClusterRole').rules, EXPECTED_RULES);
  const b = r.one('ClusterRoleBinding');
  assert.deepEqual(b.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'netspan' });
  assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'netspan', namespace: 'netspan' }]);
  const off = await render(
    await writeValues('norbac.yaml', 'rbac:\n  create: false\nserviceAccount:\n  create: false\n'),
  );
  assert.deepEqual(kinds(off), ['apps/v1 DaemonSet/netspan', 'v1 ConfigMap/netspan']);
  assert.equal(podSpec(off).serviceAccountName, 'default');
});

void test('env: identity from the downward API, endpoints as values', async () => {
  const r = await render();
  const env = container(r).env as Obj[];
  assert.deepEqual(
    env.find((e) => e.name === 'NODE_NAME'),
    { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
  );
  assert.deepEqual(
    env.find((e) => e.name === 'POD_NAME'),
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  );
  assert.deepEqual(
    env.find((e) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT'),
    {
      name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
      value: 'http://otel-collector-opentelemetry-collector:4317',
    },
  );
  assert.equal(
    env.find((e) => e.name === 'KAFKA_BROKERS'),
    undefined,
  );
  assert.equal(new Set(env.map((e) => e.name)).size, env.length, 'no duplicate env names');
});

void test('health: probes hit /healthz and /readyz on the port the pipeline serves; scrape annotations optional', async () => {
  const r = await render();
  const c = container(r);
  assert.deepEqual(c.ports, [{ name: 'netspan-health', containerPort: 8080, protocol: 'TCP' }]);
  assert.deepEqual(c.livenessProbe, {
    httpGet: { path: '/healthz', port: 'netspan-health' },
    initialDelaySeconds: 10,
    periodSeconds: 20,
    timeoutSeconds: 5,
    failureThreshold: 3,
  });
  assert.deepEqual(c.readinessProbe, {
    httpGet: { path: '/readyz', port: 'netspan-health' },
    initialDelaySeconds: 5,
    periodSeconds: 10,
    timeoutSeconds: 5,
    failureThreshold: 3,
  });
  const doc = parseYaml(r.one('ConfigMap').data['netspan.yaml']) as Obj;
  // The injected block is what src/health/config.ts accepts, with the same port.
  assert.deepEqual(healthConfigSchema.parse(doc.telemetry.health), {
    enabled: true,
    host: '0.0.0.0',
    port: 8080,
    failing_threshold_ms: 60_000,
  });
  assert.equal(doc.telemetry.log_level, 'info');
  assert.equal(r.one('DaemonSet').spec.template.metadata.annotations['prometheus.io/scrape'], undefined);

  const custom = await render(
    await writeValues(
      'health.yaml',
      'health:\n  host: "::"\n  port: 9464\n  failingThresholdMs: 120000\nmetrics:\n  podAnnotations: true\nlivenessProbe:\n  enabled: false\nlogLevel: debug\n',
    ),
  );
  const cc = container(custom);
  assert.equal(cc.ports[0].containerPort, 9464);
  assert.equal(cc.livenessProbe, undefined);
  assert.equal(cc.readinessProbe.httpGet.port, 'netspan-health');
  const cdoc = parseYaml(custom.one('ConfigMap').data['netspan.yaml']) as Obj;
  assert.deepEqual(cdoc.telemetry, {
    log_level: 'debug',
    health: { enabled: true, host: '::', port: 9464, failing_threshold_ms: 120_000 },
  });
  const ann = custom.one('DaemonSet').spec.template.metadata.annotations;
  assert.equal(ann['prometheus.io/scrape'], 'true');
  assert.equal(ann['prometheus.io/port'], '9464');
  assert.equal(ann['prometheus.io/path'], '/metrics');
  assert.notEqual(
    ann['checksum/config'],
    r.one('DaemonSet').spec.template.metadata.annotations['checksum/config'],
    'a config change rolls the pods',
  );
});

/** Placeholder values for the env a pod gets from fieldRef/secretKeyRef. */
function podEnv(c: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env as Obj[]) env[e.name] = e.value ?? `placeholder-${String(e.name).toLowerCase()}`;
  return env;
}

const NOUN = { probes: 'probe', processors: 'processor', exporters: 'exporter' } as const;

/**
 * What `netspan validate` must report for a rendered pipeline given what the
 * core has registered so far: an "unknown … type" per component not yet
 * registered, and telemetry.health until the core accepts it. Anything else
 * is a defect of the chart's pipeline.
 */
function expectedValidationErrors(doc: Obj): { path: string; prefix: string }[] {
  const out: { path: string; prefix: string }[] = [];
  for (const section of ['probes', 'processors', 'exporters'] as const) {
    for (const id of Object.keys(doc[section] ?? {})) {
      const type = componentType(id);
      if (!registry[section].has(type))
        out.push({ path: `${section}.${id}`, prefix: `unknown ${NOUN[section]} type "${type}"` });
    }
  }
  if (!configFileSchema.shape.telemetry.safeParse({ health: doc.telemetry?.health }).success) {
    out.push({ path: 'telemetry.health', prefix: 'unknown key' });
  }
  return out;
}

const notRegistered = new Set<string>();

async function validatePipelines(r: Rendered, label: string): Promise<number> {
  const cm = r
    .byKind('ConfigMap')
    .find((o) => !o.metadata.name.endsWith('-sidecar-patch') && !o.metadata.name.endsWith('-dashboard'));
  assert.ok(cm, `${label}: pipeline ConfigMap`);
  const env = podEnv(container(r));
  let n = 0;
  for (const [file, text] of Object.entries(cm.data as Record<string, string>)) {
    const path = join(tmp, `${label}-${file}`);
    await writeFile(path, text);
    const res = await execa('node', [join(ROOT, 'bin', 'netspan'), 'validate', path], {
      reject: false,
      env,
      extendEnv: false,
    });
    const expected = expectedValidationErrors(parseYaml(text) as Obj);
    for (const e of expected) notRegistered.add(e.path.replace(/^(\w+)\.([^/]+).*$/, '$1.$2'));
    const errorLines = res.stderr
      .split('\n')
      .filter((l) => /^ {2}\S/.test(l))
      .map((l) => l.slice(path.length + 2).replace(/^:\d+:\d+: /, ''));
    const unexpected = errorLines.filter((l) => !expected.some((e) => l.startsWith(`${e.path}: ${e.prefix}`)));
    assert.deepEqual(
      unexpected,
      [],
      `${label}/${file}: netspan validate reported errors that are the chart's fault:\n${res.stderr}`,
    );
    for (const e of expected) {
      assert.ok(
        errorLines.some((l) => l.startsWith(`${e.path}: ${e.prefix}`)),
        `${label}/${file}: expected "${e.path}: ${e.prefix}" in\n${res.stderr}`,
      );
    }
    if (expected.length === 0) {
      assert.equal(res.exitCode, 0, res.stderr);
      assert.match(res.stdout, /: valid \(1 pipeline\(s\), probes: /);
    } else {
      assert.equal(res.exitCode, 1);
    }
    n++;
  }
  return n;
}

void test('ConfigMap pipelines pass `netspan validate` (default values and every example)', async () => {
  let files = await validatePipelines(await render(), 'default');
  for (const f of exampleFiles)
    files += await validatePipelines(await render(join(EXAMPLES, f)), f.replace(/\.yaml$/, ''));
  assert.equal(files, 1 + exampleFiles.length);
  if (notRegistered.size) {
    // Reported, not hidden: these are checked again, fully, once the core registers them.
    process.stdout.write(
      `# helm: not yet registered in src/registry.ts / telemetry schema: ${[...notRegistered].sort().join(', ')}\n`,
    );
  }
});

void test('the stdout example is a complete pipeline the current core accepts as is', async () => {
  const r = await render(join(EXAMPLES, 'stdout.yaml'));
  const doc = parseYaml(r.one('ConfigMap').data['netspan.yaml']) as Obj;
  assert.deepEqual(Object.keys(doc.exporters), ['stdout']);
  assert.deepEqual(doc.pipelines.default.probes, [
    'soconnect',
    'tcpretrans',
    'gethostlatency',
    'skbdrop',
    'udpconnect',
  ]);
  assert.equal(r.byKind('DaemonSet')[0]!.spec.template.metadata.annotations['prometheus.io/scrape'], 'true');
  assert.equal(
    (container(r).env as Obj[]).find((e) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT'),
    undefined,
  );
});

void test('every example: secrets only through secretKeyRef or mounted Secrets, no Secret objects, no inline credentials', async () => {
  for (const f of exampleFiles) {
    const r = await render(join(EXAMPLES, f));
    assert.equal(r.byKind('Secret').length, 0, f);
    for (const e of container(r).env as Obj[]) {
      if (/PASSWORD|SECRET|TOKEN|HEADER|USERNAME|KEY/.test(e.name)) {
        assert.ok(e.valueFrom?.secretKeyRef, `${f}: ${e.name} must come from a secretKeyRef`);
        assert.equal(e.value, undefined);
      }
    }
    const text = readFileSync(join(EXAMPLES, f), 'utf8');
    assert.doesNotMatch(text.replace(/^\s*#.*$/gm, ''), /password:\s*\S+(?<!\{)$/m, `${f}: no inline password`);
  }
});

void test('kafka example: brokers as env, SASL user name by secretKeyRef, password and CA as mounted files the pipeline points at', async () => {
  const r = await render(join(EXAMPLES, 'kafka.yaml'));
  const c = container(r);
  const env = c.env as Obj[];
  assert.deepEqual(
    env.find((e) => e.name === 'KAFKA_BROKERS'),
    { name: 'KAFKA_BROKERS', value: 'kafka-0.kafka.svc:9093,kafka-1.kafka.svc:9093,kafka-2.kafka.svc:9093' },
  );
  assert.deepEqual(
    env.find((e) => e.name === 'KAFKA_SASL_USERNAME'),
    {
      name: 'KAFKA_SASL_USERNAME',
      valueFrom: { secretKeyRef: { name: 'netspan-kafka', key: 'username' } },
    },
  );
  const vols = Object.fromEntries((podSpec(r).volumes as Obj[]).map((v) => [v.name, v]));
  assert.deepEqual(vols['netspan-kafka-sasl']!.secret, {
    secretName: 'netspan-kafka',
    items: [{ key: 'password', path: 'password' }],
  });
  assert.deepEqual(vols['netspan-kafka-tls']!.secret, {
    secretName: 'kafka-ca',
    items: [{ key: 'ca.crt', path: 'ca.crt' }],
  });
  const mounts = Object.fromEntries((c.volumeMounts as Obj[]).map((m) => [m.name, m]));
  assert.deepEqual(mounts['netspan-kafka-sasl'], {
    name: 'netspan-kafka-sasl',
    mountPath: '/etc/netspan/secrets/kafka-sasl',
    readOnly: true,
  });
  assert.deepEqual(mounts['netspan-kafka-tls'], {
    name: 'netspan-kafka-tls',
    mountPath: '/etc/netspan/secrets/kafka-tls',
    readOnly: true,
  });
  const doc = parseYaml(r.one('ConfigMap').data['netspan.yaml']) as Obj;
  assert.equal(doc.exporters.kafka.sasl.password_file, `${mounts['netspan-kafka-sasl'].mountPath}/password`);
  assert.equal(doc.exporters.kafka.tls.enabled, true, 'the CA is only used with tls.enabled');
  assert.equal(doc.exporters.kafka.tls.ca_file, `${mounts['netspan-kafka-tls'].mountPath}/ca.crt`);
  assert.equal(doc.exporters.kafka.brokers, '${env:KAFKA_BROKERS}');
});

void test('sidecar example: no DaemonSet; a patch with shareProcessNamespace, no hostPID, RBAC bound to the workload account', async () => {
  const r = await render(join(EXAMPLES, 'sidecar.yaml'));
  assert.deepEqual(kinds(r), [
    'rbac.authorization.k8s.io/v1 ClusterRole/netspan',
    'rbac.authorization.k8s.io/v1 ClusterRoleBinding/netspan',
    'v1 ConfigMap/netspan',
    'v1 ConfigMap/netspan-sidecar-patch',
  ]);
  const spec = podSpec(r);
  assert.equal(spec.shareProcessNamespace, true);
  assert.equal(spec.hostPID, undefined);
  assert.deepEqual(Object.keys(spec).sort(), ['containers', 'shareProcessNamespace', 'volumes']);
  const c = container(r);
  assert.equal(c.name, 'netspan');
  // The patch merges into the workload's lists by name: nothing generic like config or tmp to fold into.
  for (const v of spec.volumes as Obj[]) assert.match(v.name, /^netspan-/);
  for (const m of c.volumeMounts as Obj[]) assert.match(m.name, /^netspan-/);
  assert.deepEqual(
    c.ports.map((p: Obj) => p.name),
    ['netspan-health'],
  );
  // Health on a port other than the 8080 workloads often use, and the pipeline serves it there.
  assert.equal(c.ports[0].containerPort, 18080);
  const health = (parseYaml(r.one('ConfigMap', 'netspan').data['netspan.yaml']) as Obj).telemetry.health;
  assert.equal(health.port, 18080);
  assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'], add: ['BPF', 'PERFMON', 'SYS_RESOURCE'] });
  assert.equal(c.securityContext.privileged, false);
  assert.deepEqual(r.one('ClusterRole').rules, EXPECTED_RULES);
  assert.deepEqual(r.one('ClusterRoleBinding').subjects, [
    { kind: 'ServiceAccount', name: 'checkout', namespace: 'netspan' },
  ]);
  // The filter keeps this pod's events, by the identity the downward API gives.
  const doc = parseYaml(r.one('ConfigMap', 'netspan').data['netspan.yaml']) as Obj;
  assert.deepEqual(doc.processors['filter/own-pod'], {
    include: { namespaces: ['${env:POD_NAMESPACE}'], pods: ['${env:POD_NAME}'] },
  });
  assert.deepEqual(doc.pipelines.default.processors.at(-1), 'filter/own-pod');
  const env = c.env as Obj[];
  assert.deepEqual(env.find((e) => e.name === 'POD_NAMESPACE')!.valueFrom, {
    fieldRef: { fieldPath: 'metadata.namespace' },
  });
  // The patch merges into the workload: it names no other container and sets no pod-level identity.
  const patch = parseYaml(r.one('ConfigMap', 'netspan-sidecar-patch').data['patch.yaml']) as Obj;
  assert.deepEqual(Object.keys(patch), ['spec']);
  assert.match(patch.spec.template.metadata.annotations['checksum/config'], /^[0-9a-f]{64}$/);
});

void test('old-kernel example: privileged container, kernel headers and debugfs mounted, no BTF mount', async () => {
  const r = await render(join(EXAMPLES, 'old-kernel.yaml'));
  const c = container(r);
  assert.deepEqual(c.securityContext, {
    privileged: true,
    allowPrivilegeEscalation: true,
    readOnlyRootFilesystem: true,
    runAsUser: 0,
    runAsNonRoot: false,
  });
  const hostPaths = (podSpec(r).volumes as Obj[])
    .filter((v) => v.hostPath)
    .map((v) => v.hostPath.path)
    .sort();
  assert.deepEqual(hostPaths, [
    '/lib/modules',
    '/proc',
    '/sys/fs/cgroup',
    '/sys/kernel/debug',
    '/sys/kernel/tracing',
    '/usr/src',
  ]);
  for (const m of c.volumeMounts as Obj[]) if (m.name !== 'netspan-tmp') assert.equal(m.readOnly, true, m.name);
});

void test('production example: dashboard ConfigMap for the Grafana sidecar, priority class, extra capability', async () => {
  const r = await render(join(EXAMPLES, 'production.yaml'));
  const dash = r.one('ConfigMap', 'netspan-dashboard');
  assert.equal(dash.metadata.namespace, 'monitoring');
  assert.equal(dash.metadata.labels.grafana_dashboard, '1');
  const json = JSON.parse(dash.data['netspan.json']) as Obj;
  assert.deepEqual(json, JSON.parse(readFileSync(join(CHART, 'dashboards', 'netspan.json'), 'utf8')));
  const spec = podSpec(r);
  assert.equal(spec.priorityClassName, 'netspan-node-critical');
  const c = container(r);
  assert.deepEqual(c.securityContext.capabilities.add, ['BPF', 'PERFMON', 'SYS_RESOURCE', 'SYS_PTRACE']);
  assert.deepEqual((c.env as Obj[]).at(-1), { name: 'UV_THREADPOOL_SIZE', value: '8' });
});

void test('OTLP headers from a Secret: the env var (secretKeyRef) and the exporter header reference name each other; netspan loads the value', async () => {
  const r = await render(join(EXAMPLES, 'production.yaml'));
  const c = container(r);
  const env = c.env as Obj[];
  assert.equal(
    env.find((e) => e.name === 'OTEL_EXPORTER_OTLP_HEADERS'),
    undefined,
    'netspan does not read OTEL_EXPORTER_OTLP_HEADERS',
  );
  assert.deepEqual(
    env.filter((e) => String(e.name).startsWith('NETSPAN_OTLP_HEADER_')),
    [
      {
        name: 'NETSPAN_OTLP_HEADER_AUTHORIZATION',
        valueFrom: { secretKeyRef: { name: 'otlp-auth', key: 'authorization' } },
      },
    ],
  );
  const text = r.one('ConfigMap', 'netspan').data['netspan.yaml'] as string;
  const doc = parseYaml(text) as Obj;
  assert.deepEqual(doc.exporters.otlp.headers, { authorization: '${env:NETSPAN_OTLP_HEADER_AUTHORIZATION}' });
  // What netspan does with the file in the pod: the reference becomes the Secret's value in the exporter's headers.
  const loaded = loadConfigText(text, 'netspan.yaml', registry, {
    ...podEnv(c),
    NETSPAN_OTLP_HEADER_AUTHORIZATION: 'Bearer t0ken',
  });
  assert.ok(loaded.ok, JSON.stringify(loaded));
  assert.deepEqual((loaded.config.exporters.get('otlp')!.config as Obj).headers, { authorization: 'Bearer t0ken' });
  assert.doesNotMatch(text, /Bearer/);

  // Every otlp exporter of every rendered file gets every header, next to the headers it sets; other exporters none.
  const custom = await render(
    await writeValues(
      'headers.yaml',
      [
        'otlp:',
        '  headersFromSecrets:',
        '    - {header: authorization, secretName: otlp-auth, secretKey: token}',
        '    - {header: x-api.key, secretName: other, secretKey: k}',
        'configFile: two.yaml',
        'pipelines:',
        '  two.yaml:',
        '    probes: {soconnect: {}}',
        '    exporters:',
        '      otlp/a: {endpoint: "http://a:4317", headers: {x-tenant: t1}}',
        '      otlp/b: {endpoint: "${env:OTEL_EXPORTER_OTLP_ENDPOINT}"}',
        '      stdout: {}',
        '    pipelines: {p: {probes: [soconnect], exporters: [otlp/a, otlp/b, stdout]}}',
        '',
      ].join('\n'),
    ),
  );
  const cenv = container(custom).env as Obj[];
  assert.deepEqual(
    cenv
      .filter((e) => String(e.name).startsWith('NETSPAN_OTLP_HEADER_'))
      .map((e) => [e.name, e.valueFrom.secretKeyRef]),
    [
      ['NETSPAN_OTLP_HEADER_AUTHORIZATION', { name: 'otlp-auth', key: 'token' }],
      ['NETSPAN_OTLP_HEADER_X_API_KEY', { name: 'other', key: 'k' }],
    ],
  );
  const cdoc = parseYaml(custom.one('ConfigMap', 'netspan').data['two.yaml']) as Obj;
  const refs = {
    authorization: '${env:NETSPAN_OTLP_HEADER_AUTHORIZATION}',
    'x-api.key': '${env:NETSPAN_OTLP_HEADER_X_API_KEY}',
  };
  assert.deepEqual(cdoc.exporters['otlp/a'].headers, { 'x-tenant': 't1', ...refs });
  assert.deepEqual(cdoc.exporters['otlp/b'].headers, refs);
  assert.deepEqual(cdoc.exporters.stdout, {});
  assert.equal(await validatePipelines(custom, 'headers'), 1);
});

void test('dashboard: panels query netspan metrics and self-metrics', () => {
  const json = JSON.parse(readFileSync(join(CHART, 'dashboards', 'netspan.json'), 'utf8')) as Obj;
  const exprs = (json.panels as Obj[]).flatMap((p) => ((p.targets ?? []) as Obj[]).map((t) => String(t.expr)));
  for (const m of [
    'netspan_connect_duration',
    'dns_lookup_duration',
    'netspan_events_received_total',
    'netspan_events_dropped_total',
    'netspan_events_lost_total',
    'netspan_exporter_queue_size',
  ]) {
    assert.ok(
      exprs.some((e) => e.includes(m)),
      `a panel queries ${m}`,
    );
  }
  assert.ok(exprs.some((e) => /retrans/.test(e)));
  assert.ok(exprs.some((e) => /drop/.test(e) && /reason/.test(e)));
  const ids = (json.panels as Obj[]).map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
});

void test('render errors: required and fail messages reach the user', async () => {
  const cases: [string, string, RegExp][] = [
    [
      'nodeploy.yaml',
      'mode: sidecar\nsidecar:\n  serviceAccountName: x\n',
      /sidecar\.deploymentName is required in sidecar mode/,
    ],
    [
      'nosa.yaml',
      'mode: sidecar\nsidecar:\n  deploymentName: x\n',
      /sidecar\.serviceAccountName is required in sidecar mode/,
    ],
    [
      'nofile.yaml',
      'configFile: other.yaml\n',
      /configFile "other\.yaml" is not one of the pipelines \(netspan\.yaml\)/,
    ],
    [
      'noendpoint.yaml',
      'otlp:\n  endpoint: ""\n',
      /pipeline netspan\.yaml uses \$\{env:OTEL_EXPORTER_OTLP_ENDPOINT\}: set otlp\.endpoint/,
    ],
    [
      'nobrokers.yaml',
      'pipelines:\n  k.yaml:\n    probes: {soconnect: {}}\n    exporters: {kafka: {brokers: "${env:KAFKA_BROKERS}"}}\n    pipelines: {p: {probes: [soconnect], exporters: [kafka]}}\nconfigFile: k.yaml\n',
      /pipeline k\.yaml uses \$\{env:KAFKA_BROKERS\}: set kafka\.brokers/,
    ],
    [
      'headerclash.yaml',
      'otlp:\n  headersFromSecrets: [{header: authorization, secretName: s, secretKey: k}]\npipelines:\n  netspan.yaml:\n    probes: {soconnect: {}}\n    exporters: {otlp: {headers: {authorization: inline}}}\n    pipelines: {p: {probes: [soconnect], exporters: [otlp]}}\n',
      /pipeline netspan\.yaml: exporters\.otlp\.headers\.authorization is set, and otlp\.headersFromSecrets sets it too/,
    ],
    [
      'headerenv.yaml',
      'otlp:\n  headersFromSecrets: [{header: x-a, secretName: s, secretKey: k}, {header: x.a, secretName: s, secretKey: k}]\n',
      /headers x-a and x\.a share the environment variable NETSPAN_OTLP_HEADER_X_A/,
    ],
  ];
  for (const [name, text, re] of cases) {
    const res = await renderRaw([await writeValues(name, text)]);
    assert.equal(res.exitCode, 1, name);
    assert.match(res.stderr, re, name);
  }
  // existingConfigMap: no ConfigMap rendered, the pod mounts the given one.
  const r = await render(
    await writeValues('existing.yaml', 'existingConfigMap: my-pipelines\nconfigFile: mine.yaml\n'),
  );
  assert.equal(r.byKind('ConfigMap').length, 0);
  assert.deepEqual((podSpec(r).volumes as Obj[]).find((v) => v.name === 'netspan-config')!.configMap, {
    name: 'my-pipelines',
  });
  assert.deepEqual(container(r).args, ['--config', '/etc/netspan/mine.yaml']);
});

void test('existingConfigMap: probes kept on health.port; values.yaml and NOTES say the file must enable telemetry.health there', async () => {
  const values = await writeValues(
    'existing-health.yaml',
    'existingConfigMap: my-pipelines\nconfigFile: mine.yaml\nhealth:\n  port: 9464\n',
  );
  const r = await render(values);
  const c = container(r);
  assert.deepEqual(c.ports, [{ name: 'netspan-health', containerPort: 9464, protocol: 'TCP' }]);
  assert.equal(c.livenessProbe.httpGet.port, 'netspan-health');
  assert.equal(c.readinessProbe.httpGet.port, 'netspan-health');
  const notes = (await renderRaw([values], ['-notes'])).stderr;
  assert.match(notes, /existingConfigMap "my-pipelines": the chart does not add telemetry\.health to it/);
  assert.match(notes, /mine\.yaml must set telemetry\.health\.enabled: true and telemetry\.health\.port: 9464/);
  // The block the comment shows is what netspan needs: health is off by default.
  assert.equal(healthConfigSchema.parse(undefined).enabled, false);
  const comment = readFileSync(join(CHART, 'values.yaml'), 'utf8')
    .split('\n')
    .filter(
      (l, i, all) =>
        l.startsWith('#') &&
        all
          .slice(i)
          .find((x) => !x.startsWith('#'))
          ?.startsWith('existingConfigMap:'),
    )
    .map((l) => l.replace(/^# ?/, ''))
    .join('\n');
  const block = parseYaml(comment.slice(comment.indexOf('telemetry:'), comment.indexOf('# = health.port'))) as Obj;
  assert.deepEqual(healthConfigSchema.parse(block.telemetry.health), {
    enabled: true,
    host: '0.0.0.0',
    port: defaults().health.port,
    failing_threshold_ms: 60_000,
  });
  // Without existingConfigMap, or with the probes off, no such note.
  assert.doesNotMatch((await renderRaw([], ['-notes'])).stderr, /existingConfigMap/);
  const off = await writeValues(
    'existing-noprobes.yaml',
    'existingConfigMap: my-pipelines\nlivenessProbe:\n  enabled: false\nreadinessProbe:\n  enabled: false\n',
  );
  assert.doesNotMatch((await renderRaw([off], ['-notes'])).stderr, /existingConfigMap/);
});

// ---- values.schema.json ----

function schemaValidator() {
  const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Obj;
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  return ajv.compile(schema);
}

/** Values as Helm sees them: values.yaml with the file's maps merged in (null deletes). */
function coalesce(dst: Obj, src: Obj): Obj {
  const out: Obj = { ...dst };
  for (const [k, v] of Object.entries(src)) {
    if (v === null) delete out[k];
    else if (
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      out[k] &&
      typeof out[k] === 'object' &&
      !Array.isArray(out[k])
    )
      out[k] = coalesce(out[k], v as Obj);
    else out[k] = v;
  }
  return out;
}

const defaults = (): Obj => parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Obj;

void test('values.schema.json accepts the default values and every example', () => {
  const validate = schemaValidator();
  assert.equal(validate(defaults()), true, JSON.stringify(validate.errors));
  for (const f of exampleFiles) {
    const v = coalesce(defaults(), parseYaml(readFileSync(join(EXAMPLES, f), 'utf8')) as Obj);
    assert.equal(validate(v), true, `${f}: ${JSON.stringify(validate.errors)}`);
  }
});

void test('values.schema.json covers every value in values.yaml (no key without a schema)', () => {
  const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Obj;
  const walk = (value: Obj, s: Obj, path: string): void => {
    for (const [k, v] of Object.entries(value)) {
      const sub = s.properties?.[k] as Obj | undefined;
      assert.ok(sub, `${path}${k} has a schema`);
      if (v && typeof v === 'object' && !Array.isArray(v) && sub.properties) walk(v as Obj, sub, `${path}${k}.`);
    }
  };
  walk(defaults(), schema, '');
  assert.equal(schema.additionalProperties, false);
});

void test('values.schema.json rejects bad values with the expected message', () => {
  const validate = schemaValidator();
  const bad = (over: Obj): string[] => {
    assert.equal(validate(coalesce(defaults(), over)), false, JSON.stringify(over));
    return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
  };
  assert.ok(bad({ mode: 'deployment' }).includes('/mode must be equal to one of the allowed values'));
  assert.ok(bad({ logLevel: 'verbose' }).includes('/logLevel must be equal to one of the allowed values'));
  assert.ok(bad({ replicas: 3 }).includes(' must NOT have additional properties'));
  assert.ok(bad({ kafka: { password: 'hunter2' } }).includes('/kafka must NOT have additional properties'));
  assert.ok(
    bad({ extraEnv: [{ name: 'KAFKA_PASSWORD', value: 'hunter2' }] }).includes('/extraEnv/0 must NOT be valid'),
  );
  assert.ok(bad({ health: { port: 70000 } }).includes('/health/port must be <= 65535'));
  assert.ok(
    bad({ securityContext: { appArmorProfile: 'docker/default' } }).some((m) =>
      m.startsWith('/securityContext/appArmorProfile must match pattern'),
    ),
  );
  assert.ok(
    bad({ otlp: { headersSecret: { name: 'otlp-auth', key: 'headers' } } }).includes(
      '/otlp must NOT have additional properties',
    ),
    'the old OTEL_EXPORTER_OTLP_HEADERS value, which netspan never read, is refused',
  );
  assert.ok(
    bad({ otlp: { headersFromSecrets: [{ header: 'grpc-timeout', secretName: 's', secretKey: 'k' }] } }).includes(
      '/otlp/headersFromSecrets/0/header must NOT be valid',
    ),
  );
  assert.ok(
    bad({ otlp: { headersFromSecrets: [{ header: 'Authorization', secretName: 's', secretKey: 'k' }] } }).some((m) =>
      m.startsWith('/otlp/headersFromSecrets/0/header must match pattern'),
    ),
  );
  assert.ok(
    bad({ kafka: { brokers: ['a:9092,b:9092'] } }).some((m) => m.startsWith('/kafka/brokers/0 must match pattern')),
  );
  assert.ok(bad({ mode: 'sidecar' }).includes('/sidecar/deploymentName must NOT have fewer than 1 characters'));
  assert.ok(
    bad({ securityContext: { extraCapabilities: ['SYS_MODULE'] } }).includes(
      '/securityContext/extraCapabilities/0 must be equal to one of the allowed values',
    ),
  );
  assert.ok(
    bad({
      pipelines: { 'x.yaml': { probes: { soconnect: {} }, pipelines: { p: { probes: ['soconnect'] } } } },
    }).includes("/pipelines/x.yaml/pipelines/p must have required property 'exporters'"),
  );
  // And the valueFrom form of the same variable is fine.
  assert.equal(
    validate(
      coalesce(defaults(), {
        extraEnv: [{ name: 'KAFKA_PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
      }),
    ),
    true,
    JSON.stringify(validate.errors),
  );
});
