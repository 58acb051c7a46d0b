/**
 * The OTLP/gRPC logs exporter of the OpenTelemetry JS SDK with netspan's own
 * serializer: the SDK's gRPC transport (channel, credentials, metadata,
 * compression, timeout, concurrency limit, partial-success logging) as
 * OTLPLogExporter builds it, fed with log records already encoded by
 * logs-proto.ts instead of ReadableLogRecords (the response, partial success
 * included, is still decoded by the SDK).
 */
import type { ExportResult } from '@opentelemetry/core';
import {
  convertLegacyOtlpGrpcOptions,
  createOtlpGrpcExportDelegate,
  type OTLPGRPCExporterConfigNode,
} from '@opentelemetry/otlp-grpc-exporter-base';
import {
  ProtobufLogsSerializer,
  type IExporterMetricsHelper,
  type IExportLogsServiceResponse,
  type ISerializer,
} from '@opentelemetry/otlp-transformer';
import type { EncodedLog, LogRequestAssembler } from './logs-proto.js';

const GRPC_NAME = 'LogsExportService';
const GRPC_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const COMPONENT_TYPE = 'otlp_grpc_log_exporter';

const metricsHelper: IExporterMetricsHelper<EncodedLog[]> = { name: 'log', countItems: (r) => r.length };

export class OtlpLogsTransport {
  private readonly delegate: ReturnType<typeof createOtlpGrpcExportDelegate<EncodedLog[], IExportLogsServiceResponse>>;

  constructor(config: OTLPGRPCExporterConfigNode, assembler: LogRequestAssembler) {
    const serializer: ISerializer<EncodedLog[], IExportLogsServiceResponse> = {
      serializeRequest: (records) => assembler.assemble(records),
      deserializeResponse: (bytes) => ProtobufLogsSerializer.deserializeResponse(bytes),
    };
    this.delegate = createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions(config, 'LOGS'),
      serializer,
      COMPONENT_TYPE,
      metricsHelper,
      undefined,
      GRPC_NAME,
      GRPC_PATH,
    );
  }

  export(records: EncodedLog[], cb: (r: ExportResult) => void): void {
    this.delegate.export(records, cb);
  }

  shutdown(): Promise<void> {
    return this.delegate.shutdown();
  }
}
