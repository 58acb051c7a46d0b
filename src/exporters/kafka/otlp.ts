/**
 * One event as an OTLP `ExportLogsServiceRequest` — what the OpenTelemetry
 * Collector's Kafka exporter writes per record with encoding otlp_proto /
 * otlp_json, and its Kafka receiver reads.
 *
 * The request is built once in its OTLP/JSON form (camelCase field names,
 * 64-bit integers as decimal strings, enums as numbers, no trace/span ids
 * since events have none). otlp_proto encodes that object with protobufjs
 * and the official opentelemetry-proto definitions (shipped as .proto files
 * in the `otlp-proto-files` package, an alias of
 * @opentelemetry/otlp-grpc-exporter-base 0.38.0).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { toJsonObject } from '../../core/encode.js';
import type { NetEvent } from '../../core/event.js';
import { splitAttributes, type Attrs } from '../../otel/attributes.js';
import { repoRoot } from '../../paths.js';

export type OtlpAnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: OtlpAnyValue[] } }
  | { kvlistValue: { values: OtlpKeyValue[] } };
export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}

/** SeverityNumber from logs.proto. */
export const SEVERITY_INFO = 9;
export const SEVERITY_WARN = 13;

export const SCOPE_NAME = 'netspan';

let scopeVersion: string | undefined;
function netspanVersion(): string {
  if (scopeVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { version?: unknown };
      scopeVersion = typeof pkg.version === 'string' ? pkg.version : '';
    } catch {
      scopeVersion = '';
    }
  }
  return scopeVersion;
}

export function severityOf(e: NetEvent): { number: number; text: string } {
  return e.type === 'tcpretrans' || e.type === 'skbdrop'
    ? { number: SEVERITY_WARN, text: 'WARN' }
    : { number: SEVERITY_INFO, text: 'INFO' };
}

export function anyValue(v: unknown): OtlpAnyValue {
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'bigint':
      return { intValue: v.toString() };
    case 'number':
      return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
    case 'object':
      if (v === null) return { stringValue: '' };
      if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
      return { kvlistValue: { values: keyValues(v as Record<string, unknown>) } };
    default:
      return { stringValue: String(v) };
  }
}

export function keyValues(attrs: Record<string, unknown> | Attrs): OtlpKeyValue[] {
  const out: OtlpKeyValue[] = [];
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    out.push({ key, value: anyValue(value) });
  }
  return out;
}

/** The request in OTLP/JSON form (see the file comment). */
export function toOtlpLogsRequest(
  e: NetEvent,
  body: 'kvlist' | 'string',
  observedUnixNano: bigint,
): Record<string, unknown> {
  const { resource, record } = splitAttributes(e);
  const json = toJsonObject(e);
  const sev = severityOf(e);
  const version = netspanVersion();
  return {
    resourceLogs: [
      {
        resource: { attributes: keyValues(resource) },
        scopeLogs: [
          {
            scope: version ? { name: SCOPE_NAME, version } : { name: SCOPE_NAME },
            logRecords: [
              {
                timeUnixNano: e.timeUnixNano.toString(),
                observedTimeUnixNano: observedUnixNano.toString(),
                severityNumber: sev.number,
                severityText: sev.text,
                body: body === 'kvlist' ? anyValue(json) : { stringValue: JSON.stringify(json) },
                attributes: keyValues(record),
              },
            ],
          },
        ],
      },
    ],
  };
}

let requestType: protobuf.Type | undefined;

/** Directory holding opentelemetry/proto/**.proto (official definitions). */
export function otlpProtoDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('otlp-proto-files/package.json')), 'build', 'protos');
}

/** protobufjs type of opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest, loaded from the .proto files. */
export function exportLogsServiceRequestType(): protobuf.Type {
  if (requestType) return requestType;
  const dir = otlpProtoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(dir, target);
  root.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto');
  requestType = root.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
  return requestType;
}

/**
 * protobufjs encodes the OTLP/JSON-shaped object as is: its writer takes
 * 64-bit values as decimal strings (via the `long` package, exactly) and
 * oneof members by presence, so no fromObject() copy is needed.
 */
export function encodeOtlpProto(request: Record<string, unknown>): Buffer {
  const type = exportLogsServiceRequestType();
  const bytes = type.encode(request).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
