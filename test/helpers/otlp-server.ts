/**
 * A real OTLP/gRPC collector for tests: @grpc/grpc-js serving the official
 * opentelemetry-proto service definitions (the unmodified .proto files of
 * opentelemetry-proto v1.4.0 that the @elastic/mockotlpserver package ships),
 * loaded with @grpc/proto-loader. It implements TraceService/Export,
 * LogsService/Export and MetricsService/Export on 127.0.0.1, records every
 * decoded request, can be stopped and started again on the same port, and
 * can be told to answer with a gRPC error status (UNAVAILABLE, ...).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);
const PROTO_ROOT = dirname(require.resolve('@elastic/mockotlpserver/package.json'));
const SERVICES = [
  'opentelemetry/proto/collector/trace/v1/trace_service.proto',
  'opentelemetry/proto/collector/logs/v1/logs_service.proto',
  'opentelemetry/proto/collector/metrics/v1/metrics_service.proto',
];

/** Decoded with longs as decimal strings (exact nanoseconds), enums as names, bytes as Buffers, defaults filled. */
const LOAD_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

/* Loose shapes of the decoded messages (only what tests read). */
export interface AnyValue {
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: AnyValue[] };
  kvlistValue?: { values: KeyValue[] };
  bytesValue?: Buffer;
}
export interface KeyValue {
  key: string;
  value: AnyValue;
}
export interface Resource {
  attributes: KeyValue[];
}
export interface Span {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  name: string;
  kind: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  events: { timeUnixNano: string; name: string; attributes: KeyValue[] }[];
  links: { traceId: Buffer; spanId: Buffer }[];
  status: { code: string; message: string };
}
export interface TraceRequest {
  resourceSpans: { resource: Resource; scopeSpans: { scope: { name: string; version: string }; spans: Span[] }[] }[];
}
export interface LogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: string;
  severityText: string;
  body: AnyValue;
  attributes: KeyValue[];
  traceId: Buffer;
  spanId: Buffer;
}
export interface LogsRequest {
  resourceLogs: { resource: Resource; scopeLogs: { logRecords: LogRecord[] }[] }[];
}
export interface NumberPoint {
  attributes: KeyValue[];
  asInt?: string;
  asDouble?: number;
  value?: string;
}
export interface ExpHistogramPoint {
  attributes: KeyValue[];
  count: string;
  sum: number;
  scale: number;
}
export interface HistogramPoint {
  attributes: KeyValue[];
  count: string;
  sum: number;
  bucketCounts: string[];
  explicitBounds: number[];
}
export interface Metric {
  name: string;
  unit: string;
  data?: string;
  sum?: { dataPoints: NumberPoint[]; isMonotonic: boolean; aggregationTemporality: string };
  gauge?: { dataPoints: NumberPoint[] };
  exponentialHistogram?: { dataPoints: ExpHistogramPoint[]; aggregationTemporality: string };
  histogram?: { dataPoints: HistogramPoint[]; aggregationTemporality: string };
}
export interface MetricsRequest {
  resourceMetrics: { resource: Resource; scopeMetrics: { metrics: Metric[] }[] }[];
}

type Handler = grpc.handleUnaryCall<unknown, unknown>;

export class OtlpTestServer {
  readonly traces: TraceRequest[] = [];
  readonly logs: LogsRequest[] = [];
  readonly metrics: MetricsRequest[] = [];
  /** Requests answered with an error status, per service. */
  readonly rejected = { traces: 0, logs: 0, metrics: 0 };
  /** Metadata (headers) of the last accepted request. */
  lastMetadata: Record<string, unknown> = {};
  private partial: { rejected: number; message: string } | undefined;
  private failCode: grpc.status | undefined;
  private failOnly: ReadonlySet<string> | undefined;
  private server: grpc.Server | undefined;
  private readonly definition: grpc.GrpcObject;

  private constructor(public port: number) {
    const pkg = protoLoader.loadSync(SERVICES, LOAD_OPTIONS);
    this.definition = grpc.loadPackageDefinition(pkg);
  }

