/**
 * Property tests (fast-check, fixed seed, bounded runs, a time budget per line) over every probe
 * parser in the registry — new probes are covered as soon as they are
 * registered — and over the LineSplitter.
 *
 * Parser properties, for arbitrary strings, arbitrary bytes read as latin1,
 * mutations of the probe's real recorded lines, very long lines and long
 * adversarial streams: push() never throws and returns a well-formed
 * ParseResult (bounded errorType set, short message, events of the probe's
 * type with finite numbers, valid families and ports); the parser's state
 * stays bounded (flush() output and heap do not grow with the stream).
 *
 * Each probe's cases (and the LineSplitter's) run in a worker thread of this
 * same file, one job after the other (a new worker after a stall): a parser
 * stuck in a synchronous loop cannot be interrupted by the per-test timeout,
 * so the test watches the worker's progress (a counter and the line being
 * pushed, in shared memory) and terminates it when it makes no progress for
 * STALL_MS or is not done within DEADLINE_MS, failing with the input that was
 * running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { EVENT_TYPES } from '../../src/core/event.js';
import { MAX_LINE_LENGTH, type ParseResult, type ProbeParser } from '../../src/core/parser.js';
import { hostContext } from '../../src/host/context.js';
import { MonotonicClock } from '../../src/host/clock.js';
import { repoRoot } from '../../src/paths.js';
import type { ProbeDefinition } from '../../src/probes/types.js';
import { registry } from '../../src/registry.js';
import { LineSplitter } from '../../src/runner/line-splitter.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SEED = 0x6e657473; // "nets"
const RUNS = 2000;
const ERROR_TYPES = new Set([
  'unknown_tag',
  'field_count',
  'bad_number',
  'bad_value',
  'too_long',
  'orphan',
  'internal',
]);
const MAX_MESSAGE = 1024;
const show = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? 'undefined';

/** A worker making no progress (no push or flush begun) this long is stuck. */
const STALL_MS = 10_000;
/** A worker's whole job (one probe's cases) must be done within this. */
const DEADLINE_MS = 60_000;
const SNIPPET = 200;
const PHASE = 80;

/**
 * What a worker is doing, in memory the test's thread can read while the
 * worker is stuck: a count of pushes and flushes begun, the current phase,
 * and the length and first SNIPPET characters of the line being pushed
 * (length -1: a flush()).
 */
class Progress {
  private readonly ints: Int32Array; // [steps, line length, snippet length, phase length]
  private readonly chars: Uint16Array;

  constructor(readonly buffer = new SharedArrayBuffer(16 + 2 * (SNIPPET + PHASE))) {
    this.ints = new Int32Array(buffer, 0, 4);
    this.chars = new Uint16Array(buffer, 16, SNIPPET + PHASE);
  }

  phase(name: string): void {
    const n = Math.min(name.length, PHASE);
    for (let i = 0; i < n; i++) this.chars[SNIPPET + i] = name.charCodeAt(i);
    Atomics.store(this.ints, 3, n);
  }

  /** A push of `line` (undefined: a flush()) begins. */
  at(line: string | undefined): void {
    const n = line === undefined ? 0 : Math.min(line.length, SNIPPET);
    for (let i = 0; i < n; i++) this.chars[i] = line!.charCodeAt(i);
    Atomics.store(this.ints, 2, n);
    Atomics.store(this.ints, 1, line === undefined ? -1 : line.length);
    Atomics.add(this.ints, 0, 1);
  }

  steps(): number {
    return Atomics.load(this.ints, 0);
  }

  describe(): string {
    const text = (from: number, n: number) => String.fromCharCode(...this.chars.subarray(from, from + n));
    const phase = text(SNIPPET, Atomics.load(this.ints, 3));
    const len = Atomics.load(this.ints, 1);
    const where = `phase "${phase}", step ${this.steps()}`;
    if (len < 0) return `${where}: in flush()`;
    return `${where}: pushing a line of ${len} characters: ${JSON.stringify(text(0, Atomics.load(this.ints, 2)))}`;
  }
}

/** Set in a worker: where it is. */
let progress: Progress | undefined;

