import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attrs, hex } from '../../../test/helpers/otlp-server.js';
import { connect, dns, drop, ms, retrans, T0, udp } from '../../../test/helpers/otlp-events.js';
import { setup } from '../../../test/helpers/otlp-setup.js';

const ns = (t: bigint) => t.toString();

test('connect, DNS and UDP spans: CLIENT kind, kernel start/end times, semconv attributes, statuses', async () => {
  const s = await setup({ signals: { traces: true, logs: false, metrics: false } });
  try {
    const lookup = dns();
    const ok = connect();
    const refused = connect({
      pid: 200,
      sport: 40002,
      daddr: '10.0.0.9',
      dport: 80,
      result: 'ECONNREFUSED',
      latencyNs: 50_000,
      nonBlocking: false,
      attributes: { 'server.address': 'db.internal' },
    });
    const u = udp();
    assert.deepEqual(await s.send(lookup, ok, refused, u), { code: 'success' });
    assert.equal(s.server.traces.length, 1);
    const spans = s.server.allSpans().map((x) => x.span);
    assert.deepEqual(
      spans.map((x) => [x.name, x.kind, x.startTimeUnixNano, x.endTimeUnixNano, x.status.code, x.status.message]),
      [
        ['dns.lookup api.example.com', 'SPAN_KIND_CLIENT', ns(T0), ns(T0 + ms(2)), 'STATUS_CODE_UNSET', ''],
        ['connect', 'SPAN_KIND_CLIENT', ns(T0 + ms(3)), ns(T0 + ms(4.5)), 'STATUS_CODE_UNSET', ''],
        ['connect', 'SPAN_KIND_CLIENT', ns(T0 + ms(3)), ns(T0 + ms(3.05)), 'STATUS_CODE_ERROR', 'ECONNREFUSED'],
        ['udp.connect', 'SPAN_KIND_CLIENT', ns(T0 + ms(10)), ns(T0 + ms(10.01)), 'STATUS_CODE_UNSET', ''],
      ],
    );
    const [d, c, r, uu] = spans;
    assert.deepEqual(attrs(d!.attributes), {
      'process.pid': 100,
      'thread.id': 100,
      'process.command': 'curl',
      'netspan.event.type': 'gethostlatency',
      'netspan.cgroup.id': 7,
      'dns.question.name': 'api.example.com',
      'dns.answers': ['10.0.0.5', '2001:db8::5'],
      'code.function.name': 'getaddrinfo',
    });
    assert.deepEqual(attrs(c!.attributes), {
      'process.pid': 100,
      'thread.id': 100,
      'process.command': 'curl',
      'netspan.event.type': 'soconnect',
      'netspan.cgroup.id': 7,
      'network.transport': 'tcp',
      'network.type': 'ipv4',
      'network.peer.address': '10.0.0.5',
      'network.peer.port': 443,
      'network.local.address': '10.0.0.1',
      'network.local.port': 40001,
      'netspan.connect.result': 'ESTABLISHED',
      'server.address': 'api.example.com',
      'server.port': 443,
    });
    const ra = attrs(r!.attributes);
    assert.equal(ra['error.type'], 'ECONNREFUSED');
    assert.equal(ra['server.address'], 'db.internal', 'enrichment-provided server.address wins');
    assert.equal(ra['server.port'], 80);
    const ua = attrs(uu!.attributes);
    assert.equal(ua['network.transport'], 'udp');
    assert.equal(ua['network.peer.address'], '10.0.0.53');
    assert.equal(ua['server.address'], undefined, 'no lookup resolved 10.0.0.53');
    // stitching: the connect that used the lookup's answer is its child in the same trace; the others are roots of their own
    assert.equal(hex(c!.traceId), hex(d!.traceId));
    assert.equal(hex(c!.parentSpanId), hex(d!.spanId));
    assert.equal(hex(d!.parentSpanId), '');
    assert.notEqual(hex(r!.traceId), hex(d!.traceId));
    assert.equal(hex(r!.parentSpanId), '');
    assert.equal(new Set(spans.map((x) => hex(x.spanId))).size, 4);
    assert.match(hex(d!.traceId), /^[0-9a-f]{32}$/);
    const st = s.exp.otel.counters.stitches;
    assert.equal(st.get({ exporter: 'otlp', kind: 'dns_connect', outcome: 'matched' }), 1);
    assert.equal(st.get({ exporter: 'otlp', kind: 'dns_connect', outcome: 'standalone' }), 2);
    assert.equal(s.exp.otel.counters.recordsSent.get({ exporter: 'otlp', signal: 'traces' }), 4);
    assert.equal(s.exp.otel.counters.requests.get({ exporter: 'otlp', signal: 'traces', outcome: 'success' }), 1);
  } finally {
    await s.close();
  }
});

