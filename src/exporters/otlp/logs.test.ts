import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { connect as connectTcp, createServer, type AddressInfo, type Socket } from 'node:net';
import type { NetEvent } from '../../core/event.js';
import { repoRoot } from '../../paths.js';
import { attrs, hex, OtlpTestServer, plain, type Resource } from '../../../test/helpers/otlp-server.js';
import { connect, dns, drop, ms, retrans, T0, udp } from '../../../test/helpers/otlp-events.js';
import { setup } from '../../../test/helpers/otlp-setup.js';

function fixture(name: string): NetEvent[] {
  const raw = JSON.parse(readFileSync(join(repoRoot(), 'src/exporters/otlp/testdata', name), 'utf8')) as (Record<
    string,
    unknown
  > & { timeUnixNano: string })[];
  return raw.map((e) => ({ ...e, timeUnixNano: BigInt(e.timeUnixNano) }) as unknown as NetEvent);
}

test('one log record per event of every type: kernel timestamp, severity, JSON body, semconv attributes, trace ids', async () => {
  const s = await setup({ signals: { traces: true, logs: true, metrics: false } });
  try {
    const events: NetEvent[] = [
      dns(),
      connect(),
      udp(),
      retrans({ state: 'ESTABLISHED', kind: 'fast' }),
      drop({ l4Protocol: 'UDP', sport: 53, dport: 40000 }),
    ];
    assert.deepEqual(await s.send(...events), { code: 'success' });
    const logs = s.server.allLogs().map((x) => x.log);
    assert.equal(s.server.logs.length, 1, 'one request');
    assert.deepEqual(
      logs.map((l) => [attrs(l.attributes)['netspan.event.type'], l.timeUnixNano, l.severityNumber, l.severityText]),
      [
        ['gethostlatency', T0.toString(), 'SEVERITY_NUMBER_INFO', 'INFO'],
        ['soconnect', (T0 + ms(3)).toString(), 'SEVERITY_NUMBER_INFO', 'INFO'],
        ['udpconnect', (T0 + ms(10)).toString(), 'SEVERITY_NUMBER_INFO', 'INFO'],
        ['tcpretrans', (T0 + ms(1000)).toString(), 'SEVERITY_NUMBER_WARN', 'WARN'],
        ['skbdrop', (T0 + ms(20)).toString(), 'SEVERITY_NUMBER_WARN', 'WARN'],
      ],
    );
    assert.deepEqual(plain(logs[0]!.body), {
      type: 'gethostlatency',
      schema_version: 1,
      time: '2025-11-13T02:13:20.123456789Z',
      time_unix_nano: T0.toString(),
      pid: 100,
      tid: 100,
      comm: 'curl',
      cgroup_id: 7,
      func: 'getaddrinfo',
      host: 'api.example.com',
      latency_ns: 2_000_000,
      result: 'OK',
      addresses: ['10.0.0.5', '2001:db8::5'],
    });
    assert.deepEqual(plain(logs[4]!.body), {
      type: 'skbdrop',
      schema_version: 1,
      time: '2025-11-13T02:13:20.143456789Z',
      time_unix_nano: (T0 + ms(20)).toString(),
      pid: 100,
      tid: 100,
      comm: 'curl',
      cgroup_id: 7,
      reason: 'NETFILTER_DROP',
      protocol: 'IPv4',
      location: 'nf_hook_slow+0x99',
      stack: ['kfree_skb_reason+0x1', 'nf_hook_slow+0x99'],
      family: 'ipv4',
      saddr: '10.0.0.7',
      daddr: '10.0.0.1',
      l4_protocol: 'UDP',
      sport: 53,
      dport: 40000,
    });
    assert.deepEqual(attrs(logs[3]!.attributes), {
      'netspan.task.pid': 0,
      'netspan.task.tid': 0,
      'netspan.task.command': 'swapper/0',
      'netspan.event.type': 'tcpretrans',
      'network.transport': 'tcp',
      'network.type': 'ipv4',
      'network.peer.address': '10.0.0.7',
      'network.peer.port': 443,
      'network.local.address': '10.0.0.1',
      'network.local.port': 40010,
      'tcp.state': 'ESTABLISHED',
      'tcp.retransmit.kind': 'fast',
    });
    // every log record carries the ids of the span that represents its event
    const spans = s.server.allSpans().map((x) => x.span);
    assert.equal(spans.length, 5);
    assert.deepEqual(
      logs.map((l) => [hex(l.traceId), hex(l.spanId)]),
      spans.map((sp) => [hex(sp.traceId), hex(sp.spanId)]),
    );
    assert.equal(hex(logs[1]!.traceId), hex(logs[0]!.traceId), 'DNS and connect logs share the connection trace');
    assert.equal(s.exp.otel.counters.recordsSent.get({ exporter: 'otlp', signal: 'logs' }), 5);
  } finally {
    await s.close();
  }
});

test('logs without traces carry no trace ids', async () => {
  const s = await setup({ signals: { traces: false, logs: true, metrics: false } });
  try {
    assert.deepEqual(await s.send(connect()), { code: 'success' });
    assert.equal(s.server.traces.length, 0);
    const [l] = s.server.allLogs().map((x) => x.log);
    assert.deepEqual([hex(l!.traceId), hex(l!.spanId)], ['', '']);
  } finally {
    await s.close();
  }
});

function resourceAttrs(r: Resource): Record<string, unknown> {
  return attrs(r.attributes);
}

