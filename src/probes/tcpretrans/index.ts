import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProbeDefinition } from '../types.js';
import { readProbeProgram } from '../program.js';
import { createTcpRetransParser } from './parser.js';

/** Placeholder in tcpretrans.bt (a comment in predicate position). */
export const RETRANS_FILTER_PLACEHOLDER = '/* NETSPAN_RETRANS_FILTER */';

/**
 * Recent kernels give tcp:tcp_retransmit_skb an `err` field and fire it also
 * for retransmits that could not be sent; keep only the ones that were.
 */
export async function retransFilter(tracefs: string): Promise<string> {
  try {
    const format = await readFile(join(tracefs, 'events', 'tcp', 'tcp_retransmit_skb', 'format'), 'utf8');
    return /\bfield:int err;/.test(format) ? '/args->err == 0/' : '';
  } catch {
    return ''; // unreadable format: no filter (bpftrace will report a missing tracepoint itself)
  }
}

export const tcpretransProbe: ProbeDefinition = {
  name: 'tcpretrans',
  description: 'TCP retransmissions (IPv4/IPv6) with addresses, ports and TCP state, including SYN-ACK retransmits',
  async prepare(host) {
    const source = await readProbeProgram('tcpretrans');
    const program = source.replace(RETRANS_FILTER_PLACEHOLDER, await retransFilter(host.tracefs));
    return {
      program,
      env: {},
      hooks: [
        { kind: 'tracepoint', category: 'tcp', name: 'tcp_retransmit_skb' },
        { kind: 'tracepoint', category: 'tcp', name: 'tcp_retransmit_synack' },
      ],
      createParser: () => createTcpRetransParser(host.clock),
    };
  },
};