test('DNS match needs the same pid, an answered address and the window; IPv4-mapped addresses match', async () => {
  const s = await setup({
    signals: { traces: true, logs: false, metrics: false },
    connection_traces: { window_ms: 100 },
  });
  try {
    const lookup = dns();
    const mapped = connect({ family: 'ipv6', saddr: '::ffff:10.0.0.1', daddr: '::ffff:10.0.0.5', sport: 41000 });
    const otherPid = connect({ pid: 101, sport: 41001 });
    const tooLate = connect({ sport: 41002, timeUnixNano: T0 + ms(2) + ms(100) + 1n });
    const beforeLookup = connect({ sport: 41003, timeUnixNano: T0 - 1n });
    assert.deepEqual(await s.send(lookup, mapped, otherPid, tooLate, beforeLookup), { code: 'success' });
    const spans = s.server.allSpans().map((x) => x.span);
    const trace = hex(spans[0]!.traceId);
    assert.deepEqual(
      spans.slice(1).map((x) => [hex(x.traceId) === trace, attrs(x.attributes)['server.address'] ?? null]),
      [
        [true, 'api.example.com'],
        [false, null],
        [false, null],
        [false, null],
      ],
    );
  } finally {
    await s.close();
  }
});

test('SYN retransmits held until their connect arrives become span events with kernel timestamps; later ones are linked spans', async () => {
  const s = await setup({ signals: { traces: true, logs: true, metrics: false } });
  try {
    const r1 = retrans({ timeUnixNano: T0 + ms(1000) });
    const r2 = retrans({ timeUnixNano: T0 + ms(3000) });
    assert.deepEqual(await s.send(r1, r2), { code: 'success' });
    assert.equal(s.server.traces.length, 0, 'held: nothing sent yet');
    assert.equal(s.server.logs.length, 0);
    assert.equal(s.exp.stitcher.held, 2);

    const c = connect({ sport: 40010, daddr: '10.0.0.7', timeUnixNano: T0, latencyNs: 3_500_000_000 });
    assert.deepEqual(await s.send(c), { code: 'success' });
    assert.equal(s.exp.stitcher.held, 0);
    const [span] = s.server.allSpans().map((x) => x.span);
    assert.equal(span!.name, 'connect');
    assert.equal(span!.endTimeUnixNano, ns(T0 + ms(3500)));
    assert.deepEqual(
      span!.events.map((e) => [e.name, e.timeUnixNano, attrs(e.attributes)]),
      [
        ['tcp.retransmit', ns(T0 + ms(1000)), { 'tcp.state': 'SYN_SENT', 'tcp.retransmit.kind': 'rto' }],
        ['tcp.retransmit', ns(T0 + ms(3000)), { 'tcp.state': 'SYN_SENT', 'tcp.retransmit.kind': 'rto' }],
      ],
    );
    assert.equal(attrs(span!.attributes)['netspan.tcp.retransmits'], 2);
    // the retransmits' log records point at the connect span
    const logs = s.server.allLogs().map((x) => x.log);
    assert.deepEqual(
      logs.map((l) => [
        attrs(l.attributes)['netspan.event.type'],
        l.severityText,
        hex(l.traceId) === hex(span!.traceId),
        hex(l.spanId) === hex(span!.spanId),
      ]),
      [
        ['soconnect', 'INFO', true, true],
        ['tcpretrans', 'WARN', true, true],
        ['tcpretrans', 'WARN', true, true],
      ],
    );

    // after the connect: a data retransmit and an incoming drop (reverse direction) → own spans linked into the trace
    s.server.clear();
    const late = retrans({ timeUnixNano: T0 + ms(10_000), state: 'ESTABLISHED' });
    const incoming = drop({ timeUnixNano: T0 + ms(11_000) });
    assert.deepEqual(await s.send(late, incoming), { code: 'success' });
    const linked = s.server.allSpans().map((x) => x.span);
    assert.deepEqual(
      linked.map((x) => [x.name, x.kind, x.startTimeUnixNano, x.endTimeUnixNano]),
      [
        ['tcp.retransmit', 'SPAN_KIND_INTERNAL', ns(T0 + ms(10_000)), ns(T0 + ms(10_000))],
        ['packet.drop', 'SPAN_KIND_INTERNAL', ns(T0 + ms(11_000)), ns(T0 + ms(11_000))],
      ],
    );
    for (const l of linked) {
      assert.equal(hex(l.traceId), hex(span!.traceId));
      assert.equal(hex(l.parentSpanId), hex(span!.spanId));
      assert.deepEqual(
        l.links.map((k) => [hex(k.traceId), hex(k.spanId)]),
        [[hex(span!.traceId), hex(span!.spanId)]],
      );
    }
    assert.equal(attrs(linked[1]!.attributes)['netspan.drop.reason'], 'NETFILTER_DROP');
    const st = s.exp.otel.counters.stitches;
    assert.equal(st.get({ exporter: 'otlp', kind: 'retransmit', outcome: 'absorbed' }), 2);
    assert.equal(st.get({ exporter: 'otlp', kind: 'retransmit', outcome: 'linked' }), 1);
    assert.equal(st.get({ exporter: 'otlp', kind: 'drop', outcome: 'linked' }), 1);
  } finally {
    await s.close();
  }
});