/** Checks one result; returns a description of what is wrong, or undefined. */
function invalid(r: ParseResult, type: string): string | undefined {
  switch (r.kind) {
    case 'none':
      return Object.keys(r).length === 1 ? undefined : 'extra keys on none';
    case 'lost':
      return Number.isSafeInteger(r.count) && r.count >= 0 ? undefined : `lost count ${r.count}`;
    case 'error':
      if (!ERROR_TYPES.has(r.errorType)) return `errorType ${String(r.errorType)}`;
      if (typeof r.message !== 'string' || r.message.length > MAX_MESSAGE)
        return `message of ${String(r.message?.length)} chars`;
      return undefined;
    case 'event': {
      const e = r.event as unknown as Record<string, unknown>;
      if (e.type !== type || !(EVENT_TYPES as readonly string[]).includes(e.type))
        return `event type ${String(e.type)}`;
      if (typeof e.timeUnixNano !== 'bigint' || e.timeUnixNano < 0n) return `timeUnixNano ${String(e.timeUnixNano)}`;
      for (const k of ['pid', 'tid', 'cgroupId'] as const) {
        const v = e[k];
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return `${k} ${String(v)}`;
      }
      if ((e.pid as number) > 0xffffffff || (e.tid as number) > 0xffffffff) return 'pid/tid above u32';
      if (typeof e.comm !== 'string') return 'comm missing';
      if (e.comm.length > 64) return `comm of ${e.comm.length} characters (a %r-printed 16-byte comm is at most 64)`;
      if ('family' in e && e.family !== undefined && e.family !== 'ipv4' && e.family !== 'ipv6')
        return `family ${show(e.family)}`;
      for (const k of ['sport', 'dport'] as const) {
        const v = e[k];
        if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535))
          return `${k} ${show(v)}`;
      }
      const bad = nonFinite(e, 'event');
      return bad;
    }
    default:
      return `kind ${String((r as { kind: unknown }).kind)}`;
  }
}

function nonFinite(x: unknown, path: string): string | undefined {
  if (typeof x === 'number') return Number.isFinite(x) ? undefined : `${path} = ${x}`;
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const b = nonFinite(x[i], `${path}[${i}]`);
      if (b) return b;
    }
  } else if (x !== null && typeof x === 'object') {
    for (const [k, v] of Object.entries(x)) {
      const b = nonFinite(v, `${path}.${k}`);
      if (b) return b;
    }
  }
  return undefined;
}

/**
 * Per-line time budget: a push slower than this is a hang in the making, e.g.
 * a regular expression backtracking on a crafted line. A slow push is timed
 * again (at least once, up to three times) on a fresh parser that is first
 * given the same parser's last HISTORY lines, so state it depends on is
 * there too; the best time counts, so a GC pause or a busy CI machine does not.
 */
const PUSH_BUDGET_MS = 25;
const HISTORY = 16;
let createParser: (() => ProbeParser) | undefined;
const histories = new WeakMap<ProbeParser, string[]>();

function timedAgain(line: string, history: readonly string[]): number {
  const fresh = createParser!();
  for (const l of history) fresh.push(l);
  progress?.at(line);
  const t0 = performance.now();
  fresh.push(line);
  return performance.now() - t0;
}

function pushChecked(p: ProbeParser, line: string, type: string): ParseResult {
  let r: ParseResult;
  let history = histories.get(p);
  if (history === undefined) histories.set(p, (history = []));
  try {
    progress?.at(line);
    const t0 = performance.now();
    r = p.push(line);
    const took = performance.now() - t0;
    if (took > PUSH_BUDGET_MS && createParser) {
      let best = took;
      // far over budget after one retry is not noise: no need to wait for it twice more
      for (let i = 0; i < 3 && best > PUSH_BUDGET_MS && (i === 0 || best < 40 * PUSH_BUDGET_MS); i++)
        best = Math.min(best, timedAgain(line, history));
      if (best > PUSH_BUDGET_MS)
        throw new Error(
          `${type}: push took ${best.toFixed(1)} ms (budget ${PUSH_BUDGET_MS}) on a line of ${line.length} characters: ${JSON.stringify(line.slice(0, 200))}`,
        );
    }
  } catch (e: unknown) {
    if (e instanceof Error && e.message.startsWith(`${type}: push took`)) throw e;
    throw new Error(`${type}: push threw ${String(e)} on ${JSON.stringify(line.slice(0, 200))}`);
  }
  history.push(line);
  if (history.length > HISTORY) history.shift();
  const why = invalid(r, type);
  if (why) throw new Error(`${type}: ${why} for ${JSON.stringify(line.slice(0, 200))}`);
  return r;
}

function flushChecked(p: ProbeParser, type: string): ParseResult {
  progress?.at(undefined);
  const r = p.flush();
  const why = invalid(r, type);
  if (why) throw new Error(`${type}: flush: ${why}`);
  return r;
}

