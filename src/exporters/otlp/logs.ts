/**
 * Severity of an event's OTLP log record: WARN for retransmits and drops,
 * INFO otherwise. The records themselves are written by logs-proto.ts.
 */
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { NetEvent } from '../../core/event.js';

export function severityOf(e: NetEvent): { number: SeverityNumber; text: string } {
  return e.type === 'tcpretrans' || e.type === 'skbdrop'
    ? { number: SeverityNumber.WARN, text: 'WARN' }
    : { number: SeverityNumber.INFO, text: 'INFO' };
}
