/**
 * Classifies an SDK OTLP/gRPC export error as retryable or permanent, per the
 * OTLP specification's list of retryable gRPC codes.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';

const CODE_NAMES: Record<number, string> = {
  0: 'OK',
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

/** CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS. */
const RETRYABLE = new Set([1, 4, 8, 10, 11, 14, 15]);

export interface Classified {
  outcome: 'success' | 'failure' | 'retryable';
  /** gRPC status name when known (UNAVAILABLE, ...). */
  status?: string;
  error?: string;
}

export function grpcCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const c = error.code;
    if (typeof c === 'number') return c;
  }
  return undefined;
}

export function classify(result: ExportResult): Classified {
  if (result.code === ExportResultCode.SUCCESS) return { outcome: 'success' };
  const err = result.error;
  const message = (err instanceof Error ? err.message : String(err ?? 'export failed')).slice(0, 300);
  const code = grpcCode(err);
  if (code !== undefined) {
    const status = CODE_NAMES[code] ?? `CODE_${code}`;
    return { outcome: RETRYABLE.has(code) ? 'retryable' : 'failure', status, error: message };
  }
  // SDK-side conditions that clear up by themselves
  if (/concurrent export limit|timeout|timed out/i.test(message)) return { outcome: 'retryable', error: message };
  return { outcome: 'failure', error: message };
}
