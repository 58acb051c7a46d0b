import { applyFilter } from '../filter.js';
import { readProbeProgram } from '../program.js';
import type { Hook, ProbeDefinition } from '../types.js';
import { createGetHostLatencyParser } from './parser.js';

export const RESOLVER_FUNCS = ['getaddrinfo', 'gethostbyname', 'gethostbyname2'] as const;

/**
 * The program prints host names with str(name, 128) / str(name + 127, 129):
 * bpftrace 0.17 sizes every str() buffer by BPFTRACE_STRLEN (default 64, max 200).
 */
export const GETHOSTLATENCY_ENV: Record<string, string> = { BPFTRACE_STRLEN: '129' };

export function substituteLibc(program: string, libcPath: string): string {
  if (!libcPath.startsWith('/') || /[\s:"]/.test(libcPath)) {
    throw new Error(
      `gethostlatency: unusable libc path ${JSON.stringify(libcPath)} (need an absolute path without spaces or ':')`,
    );
  }
  return program.replaceAll('__LIBC__', libcPath);
}

export const gethostlatencyProbe: ProbeDefinition = {
  name: 'gethostlatency',
  description:
    'libc resolver calls (getaddrinfo, gethostbyname, gethostbyname2): host, latency, result and resolved addresses',
  filterable: true,
  async prepare(host, options) {
    const text = applyFilter(await readProbeProgram('gethostlatency'), options?.filter);
    const program = substituteLibc(text, host.libcPath);
    const hooks: Hook[] = [];
    for (const symbol of RESOLVER_FUNCS) {
      hooks.push(
        { kind: 'uprobe', binary: host.libcPath, symbol },
        { kind: 'uretprobe', binary: host.libcPath, symbol },
      );
    }
    return {
      program,
      env: { ...GETHOSTLATENCY_ENV },
      hooks,
      createParser: () => createGetHostLatencyParser(host.clock),
    };
  },
};
