/**
 * --replay: feeds a --record file through the same probe inputs as live
 * bpftrace output, as fast as the exporters accept it (waits on their queues
 * instead of dropping).
 */
import { open } from 'node:fs/promises';
import { MAX_LINE_LENGTH } from '../core/parser.js';
import type { ProbeInput } from './probe-input.js';
import { RECORD_MAGIC } from './recorder.js';

/** The clock offset stored in a record file's header line. Throws with a clear message if it is not one. */
export async function readRecordHeader(file: string): Promise<bigint> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const first = buf.subarray(0, bytesRead).toString('latin1').split('\n')[0] ?? '';
    const m = /^#netspan-record v1 clock_offset_ns=(-?\d+)$/.exec(first);
    if (!m?.[1])
      throw new Error(`${file} is not a netspan record file (first line must be "${RECORD_MAGIC} clock_offset_ns=N")`);
    return BigInt(m[1]);
  } finally {
    await fh.close();
  }
}

/**
 * Bytes per read of the record file. Each chunk becomes one latin1 string and
 * every line (and any field a parser slices from it) is a slice of that
 * string, so a retained event keeps its chunk alive: chunks must stay small.
 * 64 KiB strings are ordinary young-generation objects; from ~1 MB on, Node
 * makes latin1 strings external (malloc'd outside the V8 heap, freed only
 * when a GC finds them dead), which cost ~60 MB of peak RSS at 1 MiB.
 */
const READ_CHUNK = 64 * 1024;

export interface ReplayStats {
  lines: number;
  /** Lines for probes that are not in this configuration's pipelines, or malformed record lines. */
  skipped: number;
}

/** Lets the reader wait while exporter queues are full, instead of dropping. */
export interface BackPressure {
  /** How many more events every exporter queue should take right now. */
  freeSpace(): number;
  /** Resolves when the queues have drained enough that freeSpace() is normally positive. */
  waitForSpace(): Promise<void>;
}

/**
 * `signal`: stop reading when aborted (SIGTERM), at once, also while waiting for queue space; lines not yet handed to a probe input are not read.
 *
 * Lines are cut from each chunk where they are: a line's probe name is
 * compared in place and only the probe's part is sliced (once), with no array
 * of lines in between. A line split across two reads is joined first; a line
 * longer than MAX_LINE_LENGTH is counted as skipped, never held whole (the
 * rules of runner/line-splitter.ts, which is not used here: it hands out a
 * whole read's lines at once, and replay waits for queue space between lines).
 */
export async function replayFile(
  file: string,
  inputs: ReadonlyMap<string, ProbeInput>,
  bp: BackPressure,
  signal?: AbortSignal,
): Promise<ReplayStats> {
  const stats: ReplayStats = { lines: 0, skipped: 0 };
  let first = true;
  // Consecutive lines mostly come from the same probe: its name is compared in
  // place instead of sliced and hashed for a map lookup on every line.
  let lastName = '';
  let lastInput: ProbeInput | undefined;
  /** The line text[s, e) (no newline). */
  const handle = (text: string, s: number, e: number): void => {
    if (first) {
      first = false;
      if (text.charCodeAt(s) === 0x23 /* # */) return;
    }
    stats.lines++;
    if (e - s > MAX_LINE_LENGTH) {
      stats.skipped++;
      return;
    }
    let input: ProbeInput | undefined;
    let tab = s + lastName.length;
    if (lastInput !== undefined && tab < e && text.charCodeAt(tab) === 0x09 && text.startsWith(lastName, s)) {
      input = lastInput;
    } else {
      tab = text.indexOf('\t', s);
      input = tab > s && tab < e ? inputs.get(text.slice(s, tab)) : undefined;
      if (input !== undefined) {
        lastName = text.slice(s, tab);
        lastInput = input;
      }
    }
    if (input === undefined) {
      stats.skipped++;
      return;
    }
    input.line(text.slice(tab + 1, e));
  };
  // A line yields at most one event per pipeline; half the free space (rounded up) is a safe budget.
  let budget = 0;
  // An abort does not wait for the queues: an exporter retrying against an endpoint that is down
  // may take minutes to make room, and SIGTERM must stop within the shutdown grace period.
  const aborted = new Promise<void>((resolve) => {
    if (signal?.aborted) resolve();
    else signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  /** False when aborted while waiting. */
  const waitForBudget = async (): Promise<boolean> => {
    while (budget <= 0) {
      if (signal?.aborted) return false;
      budget = Math.ceil(bp.freeSpace() / 2);
      if (budget > 0) break;
      await Promise.race([bp.waitForSpace(), aborted]);
      if (signal?.aborted) return false;
      // never spin in microtasks if the space did not come (tiny queues, events held for
      // reordering, shutdown): let timers and I/O run
      if (bp.freeSpace() <= 0) await new Promise<void>((r) => setImmediate(r));
    }
    return true;
  };
  /** The unterminated end of the previous chunk (at most MAX_LINE_LENGTH characters). */
  let pending = '';
  /** Inside a line already counted as too long: skip up to its newline. */
  let skipping = false;
  // One read buffer for the whole replay (decoded into a new string per chunk).
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    read: for (;;) {
      if (signal?.aborted) break;
      const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
      if (bytesRead === 0) break;
      const text = buf.toString('latin1', 0, bytesRead);
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        if (signal?.aborted) break read;
        if (budget <= 0 && !(await waitForBudget())) break read;
        budget--;
        if (skipping) {
          skipping = false;
        } else if (pending.length > 0) {
          const line = pending + text.slice(start, nl);
          pending = '';
          handle(line, 0, line.length);
        } else {
          handle(text, start, nl);
        }
        start = nl + 1;
      }
      if (start < text.length && !skipping) {
        pending += text.slice(start);
        if (pending.length > MAX_LINE_LENGTH) {
          // counted now, skipped up to its newline
          handle(pending, 0, pending.length);
          pending = '';
          skipping = true;
        }
      }
    }
  } finally {
    await fh.close();
  }
  if (!signal?.aborted && pending.length > 0 && (await waitForBudget())) handle(pending, 0, pending.length);
  for (const input of inputs.values()) input.end();
  return stats;
}
