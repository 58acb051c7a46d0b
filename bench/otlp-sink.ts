/**
 * OTLP/gRPC sink for the benchmark, in its own process (its CPU is not
 * netspan's). By default the test collector (test/helpers/otlp-server.ts,
 * real gRPC and protobuf decoding of the official protos), emptied every
 * 200 ms so memory stays bounded. With --count, a gRPC server for the same
 * three services that only walks each logs request's protobuf fields to
 * count its log records: what a collector that keeps up costs netspan, on a
 * machine where decoding 10,000 spans and log records a second in JavaScript
 * takes a core of its own; it also reads each log record's timestamp, for
 * the latency kernel → collector. Prints "port <P>" on stdout when listening,
 * "logs <N>" (log records received; with --count, "p50 <ms> p99 <ms> max <ms>"
 * after it) on SIGTERM, then exits. Exits by itself
 * after 15 minutes at the latest.
 */
import * as grpc from '@grpc/grpc-js';
import { OtlpTestServer } from '../test/helpers/otlp-server.js';

let logs = 0;
let stopServer: () => Promise<void>;
let port: number;
let drain = (): void => undefined;

if (process.argv.includes('--count')) {
  const server = new grpc.Server();
  const service = (path: string): grpc.ServiceDefinition => ({
    Export: {
      path,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      // an empty Export*ServiceResponse is zero bytes
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: (b: Buffer) => b,
    },
  });
  const handler: grpc.handleUnaryCall<Buffer, Buffer> = (_call, callback) => callback(null, Buffer.alloc(0));
  const counting =
    (count: (b: Buffer) => number): grpc.handleUnaryCall<Buffer, Buffer> =>
    (call, callback) => {
      logs += count(call.request);
      callback(null, Buffer.alloc(0));
    };
  server.addService(service('/opentelemetry.proto.collector.trace.v1.TraceService/Export'), {
    Export: handler,
  });
  server.addService(service('/opentelemetry.proto.collector.logs.v1.LogsService/Export'), {
    Export: counting(countLogRecords),
  });
  server.addService(service('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export'), {
    Export: handler,
  });
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  stopServer = () => {
    server.forceShutdown();
    return Promise.resolve();
  };
} else {
  const server = await OtlpTestServer.start();
  port = server.port;
  drain = (): void => {
    for (const r of server.logs)
      for (const rl of r.resourceLogs) for (const sl of rl.scopeLogs) logs += sl.logRecords.length;
    server.clear();
  };
  stopServer = () => server.stop();
}

/** Receipt time − the record's time_unix_nano (ms), per log record received (--count), a bounded ring. */
const MAX_SAMPLES = 4_000_000;
const latencies = new Float64Array(MAX_SAMPLES);
let samples = 0;

/**
 * ExportLogsServiceRequest: 1 resource_logs { 2 scope_logs { 2 log_records } },
 * counted without decoding records; of each record only field 1
 * (time_unix_nano, fixed64: the kernel timestamp) is read, for the latency.
 */
function countLogRecords(b: Buffer): number {
  const nowMs = performance.timeOrigin + performance.now();
  let n = 0;
  for (const [f1, s1, e1] of fields(b, 0, b.length))
    if (f1 === 1)
      for (const [f2, s2, e2] of fields(b, s1, e1))
        if (f2 === 2)
          for (const [f3, s3, e3] of fields(b, s2, e2))
            if (f3 === 2) {
              n++;
              for (const [f4, , e4] of fields(b, s3, e3))
                if (f4 === 1) {
                  latencies[samples++ % MAX_SAMPLES] = nowMs - Number(b.readBigUInt64LE(e4 - 8)) / 1e6;
                  break;
                }
            }
  return n;
}

/** "p50 P p99 Q max M" (ms) of the latencies, or "" when there are none. */
function latencySummary(): string {
  const s = latencies.subarray(0, Math.min(samples, MAX_SAMPLES)).sort();
  if (s.length === 0) return '';
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1);
  return ` p50 ${q(0.5)} p99 ${q(0.99)} max ${s[s.length - 1]!.toFixed(1)}`;
}

/** The fields of the message in b[start, end): field number and, for length-delimited ones, where the content is. */
function* fields(b: Buffer, start: number, end: number): Generator<[number, number, number]> {
  let p = start;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const x = b[p++]!;
      v += (x & 0x7f) * mul;
      if (x < 0x80) return v;
      mul *= 128;
    }
  };
  while (p < end) {
    const tag = varint();
    const wire = tag & 7;
    const field = Math.floor(tag / 8);
    if (wire === 0) {
      varint();
      yield [field, p, p];
    } else if (wire === 1) {
      p += 8;
      yield [field, p, p];
    } else if (wire === 5) {
      p += 4;
      yield [field, p, p];
    } else if (wire === 2) {
      const len = varint();
      const s = p;
      p += len;
      yield [field, s, p];
    } else throw new Error(`unexpected wire type ${wire}`);
  }
}

const timer = setInterval(drain, 200);
const stop = (): void => {
  clearInterval(timer);
  drain();
  process.stdout.write(`logs ${logs}${latencySummary()}\n`);
  void stopServer().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
setTimeout(stop, 15 * 60_000).unref();
process.stdout.write(`port ${port}\n`);