/** fc.assert, with the property's own error message in the test failure (fast-check keeps it in `cause`). */
function check<T>(prop: fc.IProperty<T>, params: fc.Parameters<T>): void {
  try {
    fc.assert(prop, params);
  } catch (e: unknown) {
    const cause = e instanceof Error && e.cause instanceof Error ? `\nCause: ${e.cause.message}` : '';
    throw new Error(`${e instanceof Error ? e.message : String(e)}${cause}`);
  }
}

const size = (r: ParseResult): number =>
  JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).length;

/** Real recorded lines of a probe: every non-empty line of src/probes/<name>/testdata/*.txt. */
async function recordedLines(name: string): Promise<string[]> {
  const dir = join(repoRoot(), 'src/probes', name, 'testdata');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.txt')).sort();
  const lines: string[] = [];
  for (const f of files)
    for (const l of (await readFile(join(dir, f), 'latin1')).split('\n')) if (l.trim()) lines.push(l);
  return lines;
}

const WEIRD_FIELDS = [
  '',
  '-1',
  '-0',
  'NaN',
  'Infinity',
  '1e400',
  '0x1f',
  ' 1',
  '1 ',
  '+5',
  '99999999999999999999999999',
  '18446744073709551616',
  '18446744073709551615',
  '9007199254740993',
  '4294967296',
  '65536',
  '\xff\xfe\xfd',
  '\\x',
  '\\xzz',
  '\\x00',
  '\x00',
  'é',
  '\u{1F600}',
  '\r',
];

/** A real line, mutated: truncated, tabs inserted, a field replaced by a hostile value, fields dropped or duplicated, bytes appended. */
function mutatedLine(real: string[]): fc.Arbitrary<string> {
  const line = fc.constantFrom(...real);
  return fc.oneof(
    fc.tuple(line, fc.nat()).map(([l, k]) => l.slice(0, k % (l.length + 1))),
    fc.tuple(line, fc.nat(), fc.constantFrom('\t', '\t\t', '\n', '\r\n')).map(([l, k, ins]) => {
      const i = k % (l.length + 1);
      return l.slice(0, i) + ins + l.slice(i);
    }),
    fc
      .tuple(
        line,
        fc.nat(),
        fc.oneof(
          fc.constantFrom(...WEIRD_FIELDS),
          fc.string({ unit: 'binary', maxLength: 30 }),
          fc.bigInt().map(String),
        ),
      )
      .map(([l, k, v]) => {
        const f = l.split('\t');
        f[k % f.length] = v;
        return f.join('\t');
      }),
    fc.tuple(line, fc.nat(), fc.boolean()).map(([l, k, dup]) => {
      const f = l.split('\t');
      const i = k % f.length;
      if (dup) f.splice(i, 0, f[i]!);
      else f.splice(i, 1);
      return f.join('\t');
    }),
    fc.tuple(line, fc.uint8Array({ maxLength: 20 })).map(([l, b]) => l + Buffer.from(b).toString('latin1')),
  );
}

const probes = [...registry.probes.values()].map((f) => f.definition);

