/**
 * Book-style aligned columns for people watching a terminal, one line per
 * event: TIME TYPE PID COMM then a type-specific summary.
 */
import type { NetEvent } from '../../core/event.js';

export const TABLE_HEADER = `${'TIME'.padEnd(12)} ${'TYPE'.padEnd(14)} ${'PID'.padStart(7)} ${'COMM'.padEnd(16)} DETAILS`;

function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(2)}ms`;
}

function endpoint(addr: string | undefined, port: number | undefined): string {
  if (addr === undefined) return '-';
  return addr.includes(':') ? `[${addr}]:${port ?? 0}` : `${addr}:${port ?? 0}`;
}

/** Control characters are shown escaped so a hostile name can't garble the terminal. */
function safe(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function formatRow(e: NetEvent): string {
  const time = new Date(Number(e.timeUnixNano / 1_000_000n)).toISOString().slice(11, 23);
  const head = `${time.padEnd(12)} ${e.type.padEnd(14)} ${String(e.pid).padStart(7)} ${safe(e.comm).padEnd(16)}`;
  let detail: string;
  switch (e.type) {
    case 'soconnect':
      detail = `${endpoint(e.saddr, e.sport)} -> ${endpoint(e.daddr, e.dport)} ${e.result} ${ms(e.latencyNs)}${e.nonBlocking ? ' (non-blocking)' : ''}`;
      break;
    case 'udpconnect':
      detail = `${endpoint(e.saddr, e.sport)} -> ${endpoint(e.daddr, e.dport)} ${e.result} ${ms(e.latencyNs)}`;
      break;
    case 'tcpretrans':
      detail = `${endpoint(e.saddr, e.sport)} -> ${endpoint(e.daddr, e.dport)} ${e.state} ${e.kind}`;
      break;
    case 'gethostlatency':
      detail = `${e.func} ${safe(e.host)} ${e.result} ${ms(e.latencyNs)} [${e.addresses.join(', ')}]`;
      break;
    case 'skbdrop':
      detail = `${e.reason} ${e.protocol}${e.l4Protocol ? `/${e.l4Protocol}` : ''} ${endpoint(e.saddr, e.sport)} -> ${endpoint(e.daddr, e.dport)} at ${e.location}`;
      break;
  }
  return `${head} ${detail}`;
}
