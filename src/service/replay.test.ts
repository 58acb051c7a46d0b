import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { MAX_LINE_LENGTH } from '../core/parser.js';
import type { ProbeInput } from './probe-input.js';
import { replayFile, type BackPressure, type ReplayStats } from './replay.js';

const NAMES = ['soconnect', 'skbdrop', 'udpconnect'];

/** Probe inputs that record what they were given, in one shared list; `onLine` sees it after each line. */
function recordingInputs(onLine?: (got: readonly string[]) => void): {
  inputs: Map<string, ProbeInput>;
  got: string[];
  ended: string[];
} {
  const got: string[] = [];
  const ended: string[] = [];
  const inputs = new Map<string, ProbeInput>();
  for (const name of NAMES) {
    const line = (l: string): void => {
      got.push(`${name}|${l}`);
      onLine?.(got);
    };
    const fake = { line, end: () => ended.push(name) };
    inputs.set(name, fake as unknown as ProbeInput);
  }
  return { inputs, got, ended };
}

const unbounded: BackPressure = { freeSpace: () => 1e9, waitForSpace: () => Promise.resolve() };

/** What replayFile must do with `text`, written the plain way: split it all, then look at each line. */
function expected(text: string): { got: string[]; stats: ReplayStats } {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0]?.startsWith('#')) lines.shift();
  const got: string[] = [];
  let skipped = 0;
  for (const line of lines) {
    const tab = line.indexOf('\t');
    const name = tab > 0 ? line.slice(0, tab) : '';
    if (line.length > MAX_LINE_LENGTH || !NAMES.includes(name)) skipped++;
    else got.push(`${name}|${line.slice(tab + 1)}`);
  }
  return { got, stats: { lines: lines.length, skipped } };
}

async function replayText(
  text: string,
  bp = unbounded,
  signal?: AbortSignal,
  onLine?: (got: readonly string[]) => void,
) {
  const dir = await mkdtemp(join(tmpdir(), 'netspan-replay-'));
  try {
    const file = join(dir, 'rec.txt');
    await writeFile(file, text, 'latin1');
    const r = recordingInputs(onLine);
    const stats = await replayFile(file, r.inputs, bp, signal);
    return { ...r, stats };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void test('replay hands every line to its probe exactly as a plain split would: lines across reads, over-long, unknown, no tab, no final newline (property, fixed seed)', async () => {
  const line = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({ name: fc.constantFrom(...NAMES, 'unknown', ''), len: fc.integer({ min: 0, max: 300 }) }),
    },
    // long and over-long lines: they span 64 KiB reads, and the limit is MAX_LINE_LENGTH
    {
      weight: 1,
      arbitrary: fc.record({
        name: fc.constantFrom(...NAMES),
        len: fc.oneof(
          fc.integer({ min: 20_000, max: 140_000 }),
          fc.constantFrom(MAX_LINE_LENGTH - 1, MAX_LINE_LENGTH, MAX_LINE_LENGTH + 1),
        ),
      }),
    },
    // a line without a tab
    { weight: 1, arbitrary: fc.record({ name: fc.constant(null), len: fc.integer({ min: 0, max: 100 }) }) },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(line, { minLength: 0, maxLength: 400 }),
      fc.boolean(),
      fc.boolean(),
      fc.integer({ min: 0, max: 1e6 }),
      async (lines, header, finalNewline, seed) => {
        // `len` is the whole line's length; the i in it keeps lines apart
        const body = lines.map(({ name, len }, i) => {
          const fill = String.fromCharCode(0x21 + ((seed + i) % 90));
          const head = name === null ? `${i}:` : `${name}\t${i}:`;
          return head + fill.repeat(Math.max(len - head.length, 0));
        });
        let text = (header ? ['#netspan-record v1 clock_offset_ns=0', ...body] : body).join('\n');
        if (finalNewline && text.length > 0) text += '\n';
        const r = await replayText(text);
        const want = expected(text);
        assert.deepEqual(r.stats, want.stats);
        assert.equal(r.got.length, want.got.length);
        assert.ok(
          r.got.every((g, i) => g === want.got[i]),
          'lines differ',
        );
        assert.deepEqual(r.ended, NAMES, 'every input is ended once');
      },
    ),
    { seed: 20261122, numRuns: 60 },
  );
});

void test('replay waits for back-pressure between lines and never hands more lines than the free space allowed', async () => {
  const text = Array.from({ length: 5000 }, (_, i) => `soconnect\tline ${i}`).join('\n') + '\n';
  let free = 0;
  let waits = 0;
  let handed = 0;
  const bp: BackPressure = {
    freeSpace: () => free,
    waitForSpace: () => {
      waits++;
      free = 10; // room for 10 more, then the reader must wait again
      handed = 0;
      return Promise.resolve();
    },
  };
  const dir = await mkdtemp(join(tmpdir(), 'netspan-replay-'));
  try {
    const file = join(dir, 'rec.txt');
    await writeFile(file, text, 'latin1');
    const r = recordingInputs();
    const input = r.inputs.get('soconnect')!;
    const orig = input.line.bind(input);
    input.line = (l: string) => {
      assert.ok(free > 0, 'a line handed out with no free space');
      handed++;
      free--;
      assert.ok(handed <= 10, `${handed} lines handed on a free space of 10`);
      orig(l);
    };
    const stats = await replayFile(file, r.inputs, bp);
    assert.deepEqual(stats, { lines: 5000, skipped: 0 });
    assert.equal(r.got.length, 5000);
    assert.equal(r.got[4999], 'soconnect|line 4999');
    // budgets of half the free space, rounded up (5, 3, 1, 1): all 10 used before each wait
    assert.equal(waits, 500);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test('replay stops handing lines out once aborted, and still ends every input', async () => {
  const text = Array.from({ length: 50_000 }, (_, i) => `skbdrop\tline ${i}`).join('\n') + '\n';
  const ac = new AbortController();
  const r = await replayText(text, unbounded, ac.signal, (got) => {
    if (got.length === 1234) ac.abort();
  });
  assert.equal(r.got.length, 1234);
  assert.equal(r.stats.lines, 1234);
  assert.deepEqual(r.ended, NAMES);
});

void test('an abort while replay waits for queue space that never comes (exporter endpoint down) ends the replay at once', async () => {
  const text = Array.from({ length: 1000 }, (_, i) => `skbdrop\tline ${i}`).join('\n') + '\n';
  const ac = new AbortController();
  // room for 10 events, then the queues never drain
  let free = 10;
  let waits = 0;
  const stuck: BackPressure = {
    freeSpace: () => free,
    waitForSpace: () => {
      waits++;
      setTimeout(() => ac.abort(), 20);
      return new Promise<void>(() => {});
    },
  };
  const t0 = Date.now();
  const r = await replayText(text, stuck, ac.signal, () => free--);
  assert.ok(Date.now() - t0 < 2000, `replay ended ${Date.now() - t0} ms after it started`);
  assert.equal(waits, 1);
  // the ten lines there was room for, then nothing
  assert.deepEqual(
    r.got,
    Array.from({ length: 10 }, (_, i) => `skbdrop|line ${i}`),
  );
  assert.equal(r.stats.lines, 10);
  assert.deepEqual(r.ended, NAMES);
});
