import { applyFilter } from '../filter.js';
import type { ProbeDefinition } from '../types.js';
import { readProbeProgram } from '../program.js';
import { createUdpConnectParser } from './parser.js';

export const udpconnectProbe: ProbeDefinition = {
  name: 'udpconnect',
  description: 'UDP connect(2) calls (IPv4/IPv6): destination, chosen source address/port, result and latency',
  filterable: true,
  async prepare(host, options) {
    const program = applyFilter(await readProbeProgram('udpconnect'), options?.filter);
    return {
      program,
      // Bounds the per-thread maps of in-flight connect(2) calls.
      env: { BPFTRACE_MAP_KEYS_MAX: '16384' },
      hooks: [
        { kind: 'tracepoint', category: 'syscalls', name: 'sys_enter_connect' },
        { kind: 'tracepoint', category: 'syscalls', name: 'sys_exit_connect' },
      ],
      createParser: () => createUdpConnectParser(host.clock),
    };
  },
};
