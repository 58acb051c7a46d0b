/**
 * Synchronous, allocation-light readers for /proc/<pid>/{stat,cmdline,exe}.
 * Used on the event hot path only on a cache miss: each call is one
 * open+read+close of a small pseudo-file (a few µs; see bench/enrich.ts).
 */
import { closeSync, openSync, readSync, readlinkSync } from 'node:fs';

const BUF = Buffer.allocUnsafe(64 * 1024);

export type ReadFailure = 'gone' | 'unreadable';

export class ProcReadError extends Error {
  constructor(
    readonly reason: ReadFailure,
    message: string,
  ) {
    super(message);
  }
}

function classify(err: unknown, what: string): ProcReadError {
  const code = (err as NodeJS.ErrnoException).code;
  // ENOENT/ESRCH: the task exited (its /proc directory is gone or a zombie without exe).
  if (code === 'ENOENT' || code === 'ESRCH') return new ProcReadError('gone', `${what}: ${code}`);
  return new ProcReadError('unreadable', `${what}: ${code ?? String(err)}`);
}

/** Reads a whole small file into the shared buffer, up to `limit` bytes; returns the length. */
function readSmall(path: string, limit: number): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw classify(err, path);
  }
  try {
    let n = 0;
    const max = Math.min(limit, BUF.length);
    for (let i = 0; i < 64 && n < max; i++) {
      const r = readSync(fd, BUF, n, max - n, null);
      if (r === 0) break;
      n += r;
    }
    return n;
  } catch (err) {
    throw classify(err, path);
  } finally {
    closeSync(fd);
  }
}

export interface ProcStat {
  comm: string;
  ppid: number;
  /** Start time in clock ticks since boot (field 22): with the pid, identifies one process instance. */
  startTime: string;
}

/** Parses /proc/<pid>/stat text. The comm may contain spaces and ')', so split at the last ')'. */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] = state (field 3), rest[1] = ppid (field 4), rest[19] = starttime (field 22)
  const ppid = Number(rest[1]);
  const startTime = rest[19];
  if (!Number.isInteger(ppid) || startTime === undefined || !/^\d+$/.test(startTime)) return undefined;
  return { comm: text.slice(open + 1, close), ppid, startTime };
}

export function readStat(procRoot: string, pid: number): ProcStat {
  const path = `${procRoot}/${pid}/stat`;
  const n = readSmall(path, 4096);
  const st = parseStat(BUF.toString('latin1', 0, n));
  if (!st) throw new ProcReadError(n === 0 ? 'gone' : 'unreadable', `${path}: unparsable`);
  return st;
}

/** The argv of a process joined with spaces (empty for kernel threads and zombies), at most maxBytes. */
export function readCmdline(procRoot: string, pid: number, maxBytes: number): string {
  const n = readSmall(`${procRoot}/${pid}/cmdline`, maxBytes);
  let end = n;
  while (end > 0 && BUF[end - 1] === 0) end--;
  for (let i = 0; i < end; i++) if (BUF[i] === 0) BUF[i] = 0x20;
  return BUF.toString('utf8', 0, end);
}

/** Target of /proc/<pid>/exe, or undefined for kernel threads/zombies (ENOENT on a live pid) and permission errors. */
export function readExe(procRoot: string, pid: number): string | undefined {
  try {
    const p = readlinkSync(`${procRoot}/${pid}/exe`);
    // An executable replaced on disk reads as "/path (deleted)".
    return p.endsWith(' (deleted)') ? p.slice(0, -' (deleted)'.length) : p;
  } catch {
    return undefined;
  }
}