/** One probe's fuzz cases (run in a worker). */
async function parserFuzz(def: ProbeDefinition): Promise<void> {
  const host = { ...(await hostContext()), clock: new MonotonicClock(1_700_000_000_000_000_000n) };
  const prepared = await def.prepare(host);
  createParser = () => prepared.createParser();
  const real = await recordedLines(def.name);
  assert.ok(real.length > 0, `${def.name} has recorded lines in testdata/`);
  progress?.phase('recorded lines');
  // Sanity: the recorded lines themselves give events and no errors.
  {
    const p = prepared.createParser();
    let events = 0;
    for (const l of real) {
      const r = pushChecked(p, l, def.name);
      if (r.kind === 'event') events++;
    }
    if (flushChecked(p, def.name).kind === 'event') events++;
    assert.ok(events > 0, `${def.name}: recorded lines give events`);
  }

  const params = { seed: SEED, numRuns: RUNS, endOnFailure: true };
  // Fresh parser per run: a line on its own, then flush.
  const single = (line: string): void => {
    const p = prepared.createParser();
    pushChecked(p, line, def.name);
    flushChecked(p, def.name);
  };
  progress?.phase('arbitrary strings');
  check(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), single), params);
  progress?.phase('arbitrary bytes');
  check(
    fc.property(
      fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1')),
      single,
    ),
    params,
  );
  progress?.phase('mutated recorded lines');
  check(fc.property(mutatedLine(real), single), params);
  progress?.phase('streams');
  // Streams: real and mutated lines interleaved through one parser (multi-line state).
  check(
    fc.property(
      fc.array(fc.oneof(fc.constantFrom(...real), mutatedLine(real), fc.constant('')), { maxLength: 60 }),
      (lines) => {
        const p = prepared.createParser();
        for (const l of lines) pushChecked(p, l, def.name);
        flushChecked(p, def.name);
      },
    ),
    { ...params, numRuns: RUNS / 4 },
  );
  // Very long lines around the limit.
  progress?.phase('long lines');
  check(
    fc.property(
      fc.constantFrom(...real),
      fc.integer({ min: MAX_LINE_LENGTH - 50, max: MAX_LINE_LENGTH + 50 }),
      fc.constantFrom('x', '\t', '9', '\\x41'),
      (l, len, fill) => {
        const line = (l + fill.repeat(Math.ceil(len / fill.length))).slice(0, len);
        const p = prepared.createParser();
        const r = pushChecked(p, line, def.name);
        if (line.length > MAX_LINE_LENGTH) assert.equal(r.kind === 'error' && r.errorType, 'too_long');
        flushChecked(p, def.name);
      },
    ),
    { ...params, numRuns: 40 },
  );
  // Lines made of one fragment repeated up to the length limit: the shape that makes a
  // backtracking regular expression take quadratic or exponential time (PUSH_BUDGET_MS).
  progress?.phase('repeated fragments');
  check(
    fc.property(
      fc.constantFrom(...real),
      fc.array(fc.constantFrom('\\x', '\\', '\t', '1', '.', ':', ' ', 'a', '%', '0x', '-', '\xff'), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.nat(),
      (l, frag, k) => {
        const unit = frag.join('');
        const keep = l.slice(0, k % (l.length + 1));
        const line = (keep + unit.repeat(Math.ceil(MAX_LINE_LENGTH / unit.length))).slice(0, MAX_LINE_LENGTH);
        const p = prepared.createParser();
        pushChecked(p, line, def.name);
        flushChecked(p, def.name);
      },
    ),
    { ...params, numRuns: 60 },
  );
  progress?.phase('1 MiB line');
  const huge = pushChecked(prepared.createParser(), real[real.length - 1]! + 'y'.repeat(1 << 20), def.name);
  assert.equal(huge.kind === 'error' && huge.errorType, 'too_long');

  // Bounded state: each distinct recorded line repeated, and with a changing second
  // field (a new key for parsers that pair lines), 4000 times without a terminator.
  const distinct = [...new Set(real)].slice(0, 40);
  progress?.phase('bounded state');
  const p = prepared.createParser();
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  let maxFlush = 0;
  let pushed = 0;
  for (const l of distinct) {
    const f = l.split('\t');
    for (let i = 0; i < 4000; i++) {
      if (f.length > 1 && i % 2 === 1) f[1] = String(1_000_000_000 + i * 1009 + pushed);
      pushChecked(p, i % 2 === 1 ? f.join('\t') : l, def.name);
      pushed++;
    }
    // Not flushing here: state accumulates across the whole stream if it is unbounded.
  }
  gc();
  const grew = process.memoryUsage().heapUsed - heap0;
  const last = flushChecked(p, def.name);
  maxFlush = Math.max(maxFlush, size(last));
  assert.ok(grew < 24 * 1024 * 1024, `${def.name}: heap grew ${(grew / 1048576).toFixed(1)} MiB over ${pushed} lines`);
  assert.ok(maxFlush < 64 * 1024, `${def.name}: flush() returned ${maxFlush} characters after ${pushed} lines`);
  // And the parser still works after all that.
  progress?.phase('recorded lines again');
  const again = prepared.createParser();
  let events = 0;
  for (const l of real) if (pushChecked(again, l, def.name).kind === 'event') events++;
  if (flushChecked(again, def.name).kind === 'event') events++;
  assert.ok(events > 0);
}

/** The reference: split on \n; complete lines longer than max are reported, not emitted; an unterminated tail is emitted by end(). */
function referenceSplit(text: string, max: number): { lines: string[]; overlong: number } {
  const parts = text.split('\n');
  const tail = parts.pop()!;
  const lines: string[] = [];
  let overlong = 0;
  for (const p of parts) {
    if (p.length > max) overlong++;
    else lines.push(p);
  }
  if (tail.length > max) overlong++;
  else if (tail.length > 0) lines.push(tail);
  return { lines, overlong };
}

