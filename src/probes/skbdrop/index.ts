import { readProbeProgram } from '../program.js';
import type { ProbeDefinition } from '../types.js';
import { createSkbDropParser } from './parser.js';
import { readDropReasonTable } from './reasons.js';
import type { DropReasonTable } from './reasons.js';

/** BPF predicate keeping real drops: reason >= first real reason, minus any non-drop pseudo-reason above it. */
export function dropFilter(table: DropReasonTable): string {
  return [`args->reason >= ${table.minDropReason}`, ...table.nonDrops.map((v) => `args->reason != ${v}`)].join(' && ');
}

export const skbdropProbe: ProbeDefinition = {
  name: 'skbdrop',
  description:
    'packets dropped by the kernel (skb:kfree_skb) with drop reason, location, kernel stack and IP addresses/ports',
  async prepare(host) {
    // One small read of the tracepoint format file (~6 KB): the reason names of the running kernel.
    const table = await readDropReasonTable(host.tracefs);
    const text = await readProbeProgram('skbdrop');
    return {
      program: text
        .replaceAll('__DROP_FILTER__', dropFilter(table))
        .replaceAll('__RX_SK__', table.hasRxSk ? 'args->rx_sk' : '0'),
      env: {},
      hooks: [{ kind: 'tracepoint', category: 'skb', name: 'kfree_skb' }],
      createParser: () => createSkbDropParser(host.clock, table.names),
    };
  },
};