test('one OTLP resource per pod and one node resource for host processes, all in one request per signal', async () => {
  const s = await setup({
    signals: { traces: true, logs: true, metrics: false },
    resource_attributes: { 'k8s.cluster.name': 'test' },
  });
  try {
    assert.deepEqual(await s.send(...fixture('two-pods.json')), { code: 'success' });
    assert.equal(s.server.traces.length, 1);
    assert.equal(s.server.logs.length, 1);
    const expected = [
      {
        'k8s.cluster.name': 'test',
        'k8s.namespace.name': 'shop',
        'k8s.pod.name': 'checkout-7d9f-abc',
        'k8s.pod.uid': 'uid-a',
        'k8s.container.name': 'checkout',
        'k8s.deployment.name': 'checkout',
        'k8s.node.name': 'node-1',
        'container.id': 'cid-a',
        'service.name': 'checkout',
      },
      {
        'k8s.cluster.name': 'test',
        'k8s.namespace.name': 'shop',
        'k8s.pod.name': 'db-0',
        'k8s.pod.uid': 'uid-b',
        'k8s.container.name': 'postgres',
        'k8s.statefulset.name': 'db',
        'k8s.node.name': 'node-1',
        'container.id': 'cid-b',
        'service.name': 'db',
      },
      { 'k8s.cluster.name': 'test', 'host.name': hostname(), 'service.name': 'netspan-host' },
    ];
    const rs = s.server.traces[0]!.resourceSpans;
    assert.deepEqual(
      rs.map((r) => resourceAttrs(r.resource)),
      expected,
    );
    assert.deepEqual(
      rs.map((r) => r.scopeSpans.flatMap((ss) => ss.spans.map((sp) => sp.name))),
      [['connect', 'dns.lookup db.shop.svc'], ['udp.connect'], ['connect']],
    );
    assert.deepEqual(rs[0]!.scopeSpans[0]!.scope.name, 'netspan');
    // server.address was enriched; per-record attributes stay on the span, not on the resource
    const checkout = attrs(rs[0]!.scopeSpans[0]!.spans[0]!.attributes);
    assert.equal(checkout['server.address'], 'db.shop.svc');
    assert.equal(checkout['k8s.pod.name'], undefined);
    const rl = s.server.logs[0]!.resourceLogs;
    assert.deepEqual(
      rl.map((r) => resourceAttrs(r.resource)),
      expected,
    );
    assert.deepEqual(
      rl.map((r) => r.scopeLogs.flatMap((sl) => sl.logRecords.length)),
      [[2], [1], [1]],
    );
  } finally {
    await s.close();
  }
});

test('headers reach the collector as gRPC metadata', async () => {
  const s = await setup({
    signals: { traces: true, logs: false, metrics: false },
    headers: { authorization: 'Bearer s3cret', 'X-Tenant': 'blue' },
  });
  try {
    assert.deepEqual(await s.send(connect()), { code: 'success' });
    assert.equal(s.server.lastMetadata['authorization'], 'Bearer s3cret');
    assert.equal(s.server.lastMetadata['x-tenant'], 'blue');
  } finally {
    await s.close();
  }
});

test("a collector's partial success is counted: rejected records as dropped (reason rejected), the rest as sent", async () => {
  const s = await setup({ signals: { traces: true, logs: true, metrics: false } });
  try {
    s.server.partialSuccess(2, 'timestamps too old');
    assert.deepEqual(await s.send(dns(), connect(), udp()), { code: 'success' });
    const c = s.exp.otel.counters;
    const get = (m: typeof c.recordsSent, signal: string, reason?: string) =>
      m.get({ exporter: 'otlp', signal, ...(reason ? { reason } : {}) });
    assert.deepEqual([get(c.recordsSent, 'logs'), get(c.recordsDropped, 'logs', 'rejected')], [1, 2]);
    assert.deepEqual([get(c.recordsSent, 'traces'), get(c.recordsDropped, 'traces', 'rejected')], [1, 2]);
    // the requests themselves were delivered whole
    assert.equal(s.server.allLogs().length, 3);
    s.server.partialSuccess(undefined);
    assert.deepEqual(await s.send(connect({ sport: 2 })), { code: 'success' });
    assert.equal(get(c.recordsSent, 'logs'), 2);
    assert.equal(get(c.recordsDropped, 'logs', 'rejected'), 2);
  } finally {
    await s.close();
  }
});

/** A TCP proxy to `port` on 127.0.0.1 that counts the bytes the client sends. */
async function countingProxy(port: number): Promise<{ endpoint: string; sent(): number; close(): void }> {
  let sent = 0;
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = connectTcp(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    client.on('data', (b: Buffer) => (sent += b.length));
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    sent: () => sent,
    close: () => {
      for (const s of sockets) s.destroy();
      proxy.close();
    },
  };
}

test('compression: gzip sends the requests compressed (fewer bytes on the wire) and the collector decodes them', async () => {
  const server = await OtlpTestServer.start();
  const bytes: Record<string, number> = {};
  try {
    for (const compression of ['none', 'gzip']) {
      const proxy = await countingProxy(server.port);
      const s = await setup(
        { endpoint: proxy.endpoint, signals: { traces: false, logs: true, metrics: false }, compression },
        {},
        server,
      );
      try {
        const events = Array.from({ length: 200 }, (_, i) => connect({ sport: 30_000 + i }));
        assert.deepEqual(await s.send(...events), { code: 'success' });
      } finally {
        await s.exp.shutdown();
        proxy.close();
      }
      bytes[compression] = proxy.sent();
    }
    assert.equal(server.allLogs().length, 400);
    assert.deepEqual(
      server
        .allLogs()
        .slice(198, 202)
        .map((x) => attrs(x.log.attributes)['network.local.port']),
      [30_198, 30_199, 30_000, 30_001],
    );
    assert.ok(bytes.gzip! * 4 < bytes.none!, `gzip ${bytes.gzip} bytes, none ${bytes.none} bytes`);
  } finally {
    await server.stop();
  }
});