/** The LineSplitter's fuzz cases (run in a worker). */
function lineSplitterFuzz(): void {
  progress?.phase('line splitter');
  const text = fc
    .array(
      fc.oneof(
        fc.string({ unit: fc.constantFrom('a', 'b', '\t', '\n', '\xff', '\r'), maxLength: 40 }),
        fc.constant('\n'),
        fc.constant(''),
      ),
      { maxLength: 30 },
    )
    .map((a) => a.join(''));
  check(
    fc.property(
      text,
      fc.array(fc.nat({ max: 50 }), { maxLength: 40 }),
      fc.integer({ min: 1, max: 30 }),
      (t, cuts, max) => {
        progress?.at(t);
        const lines: string[] = [];
        const overlong: number[] = [];
        const s = new LineSplitter(
          (l) => lines.push(l),
          (n) => overlong.push(n),
          max,
        );
        let at = 0;
        for (const c of cuts) {
          if (at >= t.length) break;
          s.push(t.slice(at, at + c));
          at += c;
        }
        if (at < t.length) s.push(t.slice(at));
        s.end();
        const ref = referenceSplit(t, max);
        assert.deepEqual(lines, ref.lines);
        assert.equal(overlong.length, ref.overlong);
        for (const n of overlong) assert.ok(n > max);
      },
    ),
    { seed: SEED, numRuns: 5000, endOnFailure: true },
  );
}

const LINE_SPLITTER = 'line splitter';

/** The worker the jobs run in, one after the other (one V8 warm-up for all); replaced after a stall. */
interface Runner {
  worker: Worker;
  seen: Progress;
  error?: Error;
}
let runner: Runner | undefined;

function startRunner(): Runner {
  const seen = new Progress();
  const r: Runner = { worker: new Worker(new URL(import.meta.url), { workerData: seen.buffer }), seen };
  r.worker.on('error', (e) => (r.error = e));
  r.worker.unref(); // idle between tests; the watchdog keeps the test alive while a job runs
  return r;
}

/**
 * Runs `job` (a probe's name or LINE_SPLITTER) in the worker; fails with the
 * worker's error when a case fails, and with the input being pushed when the
 * worker makes no progress for STALL_MS or is not done within DEADLINE_MS
 * (the worker is then terminated).
 */
async function inWorker(job: string): Promise<void> {
  const r = (runner ??= startRunner());
  const started = Date.now();
  let steps = r.seen.steps();
  let movedAt = started;
  await new Promise<void>((resolve, reject) => {
    const finish = (e?: Error): void => {
      clearInterval(watchdog);
      r.worker.off('message', onMessage).off('exit', onExit);
      if (e) reject(e);
      else resolve();
    };
    const onMessage = (m: { job: string; error?: { message: string; stack: string } }): void => {
      if (m.job !== job) return;
      if (!m.error) return finish();
      const e = new Error(m.error.message);
      e.stack = m.error.stack;
      finish(e);
    };
    const onExit = (code: number): void => {
      if (runner === r) runner = undefined;
      finish(new Error(`${job}: worker exited (code ${code}): ${r.error?.stack ?? 'no error'}`));
    };
    const watchdog = setInterval(() => {
      const now = Date.now();
      if (r.seen.steps() !== steps) {
        steps = r.seen.steps();
        movedAt = now;
      }
      const why =
        now - movedAt > STALL_MS
          ? `no progress for ${STALL_MS} ms`
          : now - started > DEADLINE_MS
            ? `not done within ${DEADLINE_MS} ms`
            : undefined;
      if (!why) return;
      runner = undefined;
      finish(new Error(`${job}: ${why}; worker terminated at ${r.seen.describe()}`));
      void r.worker.terminate();
    }, 100);
    r.worker.on('message', onMessage).on('exit', onExit);
    r.worker.postMessage(job);
  });
}

if (isMainThread) {
  void test('the registry has probes to fuzz', () => {
    assert.ok(probes.length >= 3, `${probes.length} probes`);
  });
  for (const def of probes)
    void test(`parser fuzz: ${def.name}`, { timeout: DEADLINE_MS + 10_000 }, () => inWorker(def.name));
  void test(
    'line splitter: any chunking gives the same lines as a plain split',
    { timeout: DEADLINE_MS + 10_000 },
    () => inWorker(LINE_SPLITTER),
  );
} else {
  progress = new Progress(workerData as SharedArrayBuffer);
  const port = parentPort!;
  port.on('message', (job: string) => {
    const run = async (): Promise<void> =>
      job === LINE_SPLITTER ? lineSplitterFuzz() : parserFuzz(probes.find((d) => d.name === job)!);
    run().then(
      () => port.postMessage({ job }),
      (e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        port.postMessage({ job, error: { message: err.message, stack: err.stack ?? err.message } });
      },
    );
  });
}
