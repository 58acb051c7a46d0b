/**
 * OTLP/gRPC export of netspan's trace and log requests: one unary call per
 * request on a @grpc/grpc-js client (the library the SDK's exporters use),
 * configured as OTLPTraceExporter and OTLPLogExporter configure theirs (the
 * SDK's own option resolution: URL, credentials, metadata, compression,
 * timeout), fed with records already encoded (spans-proto.ts,
 * logs-proto.ts). The response is decoded with the SDK's deserializers and
 * its partial success (records the collector rejected) is reported, not
 * only logged.
 *
 * Requests are assembled in buffers of the transport's own, each in use until
 * its call has finished (grpc-js reads the request after export() returns,
 * when it frames the message) and then written again: the SDK's transport
 * instead copies every request into a new Buffer first, and those copies,
 * tens of megabytes a second at 10,000 events/s, waited for the garbage
 * collector.
 */
import { Client, type ChannelCredentials, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { convertLegacyOtlpGrpcOptions, type OTLPGRPCExporterConfigNode } from '@opentelemetry/otlp-grpc-exporter-base';
import { ProtobufLogsSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { ProtoWriter } from './proto-writer.js';
import type { EncodedRecord, RequestAssembler } from './request.js';

export type TransportSignal = 'traces' | 'logs';

/** The outcome of one request; `rejected`: records the collector did not accept though it answered OK (partial success). */
export type TransportResult = ExportResult & { rejected?: number; rejection?: string };

interface PartialSuccess {
  rejectedSpans?: number | string;
  rejectedLogRecords?: number | string;
  errorMessage?: string;
}

const SERVICES = {
  traces: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    signal: 'TRACES',
    rejected: (p: PartialSuccess) => Number(p.rejectedSpans ?? 0),
    deserialize: (b: Buffer): unknown => ProtobufTraceSerializer.deserializeResponse(b),
  },
  logs: {
    path: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
    signal: 'LOGS',
    rejected: (p: PartialSuccess) => Number(p.rejectedLogRecords ?? 0),
    deserialize: (b: Buffer): unknown => ProtobufLogsSerializer.deserializeResponse(b),
  },
} as const;

/** grpc.default_compression_algorithm values (grpc-js CompressionAlgorithms). */
const COMPRESSION = { none: 0, gzip: 2 } as const;

/** Request buffers kept for reuse; more concurrent requests than this get buffers that are let go. */
const MAX_SPARE_WRITERS = 8;

const identity = (b: Buffer): Buffer => b;

export class OtlpTransport {
  private readonly service: (typeof SERVICES)[TransportSignal];
  private readonly target: string;
  private readonly credentials: ChannelCredentials;
  private readonly metadata: Metadata;
  private readonly compression: 'none' | 'gzip';
  private readonly timeoutMillis: number;
  private readonly userAgent: string;
  private client: Client | undefined;
  /** Request buffers not in use (see the file's comment). */
  private readonly spare: ProtoWriter[] = [];
  private closed = false;

  constructor(
    signal: TransportSignal,
    config: OTLPGRPCExporterConfigNode,
    private readonly assembler: RequestAssembler,
  ) {
    this.service = SERVICES[signal];
    const resolved = convertLegacyOtlpGrpcOptions(config, this.service.signal);
    this.target = resolved.url;
    this.credentials = resolved.credentials();
    this.metadata = resolved.metadata();
    this.compression = resolved.compression === 'gzip' ? 'gzip' : 'none';
    this.timeoutMillis = resolved.timeoutMillis;
    this.userAgent = resolved.userAgent ?? 'netspan';
  }

  /** Send the request carrying `records`; `done` is called once, never synchronously. */
  export(records: readonly EncodedRecord[], done: (r: TransportResult) => void): void {
    const fail = (error: Error): void => queueMicrotask(() => done({ code: ExportResultCode.FAILED, error }));
    if (this.closed) return fail(new Error('transport is shut down'));
    let client: Client;
    try {
      client = this.client ??= new Client(this.target, this.credentials, {
        'grpc.default_compression_algorithm': COMPRESSION[this.compression],
        'grpc.primary_user_agent': this.userAgent,
      });
    } catch (e) {
      return fail(e instanceof Error ? e : new Error(String(e)));
    }
    const w = this.spare.pop() ?? new ProtoWriter(64 * 1024);
    const request = this.assembler.assembleInto(w, records);
    const service = this.service;
    client.makeUnaryRequest<Buffer, unknown>(
      service.path,
      identity,
      service.deserialize,
      request,
      this.metadata,
      { deadline: Date.now() + this.timeoutMillis },
      (err: ServiceError | null, response?: unknown) => {
        if (this.spare.length < MAX_SPARE_WRITERS) this.spare.push(w);
        if (err) return done({ code: ExportResultCode.FAILED, error: err });
        const partial = (response as { partialSuccess?: PartialSuccess } | undefined)?.partialSuccess;
        const rejected = partial ? service.rejected(partial) : 0;
        if (rejected > 0)
          return done({ code: ExportResultCode.SUCCESS, rejected, rejection: partial?.errorMessage ?? '' });
        done({ code: ExportResultCode.SUCCESS });
      },
    );
  }

  /** Request buffers waiting to be written again (tests). */
  get spareBuffers(): number {
    return this.spare.length;
  }

  /** Close the channel (calls in flight end with CANCELLED or UNAVAILABLE). Safe twice. */
  shutdown(): Promise<void> {
    this.closed = true;
    this.client?.close();
    this.client = undefined;
    return Promise.resolve();
  }
}
