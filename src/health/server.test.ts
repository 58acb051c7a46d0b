import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { Telemetry } from '../telemetry/internal-events.js';
import { MetricsRegistry } from '../telemetry/metrics.js';
import { silentLogger } from '../telemetry/log.js';
import { healthConfigSchema } from './config.js';
import { escapeLabelValue, formatPrometheus } from './prometheus.js';
import { startHealthServer, type HealthServer, type Readiness } from './server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request on a fresh connection (no keep-alive between tests). */
function http(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function withServer(
  fn: (s: HealthServer, t: Telemetry, clock: { now: number }) => Promise<void>,
  thresholdMs = 60_000,
): Promise<void> {
  const t = new Telemetry(silentLogger());
  const clock = { now: 1_000_000 };
  const s = await startHealthServer({
    host: '127.0.0.1',
    port: 0,
    telemetry: t,
    failingThresholdMs: thresholdMs,
    now: () => clock.now,
  });
  try {
    await fn(s, t, clock);
  } finally {
    await s.close();
  }
}

void test('config: defaults and bounds', () => {
  assert.deepEqual(healthConfigSchema.parse(undefined), {
    enabled: false,
    host: '0.0.0.0',
    port: 8080,
    failing_threshold_ms: 60_000,
  });
  assert.deepEqual(healthConfigSchema.parse({ enabled: true, port: 9090 }), {
    enabled: true,
    host: '0.0.0.0',
    port: 9090,
    failing_threshold_ms: 60_000,
  });
  assert.equal(healthConfigSchema.safeParse({ port: 70000 }).success, false);
  assert.equal(healthConfigSchema.safeParse({ port: 80.5 }).success, false);
  assert.equal(healthConfigSchema.safeParse({ failing_threshold_ms: 10 }).success, false);
  assert.equal(healthConfigSchema.safeParse({ prot: 1 }).success, false, 'unknown keys are rejected');
});

void test('binds an ephemeral port on 127.0.0.1; /healthz answers 200 ok', async () => {
  await withServer(async (s) => {
    assert.ok(s.port > 0 && s.port < 65536);
    const r = await http(s.port, '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok\n');
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'no-store');
  });
});

void test('HEAD gets headers only; other methods 405 with Allow; unknown paths 404', async () => {
  await withServer(async (s) => {
    const head = await http(s.port, '/healthz', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], '3');
    const post = await http(s.port, '/readyz', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal(post.body, 'method not allowed\n');
    const nf = await http(s.port, '/nope');
    assert.equal(nf.status, 404);
    assert.equal(nf.body, 'not found: try /healthz, /readyz or /metrics\n');
    const q = await http(s.port, '/healthz?verbose=1');
    assert.equal(q.status, 200, 'a query string does not change the route');
  });
});

void test('/readyz: 503 before any probe started, with the reason', async () => {
  await withServer(async (s) => {
    const r = await http(s.port, '/readyz');
    assert.equal(r.status, 503);
    assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(JSON.parse(r.body), {
      status: 'not ready',
      ready: false,
      probes: {},
      exporters: {},
      reasons: ['no probe has started yet'],
    });
  });
});

void test('/readyz: 503 while every probe is down, naming them', async () => {
  await withServer(async (s, t) => {
    t.probeState('tcpretrans', false);
    t.probeState('soconnect', false);
    const r = await http(s.port, '/readyz');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), {
      status: 'not ready',
      ready: false,
      probes: { soconnect: 'down', tcpretrans: 'down' },
      exporters: {},
      reasons: ['no probe is attached (down: soconnect, tcpretrans)'],
    });
  });
});

void test('/readyz: 200 with one probe up even if another is down', async () => {
  await withServer(async (s, t) => {
    t.probeState('soconnect', true);
    t.probeState('skbdrop', false);
    t.sent('otlp', 3);
    const r = await http(s.port, '/readyz');
    assert.equal(r.status, 200);
    assert.equal(
      r.body,
      '{"status":"ready","ready":true,"probes":{"skbdrop":"down","soconnect":"up"},"exporters":{"otlp":{"status":"ok"}},"reasons":[]}\n',
    );
  });
});

