import type { NetEvent } from './event.js';

/**
 * Bounded set of reasons a probe-output line can be rejected for. Used as the
 * `error_type` label of `netspan_parse_errors_total`, so it must stay small.
 */
export type ParseErrorType =
  | 'unknown_tag' // line does not start with a tag this probe emits
  | 'field_count' // wrong number of tab-separated fields (truncated line)
  | 'bad_number' // a numeric field is not a number
  | 'bad_value' // a field has a value outside its domain (family, state, ...)
  | 'too_long' // line longer than the parser accepts
  | 'orphan' // continuation line with no event to attach to (e.g. a stack frame)
  | 'internal'; // the parser itself failed (a bug); the line is counted, the daemon goes on

export type ParseResult =
  | { kind: 'event'; event: NetEvent }
  /** bpftrace reported that the kernel ring buffer overflowed: `count` events were lost. */
  | { kind: 'lost'; count: number }
  | { kind: 'error'; errorType: ParseErrorType; message: string }
  /** Line consumed without producing anything yet (banner, blank line, first half of a multi-line event). */
  | { kind: 'none' };

/** The result of a line that yields nothing (one shared object: no allocation per line). */
export const PARSE_NONE: ParseResult = Object.freeze({ kind: 'none' });

/** Converts the kernel's CLOCK_MONOTONIC nanoseconds (bpftrace `nsecs`) to wall-clock ns since the epoch. */
export interface Clock {
  toUnixNano(monotonicNs: bigint): bigint;
}

/**
 * A parser for one probe's stdout. One instance per running bpftrace process
 * (it may keep state across lines, e.g. for multi-line kernel stacks).
 * `push` never throws: every line yields exactly one ParseResult.
 */
export interface ProbeParser {
  push(line: string): ParseResult;
  /**
   * End of stream: returns one pending multi-line event (or an error for a
   * pending one that cannot be completed). Called again until it returns
   * `none`, so a parser holding several pending events hands out each.
   */
  flush(): ParseResult;
}

export const MAX_LINE_LENGTH = 64 * 1024;
