import type { ProbeDefinition } from '../types.js';
import { readProbeProgram } from '../soconnect/index.js';
import { createTcpRetransParser } from './parser.js';

export const tcpretransProbe: ProbeDefinition = {
  name: 'tcpretrans',
  description: 'TCP retransmissions (IPv4/IPv6) with addresses, ports and TCP state, including SYN-ACK retransmits',
  async prepare(host) {
    const program = await readProbeProgram('tcpretrans');
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
