/**
 * Builds a large record file for replay benchmarks from the real probe output
 * captured on the development VM (src/probes/<name>/testdata/*.txt).
 *
 * The unit that is cycled is a whole *record* (what the parser turns into one
 * event): one line for soconnect / udpconnect / tcpretrans; `D`, blank, stack
 * frames, blank, `E` for skbdrop; the `H` [`M`] `A`* `L` lines of one lookup
 * for gethostlatency (lines of interleaved lookups in the capture are grouped
 * by their <start, tid> key). Every record is checked against the real parser
 * and kept only if it yields exactly one event and no error.
 *
 * When records are repeated, every tagged line gets a fresh timestamp (field 1,
 * the kernel's nsecs, increasing 1 µs per event): gethostlatency joins its
 * lines by <start, tid>, so this keeps repeated lookups apart, and the event
 * count the parsers produce equals the number of records written.
 */
import { createWriteStream, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_TYPES, type EventType, type NetEvent } from '../src/core/event.js';
import type { Clock, ProbeParser } from '../src/core/parser.js';
import { repoRoot } from '../src/paths.js';
import { createGetHostLatencyParser } from '../src/probes/gethostlatency/parser.js';
import { createSkbDropParser } from '../src/probes/skbdrop/parser.js';
import { createSoConnectParser } from '../src/probes/soconnect/parser.js';
import { createTcpRetransParser } from '../src/probes/tcpretrans/parser.js';
import { createUdpConnectParser } from '../src/probes/udpconnect/parser.js';
import { RECORD_MAGIC } from '../src/service/recorder.js';

/** Share of each probe in a busy node's stream (connects and DNS dominate). */
export const MIX: Record<EventType, number> = {
  soconnect: 0.35,
  gethostlatency: 0.3,
  udpconnect: 0.15,
  tcpretrans: 0.1,
  skbdrop: 0.1,
};

/** One record: its lines, with the timestamp field (index 1 of tagged lines) to be replaced. */
export type SampleRecord = string[];

const zeroClock: Clock = { toUnixNano: (ns: bigint) => ns };

/** A probe's parser, as the daemon makes it (in-process benchmarks use it too). */
export function parserFor(t: EventType, clock: Clock = zeroClock): ProbeParser {
  switch (t) {
    case 'soconnect':
      return createSoConnectParser(clock);
    case 'udpconnect':
      return createUdpConnectParser(clock);
    case 'tcpretrans':
      return createTcpRetransParser(clock);
    case 'gethostlatency':
      return createGetHostLatencyParser(clock);
    case 'skbdrop':
      return createSkbDropParser(clock, new Map([[6, 'NETFILTER_DROP']]));
  }
}

/** Exactly one event and no error, parsed alone and with a stream end after it. */
function yieldsOneEvent(t: EventType, rec: SampleRecord): boolean {
  const p = parserFor(t);
  let events = 0;
  for (const l of rec) {
    const r = p.push(l);
    if (r.kind === 'error' || r.kind === 'lost') return false;
    if (r.kind === 'event') events++;
  }
  const end = p.flush();
  if (end.kind === 'event') events++;
  return events === 1;
}

function isTagged(line: string): boolean {
  return line !== '' && line !== 'E' && line.charCodeAt(0) !== 0x20 && line.charCodeAt(0) !== 0x09;
}