  /** Start on 127.0.0.1 (ephemeral port unless given). */
  static async start(port = 0): Promise<OtlpTestServer> {
    const s = new OtlpTestServer(port);
    await s.listen();
    return s;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Answer requests with this gRPC status (undefined: accept again), optionally only for some services. */
  failWith(code: grpc.status | undefined, only?: ('traces' | 'logs' | 'metrics')[]): void {
    this.failCode = code;
    this.failOnly = only ? new Set(only) : undefined;
  }

  /**
   * Accept requests but answer with a partial success rejecting `rejected`
   * records of each (undefined: plain success again), as a collector does
   * for records it could not take.
   */
  partialSuccess(rejected: number | undefined, message = 'test server rejects some records'): void {
    this.partial = rejected === undefined ? undefined : { rejected, message };
  }

  private service(path: string): grpc.ServiceDefinition {
    let o: unknown = this.definition;
    for (const part of path.split('.')) o = (o as Record<string, unknown>)[part];
    return (o as { service: grpc.ServiceDefinition }).service;
  }

  private handler(kind: 'traces' | 'logs' | 'metrics', store: unknown[]): Handler {
    return (call, callback) => {
      if (this.failCode !== undefined && (!this.failOnly || this.failOnly.has(kind))) {
        this.rejected[kind]++;
        callback({ code: this.failCode, details: `test server answers ${grpc.status[this.failCode]}` });
        return;
      }
      this.lastMetadata = call.metadata.getMap();
      store.push(call.request);
      const p = this.partial;
      if (p === undefined || kind === 'metrics') return callback(null, {});
      const field = kind === 'traces' ? 'rejectedSpans' : 'rejectedLogRecords';
      callback(null, { partialSuccess: { [field]: p.rejected, errorMessage: p.message } });
    };
  }

  private async listen(): Promise<void> {
    const server = new grpc.Server();
    server.addService(this.service('opentelemetry.proto.collector.trace.v1.TraceService'), {
      Export: this.handler('traces', this.traces),
    });
    server.addService(this.service('opentelemetry.proto.collector.logs.v1.LogsService'), {
      Export: this.handler('logs', this.logs),
    });
    server.addService(this.service('opentelemetry.proto.collector.metrics.v1.MetricsService'), {
      Export: this.handler('metrics', this.metrics),
    });
    this.port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`127.0.0.1:${this.port}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      );
    });
    this.server = server;
  }

  /** Stop now, dropping open connections (clients see UNAVAILABLE). */
  stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    s?.forceShutdown();
    return Promise.resolve();
  }

  /** Listen again on the same port. */
  async restart(): Promise<void> {
    if (this.server) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.listen();
        return;
      } catch (e) {
        if (attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  clear(): void {
    this.traces.length = 0;
    this.logs.length = 0;
    this.metrics.length = 0;
    this.rejected.traces = this.rejected.logs = this.rejected.metrics = 0;
  }

  allSpans(): { span: Span; resource: Resource }[] {
    return this.traces.flatMap((r) =>
      r.resourceSpans.flatMap((rs) =>
        rs.scopeSpans.flatMap((ss) => ss.spans.map((span) => ({ span, resource: rs.resource }))),
      ),
    );
  }

  allLogs(): { log: LogRecord; resource: Resource }[] {
    return this.logs.flatMap((r) =>
      r.resourceLogs.flatMap((rl) =>
        rl.scopeLogs.flatMap((sl) => sl.logRecords.map((log) => ({ log, resource: rl.resource }))),
      ),
    );
  }

  /** Metrics of the newest request that has `name`. */
  latestMetric(name: string): Metric | undefined {
    for (let i = this.metrics.length - 1; i >= 0; i--) {
      for (const rm of this.metrics[i]!.resourceMetrics) {
        for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.name === name) return m;
      }
    }
    return undefined;
  }
}

/** Plain JS value of an OTLP AnyValue. */
export function plain(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  switch (v.value) {
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'intValue':
      return Number(v.intValue);
    case 'doubleValue':
      return v.doubleValue;
    case 'arrayValue':
      return (v.arrayValue?.values ?? []).map(plain);
    case 'kvlistValue':
      return attrs(v.kvlistValue?.values ?? []);
    case 'bytesValue':
      return v.bytesValue;
    default:
      return undefined;
  }
}

export function attrs(kvs: KeyValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs) out[kv.key] = plain(kv.value);
  return out;
}

export function hex(b: Buffer | undefined): string {
  return b ? b.toString('hex') : '';
}

/** Poll until `cond` holds (bounded). */
export async function waitFor(cond: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
