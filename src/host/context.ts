import { readFile, access } from 'node:fs/promises';
import type { HostContext } from '../probes/types.js';
import { MonotonicClock } from './clock.js';

const TRACEFS_CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** Where tracefs is mounted, or undefined when it is not. */
export async function findTracefs(): Promise<string | undefined> {
  for (const dir of TRACEFS_CANDIDATES) {
    try {
      await access(`${dir}/events`);
      return dir;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/**
 * The C library the resolver functions live in, found at run time: the one
 * mapped into this very process (Node links the system libc), else the usual
 * multiarch locations.
 */
export async function findLibc(): Promise<string | undefined> {
  try {
    const maps = await readFile('/proc/self/maps', 'utf8');
    const m = /\s(\/\S*\/libc(?:\.so\.6|-[0-9.]+\.so))$/m.exec(maps);
    if (m?.[1]) return m[1];
  } catch {
    // fall through
  }
  for (const p of [
    '/lib/x86_64-linux-gnu/libc.so.6',
    '/lib/aarch64-linux-gnu/libc.so.6',
    '/lib64/libc.so.6',
    '/usr/lib/libc.so.6',
  ]) {
    try {
      await access(p);
      return p;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export async function hostContext(clock = new MonotonicClock()): Promise<HostContext> {
  return {
    tracefs: (await findTracefs()) ?? TRACEFS_CANDIDATES[0]!,
    libcPath: (await findLibc()) ?? 'libc.so.6',
    clock,
  };
}