function splitRecords(t: EventType, lines: string[]): SampleRecord[] {
  const body = lines.filter((l) => !l.startsWith('Attaching') && !l.startsWith('Lost ') && !l.startsWith('#'));
  if (t === 'skbdrop') {
    const out: SampleRecord[] = [];
    let cur: string[] | undefined;
    for (const l of body) {
      if (l.startsWith('D\t')) cur = [l];
      else if (cur) {
        cur.push(l);
        if (l === 'E') {
          out.push(cur);
          cur = undefined;
        }
      }
    }
    return out;
  }
  if (t === 'gethostlatency') {
    // Lines of a lookup share <start, tid>: field 2 in H/M/A, field 3 in L.
    const groups = new Map<string, string[]>();
    for (const l of body) {
      const f = l.split('\t');
      if (f.length < 3) continue;
      const key = `${f[1]}/${f[0] === 'L' ? f[3] : f[2]}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(l);
    }
    return [...groups.values()];
  }
  return body.filter((l) => l !== '').map((l) => [l]);
}

/** Whole records per probe, each checked against the real parser. */
export function sampleRecords(): Map<EventType, SampleRecord[]> {
  const out = new Map<EventType, SampleRecord[]>();
  for (const t of EVENT_TYPES) {
    const dir = join(repoRoot(), 'src/probes', t, 'testdata');
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => (f.startsWith('live') || f.startsWith('recorded')) && f.endsWith('.txt'));
    } catch {
      // no samples for this probe
    }
    const recs: SampleRecord[] = [];
    for (const f of files.sort()) {
      for (const r of splitRecords(t, readFileSync(join(dir, f), 'latin1').split('\n'))) {
        if (yieldsOneEvent(t, r)) recs.push(r);
      }
    }
    if (recs.length) out.set(t, recs);
  }
  return out;
}

/** The record with its timestamp replaced, as record-file lines ("probe\tline\n"). */
function render(t: EventType, rec: SampleRecord, ts: string): string {
  let s = '';
  for (const l of rec) {
    if (isTagged(l)) {
      const a = l.indexOf('\t');
      const b = l.indexOf('\t', a + 1);
      s += `${t}\t${l.slice(0, a + 1)}${ts}${b < 0 ? '' : l.slice(b)}\n`;
    } else s += `${t}\t${l}\n`;
  }
  return s;
}

export interface RecordInfo {
  /** Events per probe (records written). */
  events: Record<string, number>;
  lines: number;
  /** Distinct sample records per probe. */
  samples: Record<string, number>;
}

/**
 * Writes the record file with `events` records in the MIX proportions.
 * `startNs`: kernel nsecs of the first event (then +1 µs per event).
 */
export async function writeRecord(file: string, events: number, startNs = 1_000_000_000_000n): Promise<RecordInfo> {
  const samples = sampleRecords();
  const counts: Record<string, number> = {};
  const out = createWriteStream(file, { encoding: 'latin1' });
  out.write(`${RECORD_MAGIC} clock_offset_ns=0\n`);
  const order: EventType[] = [];
  // Interleave the probes (largest remainder), 100 slots per cycle.
  const acc = new Map<EventType, number>();
  for (let i = 0; i < 100; i++) {
    let best: EventType | undefined;
    for (const [t, share] of Object.entries(MIX) as [EventType, number][]) {
      if (!samples.has(t)) continue;
      const v = (acc.get(t) ?? 0) + share;
      acc.set(t, v);
      if (best === undefined || v > acc.get(best)!) best = t;
    }
    if (!best) throw new Error('no sample records found');
    order.push(best);
    acc.set(best, acc.get(best)! - 1);
  }
  let buf = '';
  let lines = 0;
  const cursor = new Map<EventType, number>();
  let ts = startNs;
  for (let written = 0; written < events; written++) {
    const t = order[written % order.length]!;
    const recs = samples.get(t)!;
    const i = cursor.get(t) ?? 0;
    cursor.set(t, (i + 1) % recs.length);
    buf += render(t, recs[i]!, String(ts));
    lines += recs[i]!.length;
    ts += 1000n;
    counts[t] = (counts[t] ?? 0) + 1;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((r) => out.end(() => r()));
  const sampleCounts: Record<string, number> = {};
  for (const [t, r] of samples) sampleCounts[t] = r.length;
  return { events: counts, lines, samples: sampleCounts };
}

/**
 * The lines of a record file of `events` events (written to a temporary file,
 * read back and removed), in file order, each as its probe and its line.
 */
export async function recordLines(events: number): Promise<{ probe: EventType; line: string }[]> {
  const file = join(tmpdir(), `netspan-bench-${process.pid}-${Date.now()}.rec`);
  await writeRecord(file, events);
  const text = readFileSync(file, 'latin1');
  rmSync(file);
  const out: { probe: EventType; line: string }[] = [];
  for (const line of text.split('\n').slice(1)) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    out.push({ probe: line.slice(0, tab) as EventType, line: line.slice(tab + 1) });
  }
  return out;
}

/**
 * The events of a record file of `events` events, in file order: every
 * probe's lines fed to its own parser (parserFor), as the daemon would.
 */
export async function recordEvents(events: number, clock: Clock = zeroClock): Promise<NetEvent[]> {
  const live = new Map<EventType, ProbeParser>();
  const out: NetEvent[] = [];
  for (const { probe, line } of await recordLines(events)) {
    let p = live.get(probe);
    if (!p) live.set(probe, (p = parserFor(probe, clock)));
    const r = p.push(line);
    if (r.kind === 'event') out.push(r.event);
    else if (r.kind === 'error') throw new Error(`${probe}: ${r.message}`);
  }
  return out;
}