test('a held retransmit whose connect never comes is released as its own span after the window, and counted', async () => {
  let now = 1_000;
  const s = await setup(
    { signals: { traces: true, logs: true, metrics: false }, connection_traces: { window_ms: 500 } },
    { now: () => now, sweepIntervalMs: 3_600_000 },
  );
  try {
    const lonely = retrans({ sport: 49999 });
    const arp = drop({
      protocol: 'ARP',
      family: undefined,
      saddr: undefined,
      daddr: undefined,
      sport: undefined,
      dport: undefined,
      l4Protocol: undefined,
    });
    assert.deepEqual(await s.send(lonely, arp), { code: 'success' });
    assert.deepEqual(
      s.server.allSpans().map((x) => x.span.name),
      ['packet.drop'],
      'a drop without ports cannot match a connect: exported at once',
    );
    now += 499;
    await s.exp.sweep();
    assert.equal(s.server.allSpans().length, 1, 'still held inside the window');
    now += 2;
    await s.exp.sweep();
    const spans = s.server.allSpans().map((x) => x.span);
    assert.equal(spans.length, 2);
    const r = spans[1]!;
    assert.deepEqual(
      [r.name, r.startTimeUnixNano, hex(r.parentSpanId), r.links.length],
      ['tcp.retransmit', ns(lonely.timeUnixNano), '', 0],
    );
    const logs = s.server.allLogs().map((x) => x.log);
    const rl = logs.find((l) => attrs(l.attributes)['netspan.event.type'] === 'tcpretrans')!;
    assert.equal(hex(rl.spanId), hex(r.spanId));
    const st = s.exp.otel.counters.stitches;
    assert.equal(st.get({ exporter: 'otlp', kind: 'retransmit', outcome: 'expired' }), 1);
    assert.equal(st.get({ exporter: 'otlp', kind: 'drop', outcome: 'standalone' }), 1);
    assert.equal(s.exp.stitcher.held, 0);
  } finally {
    await s.close();
  }
});

test('events still held at shutdown are exported as their own spans', async () => {
  const s = await setup({ signals: { traces: true, logs: false, metrics: false } });
  const r = retrans({ sport: 45555 });
  assert.deepEqual(await s.send(r), { code: 'success' });
  assert.equal(s.server.allSpans().length, 0);
  await s.exp.shutdown();
  assert.deepEqual(
    s.server.allSpans().map((x) => [x.span.name, x.span.startTimeUnixNano]),
    [['tcp.retransmit', ns(r.timeUnixNano)]],
  );
  assert.equal(s.exp.otel.counters.stitches.get({ exporter: 'otlp', kind: 'retransmit', outcome: 'shutdown' }), 1);
  await s.close();
});
