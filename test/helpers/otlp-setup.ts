/** Shared setup of the OTLP exporter tests: a real OTLP/gRPC test server and an exporter pointed at it. */
import type { NetEvent } from '../../src/core/event.js';
import type { ExportResult } from '../../src/pipeline/component.js';
import { silentLogger } from '../../src/telemetry/log.js';
import type { Telemetry } from '../../src/telemetry/internal-events.js';
import { OtlpTestServer } from './otlp-server.js';
import { testTelemetry } from './telemetry.js';
import { otlpConfigSchema } from '../../src/exporters/otlp/config.js';
import { OtlpExporter, type OtlpExporterOptions } from '../../src/exporters/otlp/exporter.js';

export interface Setup {
  server: OtlpTestServer;
  telemetry: Telemetry;
  exp: OtlpExporter;
  send(...events: NetEvent[]): Promise<ExportResult>;
  close(): Promise<void>;
}

export async function setup(
  over: Record<string, unknown> = {},
  opts: OtlpExporterOptions = {},
  server?: OtlpTestServer,
): Promise<Setup> {
  const srv = server ?? (await OtlpTestServer.start());
  const telemetry = testTelemetry();
  const cfg = otlpConfigSchema.parse({ endpoint: srv.endpoint, metrics: { export_interval_ms: 3_600_000 }, ...over });
  const exp = new OtlpExporter(cfg, { id: 'otlp', telemetry, logger: silentLogger(), env: {} }, opts);
  await exp.start();
  return {
    server: srv,
    telemetry,
    exp,
    send: (...events) => exp.export(events),
    close: async () => {
      await exp.shutdown();
      await srv.stop();
    },
  };
}
