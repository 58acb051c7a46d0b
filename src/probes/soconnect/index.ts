import { applyFilter } from '../filter.js';
import { readProbeProgram } from '../program.js';
import type { ProbeDefinition } from '../types.js';
import { createSoConnectParser } from './parser.js';

export const soconnectProbe: ProbeDefinition = {
  name: 'soconnect',
  description:
    'TCP connect(2) attempts (IPv4/IPv6) with their handshake result and latency, non-blocking connects followed to completion',
  filterable: true,
  async prepare(host, options) {
    const program = applyFilter(await readProbeProgram('soconnect'), options?.filter);
    return {
      program,
      // Bounds every map of the program (in-flight syscalls by tid, pending
      // handshakes by socket); bpftrace 0.17 has no per-map size.
      env: { BPFTRACE_MAP_KEYS_MAX: '16384' },
      hooks: [
        { kind: 'tracepoint', category: 'syscalls', name: 'sys_enter_connect' },
        { kind: 'tracepoint', category: 'syscalls', name: 'sys_exit_connect' },
        { kind: 'tracepoint', category: 'sock', name: 'inet_sock_set_state' },
        { kind: 'tracepoint', category: 'tcp', name: 'tcp_destroy_sock' },
      ],
      createParser: () => createSoConnectParser(host.clock),
    };
  },
};
