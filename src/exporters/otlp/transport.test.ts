import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExportResult } from '@opentelemetry/core';
import { credentials } from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { splitAttributes } from '../../otel/attributes.js';
import { sdkSpan } from '../../../test/helpers/sdk-span.js';
import { OtlpTestServer } from '../../../test/helpers/otlp-server.js';
import { connect, dns } from '../../../test/helpers/otlp-events.js';
import { LogEncoder } from './logs-proto.js';
import { RequestAssembler } from './request.js';
import { SpanRef } from './ids.js';
import { ResourceCache } from './resources.js';
import { SpanEncoder } from './spans-proto.js';
import { OtlpTransport } from './transport.js';

const scope = { name: 'netspan', version: '1.2.3' };

const exported = (t: OtlpTransport, records: Parameters<OtlpTransport['export']>[0]): Promise<ExportResult> =>
  new Promise((resolve) => t.export(records, resolve));

test('concurrent exports on one transport each deliver their own request; request buffers are written again only after their call ends', async () => {
  const server = await OtlpTestServer.start();
  const config = { url: server.endpoint, credentials: credentials.createInsecure(), timeoutMillis: 5_000 };
  const asm = new RequestAssembler(scope);
  const logs = new OtlpTransport('logs', config, asm);
  const traces = new OtlpTransport('traces', config, asm);
  try {
    const resources = new ResourceCache({}, 'netspan-host');
    const batch = (n: number, first: number) => {
      const enc = new LogEncoder();
      enc.begin(1n);
      for (let i = 0; i < n; i++) enc.add(connect({ sport: first + i }), undefined, resources.node, undefined);
      return enc.finish();
    };
    const spans = new SpanEncoder();
    spans.begin();
    spans.add(
      dns({ host: 'only.example' }),
      { ref: SpanRef.fromHex('a'.repeat(32), 'b'.repeat(16)), links: [], absorbed: [] },
      resources.node,
    );
    // not awaited in between: grpc-js reads each request after export() returns
    const results = await Promise.all([
      exported(logs, batch(300, 10_000)),
      exported(logs, batch(2, 20_000)),
      exported(traces, spans.finish()),
    ]);
    assert.deepEqual([logs.spareBuffers, traces.spareBuffers], [2, 1], 'buffers back once their calls ended');
    assert.equal((await exported(logs, batch(1, 30_000))).code, 0);
    assert.equal(logs.spareBuffers, 2, 'a buffer was taken and given back, none made');
    assert.deepEqual(
      results.map((r) => r.code),
      [0, 0, 0],
    );
    const ports = server.logs.map((r) =>
      r.resourceLogs[0]!.scopeLogs[0]!.logRecords.map(
        (l) => l.attributes.find((a) => a.key === 'network.local.port')!.value.intValue,
      ),
    );
    assert.deepEqual(
      ports.map((p) => p.length).sort((a, b) => a - b),
      [1, 2, 300],
    );
    const small = ports.find((p) => p.length === 2)!;
    const large = ports.find((p) => p.length === 300)!;
    assert.deepEqual(small, ['20000', '20001']);
    assert.deepEqual(
      large,
      Array.from({ length: 300 }, (_, i) => String(10_000 + i)),
    );
    assert.deepEqual(
      server.allSpans().map((s) => s.span.name),
      ['dns.lookup only.example'],
    );
  } finally {
    await logs.shutdown();
    await traces.shutdown();
    await server.stop();
  }
});

test("the SDK's own OTLPTraceExporter and netspan's transport deliver the same trace request for the same spans", async () => {
  const server = await OtlpTestServer.start();
  const config = { url: server.endpoint, credentials: credentials.createInsecure(), timeoutMillis: 5_000 };
  const sdk = new OTLPTraceExporter(config);
  const ours = new OtlpTransport('traces', config, new RequestAssembler(scope));
  try {
    const resources = new ResourceCache({}, 'netspan-host');
    const enc = new SpanEncoder();
    enc.begin();
    const plans = [
      { ref: SpanRef.fromHex('a'.repeat(32), 'b'.repeat(16)), links: [], absorbed: [] },
      {
        ref: SpanRef.fromHex('a'.repeat(32), 'c'.repeat(16)),
        parent: SpanRef.fromHex('a'.repeat(32), 'b'.repeat(16)),
        serverAddress: 'api.example.com',
        links: [],
        absorbed: [],
      },
    ];
    const evs = [dns(), connect({ attributes: { 'k8s.pod.uid': 'u-1', 'k8s.pod.name': 'web-1' } })];
    const spans = evs.map((e, i) => {
      const { resource, record } = splitAttributes(e);
      const res = resources.get(resource);
      enc.add(e, plans[i]!, res);
      return sdkSpan(e, plans[i]!, record, res, scope);
    });
    const a = await new Promise<ExportResult>((resolve) => sdk.export(spans, resolve));
    const b = await exported(ours, enc.finish());
    assert.deepEqual([a.code, b.code], [0, 0]);
    assert.equal(server.traces.length, 2);
    assert.deepEqual(server.traces[1], server.traces[0]);
    assert.deepEqual(
      server.allSpans().map((s) => s.span.name),
      ['dns.lookup api.example.com', 'connect', 'dns.lookup api.example.com', 'connect'],
    );
  } finally {
    await sdk.shutdown();
    await ours.shutdown();
    await server.stop();
  }
});
