/**
 * The OTLP/gRPC trace and logs exporters of the OpenTelemetry JS SDK with
 * netspan's own serializers: the SDK's gRPC transport (channel, credentials,
 * metadata, compression, timeout, concurrency limit, partial-success
 * logging) as OTLPTraceExporter and OTLPLogExporter build it, fed with
 * records already encoded (spans-proto.ts, logs-proto.ts) instead of
 * ReadableSpans and ReadableLogRecords; the response, partial success
 * included, is still decoded by the SDK.
 *
 * Each transport assembles its requests in one buffer of its own, written
 * again for every request: the SDK's transport copies the request into a
 * Buffer for grpc-js before export() returns (GrpcExporterTransport.send),
 * so no request is read after the next one is written (transport.test.ts
 * checks this with concurrent exports). A new buffer per request would live
 * until the next garbage collection.
 */
import type { ExportResult } from '@opentelemetry/core';
import {
  convertLegacyOtlpGrpcOptions,
  createOtlpGrpcExportDelegate,
  type OTLPGRPCExporterConfigNode,
} from '@opentelemetry/otlp-grpc-exporter-base';
import { ProtobufLogsSerializer, ProtobufTraceSerializer, type ISerializer } from '@opentelemetry/otlp-transformer';
import { ProtoWriter } from './proto-writer.js';
import type { EncodedRecord, RequestAssembler } from './request.js';

export type TransportSignal = 'traces' | 'logs';

const SERVICES = {
  traces: {
    grpcName: 'TraceExportService',
    grpcPath: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    component: 'otlp_grpc_span_exporter',
    item: 'span',
    signal: 'TRACES',
    deserialize: (b: Uint8Array): unknown => ProtobufTraceSerializer.deserializeResponse(b),
  },
  logs: {
    grpcName: 'LogsExportService',
    grpcPath: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
    component: 'otlp_grpc_log_exporter',
    item: 'log',
    signal: 'LOGS',
    deserialize: (b: Uint8Array): unknown => ProtobufLogsSerializer.deserializeResponse(b),
  },
} as const;

export class OtlpTransport {
  private readonly delegate: ReturnType<typeof createOtlpGrpcExportDelegate<EncodedRecord[], unknown>>;
  /** Where requests are assembled (see the file's comment). */
  private readonly w = new ProtoWriter(64 * 1024);

  constructor(signal: TransportSignal, config: OTLPGRPCExporterConfigNode, assembler: RequestAssembler) {
    const s = SERVICES[signal];
    const serializer: ISerializer<EncodedRecord[], unknown> = {
      serializeRequest: (records) => assembler.assembleInto(this.w, records),
      deserializeResponse: s.deserialize,
    };
    this.delegate = createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions(config, s.signal),
      serializer,
      s.component,
      { name: s.item, countItems: (r) => r.length },
      undefined,
      s.grpcName,
      s.grpcPath,
    );
  }

  export(records: EncodedRecord[], cb: (r: ExportResult) => void): void {
    this.delegate.export(records, cb);
  }

  shutdown(): Promise<void> {
    return this.delegate.shutdown();
  }
}
