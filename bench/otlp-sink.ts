/**
 * OTLP/gRPC sink for the benchmark, in its own process (its CPU is not
 * netspan's): the test collector (test/helpers/otlp-server.ts, real gRPC and
 * protobuf decoding), emptied every 200 ms so memory stays bounded. Prints
 * "port <P>" on stdout when listening, "logs <N>" (log records received) on
 * SIGTERM, then exits. Exits by itself after 15 minutes at the latest.
 */
import { OtlpTestServer } from '../test/helpers/otlp-server.js';

const server = await OtlpTestServer.start();
let logs = 0;
const drain = (): void => {
  for (const r of server.logs)
    for (const rl of r.resourceLogs) for (const sl of rl.scopeLogs) logs += sl.logRecords.length;
  server.clear();
};
const timer = setInterval(drain, 200);
const stop = (): void => {
  clearInterval(timer);
  drain();
  process.stdout.write(`logs ${logs}\n`);
  void server.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
setTimeout(stop, 15 * 60_000).unref();
process.stdout.write(`port ${server.port}\n`);