void test('/readyz: an exporter failing longer than the threshold makes it 503; success recovers', async () => {
  await withServer(async (s, t, clock) => {
    t.probeState('soconnect', true);
    t.exporterHealth.set('kafka', { lastSuccessMs: clock.now - 500, failingSinceMs: clock.now });
    // Failing, but not for longer than the threshold: still ready.
    clock.now += 30_000;
    let r = await http(s.port, '/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual((JSON.parse(r.body) as Readiness).exporters, {
      kafka: { status: 'failing', failing_for_ms: 30_000 },
    });
    // Exactly at the threshold: still ready (longer than, not equal).
    clock.now += 30_000;
    r = await http(s.port, '/readyz');
    assert.equal(r.status, 200);
    clock.now += 1;
    r = await http(s.port, '/readyz');
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.body), {
      status: 'not ready',
      ready: false,
      probes: { soconnect: 'up' },
      exporters: { kafka: { status: 'failing', failing_for_ms: 60_001 } },
      reasons: ['exporter kafka has been failing for 60001 ms (threshold 60000 ms)'],
    });
    // A delivery clears the failing state (Telemetry.sent).
    t.sent('kafka', 1);
    r = await http(s.port, '/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual((JSON.parse(r.body) as Readiness).exporters, { kafka: { status: 'ok' } });
  });
});

void test('/readyz: Telemetry.exportError starts the failing clock (real clock)', async () => {
  const t = new Telemetry(silentLogger());
  t.probeState('soconnect', true);
  t.exportError('otlp/traces', 'retryable', 'UNAVAILABLE');
  const s = await startHealthServer({ host: '127.0.0.1', port: 0, telemetry: t, failingThresholdMs: 1_000 });
  try {
    assert.equal((await http(s.port, '/readyz')).status, 200);
    await new Promise((r) => setTimeout(r, 1_100));
    const r = await http(s.port, '/readyz');
    assert.equal(r.status, 503);
    assert.match(
      (JSON.parse(r.body) as Readiness).reasons[0]!,
      /^exporter otlp\/traces has been failing for \d+ ms \(threshold 1000 ms\)$/,
    );
  } finally {
    await s.close();
  }
});

void test('/metrics: Prometheus text, HELP/TYPE for every metric, line by line', async () => {
  await withServer(async (s, t) => {
    t.received('soconnect');
    t.received('soconnect');
    t.dropped('kafka', 'queue_full', 5);
    t.lost('skbdrop', 7);
    t.queueDepth.set({ exporter: 'kafka' }, 12);
    t.probeState('soconnect', true);
    const r = await http(s.port, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.ok(r.body.endsWith('\n'));
    const lines = r.body.slice(0, -1).split('\n');
    // Every metric of the registry appears as HELP then TYPE, in registry order.
    const names = t.metrics.collect().map((m) => m.name);
    const helpLines = lines.filter((l) => l.startsWith('# HELP '));
    assert.deepEqual(
      helpLines.map((l) => l.split(' ')[2]),
      names,
    );
    for (const m of t.metrics.collect()) {
      const i = lines.indexOf(`# HELP ${m.name} ${m.help}`);
      assert.ok(i >= 0, `HELP line for ${m.name}`);
      assert.equal(lines[i + 1], `# TYPE ${m.name} ${m.kind}`);
    }
    assert.ok(lines.includes('netspan_events_received_total{probe="soconnect"} 2'));
    assert.ok(lines.includes('netspan_events_dropped_total{component="kafka",reason="queue_full"} 5'));
    assert.ok(lines.includes('netspan_events_lost_total{probe="skbdrop"} 7'));
    assert.ok(lines.includes('netspan_exporter_queue_size{exporter="kafka"} 12'));
    assert.ok(lines.includes('# TYPE netspan_exporter_queue_size gauge'));
    assert.ok(lines.includes('# TYPE netspan_events_dropped_total counter'));
    assert.ok(lines.includes('netspan_probe_up{probe="soconnect"} 1'));
    // Sample lines sit under their own metric's TYPE line.
    const sample = lines.indexOf('netspan_events_lost_total{probe="skbdrop"} 7');
    const type = lines.indexOf('# TYPE netspan_events_lost_total counter');
    assert.ok(type >= 0 && type < sample);
    assert.ok(lines.slice(type + 1, sample).every((l) => l.startsWith('netspan_events_lost_total')));
    // Nothing but comments and well-formed samples.
    for (const l of lines) {
      assert.match(
        l,
        /^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?\d+(\.\d+)?(e[+-]?\d+)?|NaN|[+-]Inf))$/,
        l,
      );
    }
  });
});

