import { readFile, access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProbeDefinition } from '../types.js';
import { createSoConnectParser } from './parser.js';

let repoRootCache: string | undefined;

/**
 * The repository root (the directory holding package.json), found by walking
 * up from this module: it runs from src/probes/x/ under ts-node-like loaders
 * and from dist/src/probes/x/ once compiled.
 */
export async function repoRoot(): Promise<string> {
  if (repoRootCache !== undefined) return repoRootCache;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    try {
      await access(join(dir, 'package.json'));
      repoRootCache = dir;
      return dir;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(`cannot find the netspan repository root (package.json) above ${fileURLToPath(import.meta.url)}`);
}

/** Reads probes/<name>/<name>.bt from the repository. */
export async function readProbeProgram(name: string): Promise<string> {
  return readFile(join(await repoRoot(), 'probes', name, `${name}.bt`), 'utf8');
}

export const soconnectProbe: ProbeDefinition = {
  name: 'soconnect',
  description: 'TCP connect(2) attempts (IPv4/IPv6) with their handshake result and latency, non-blocking connects followed to completion',
  async prepare(host) {
    const program = await readProbeProgram('soconnect');
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