void test('Prometheus format: label values escape backslash, quote and newline; HELP escapes backslash and newline; sorted labels', () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const reg = new MetricsRegistry();
  reg.counter('x_total', 'Help with \\ and\nnewline and "quotes"').inc({ z: 'q"uote', a: 'back\\slash' }, 2);
  reg.counter('x_total', 'ignored').inc({ a: 'new\nline', z: '' });
  reg.gauge('g', 'A gauge').set({}, 1.5);
  reg.gauge('g_inf', 'Inf').set({ k: 'v' }, Infinity);
  reg.gauge('g_nan', 'NaN').set({}, NaN);
  reg.counter('never_total', 'No series yet');
  assert.equal(
    formatPrometheus(reg.collect()),
    [
      '# HELP x_total Help with \\\\ and\\nnewline and "quotes"',
      '# TYPE x_total counter',
      'x_total{a="back\\\\slash",z="q\\"uote"} 2',
      'x_total{a="new\\nline",z=""} 1',
      '# HELP g A gauge',
      '# TYPE g gauge',
      'g 1.5',
      '# HELP g_inf Inf',
      '# TYPE g_inf gauge',
      'g_inf{k="v"} +Inf',
      '# HELP g_nan NaN',
      '# TYPE g_nan gauge',
      'g_nan NaN',
      '# HELP never_total No series yet',
      '# TYPE never_total counter',
      '',
    ].join('\n'),
  );
  assert.equal(formatPrometheus([]), '');
});

void test('/metrics over HTTP carries escaped label values', async () => {
  await withServer(async (s, t) => {
    t.dropped('kafka/"odd"\\name\n', 'shutdown', 1);
    const r = await http(s.port, '/metrics');
    assert.ok(
      r.body
        .split('\n')
        .includes('netspan_events_dropped_total{component="kafka/\\"odd\\"\\\\name\\n",reason="shutdown"} 1'),
      r.body,
    );
  });
});

void test('close() is safe twice, stops listening, and drops idle keep-alive connections', async () => {
  const t = new Telemetry(silentLogger());
  const s = await startHealthServer({ host: '127.0.0.1', port: 0, telemetry: t, failingThresholdMs: 60_000 });
  // A keep-alive connection left open must not keep close() waiting.
  const res = await fetch(`http://127.0.0.1:${s.port}/healthz`);
  assert.equal(await res.text(), 'ok\n');
  const started = Date.now();
  await Promise.all([s.close(), s.close()]);
  await s.close();
  assert.ok(Date.now() - started < 2_000, 'close did not wait for the keep-alive timeout');
  await assert.rejects(http(s.port, '/healthz'), /ECONNREFUSED/);
});

void test('a busy port rejects start with EADDRINUSE', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  try {
    await assert.rejects(
      startHealthServer({
        host: '127.0.0.1',
        port,
        telemetry: new Telemetry(silentLogger()),
        failingThresholdMs: 60_000,
      }),
      (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE',
    );
  } finally {
    await new Promise<void>((r) => blocker.close(() => r()));
  }
});
