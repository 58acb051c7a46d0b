/**
 * Builds a large record file for replay benchmarks from the real probe output
 * captured on this machine (src/probes/<name>/testdata/*.txt): the event lines
 * are cycled in a realistic mix until `events` lines are written.
 */
import { createWriteStream } from 'node:fs';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES, type EventType } from '../src/core/event.js';
import { repoRoot } from '../src/paths.js';
import { RECORD_MAGIC } from '../src/service/recorder.js';

/** Share of each probe in a busy node's stream (connects and DNS dominate). */
export const MIX: Record<EventType, number> = { soconnect: 0.35, gethostlatency: 0.3, udpconnect: 0.15, tcpretrans: 0.1, skbdrop: 0.1 };

/** Real event lines per probe (banner and lost-event lines excluded). */
export function sampleLines(): Map<EventType, string[]> {
  const out = new Map<EventType, string[]>();
  for (const t of EVENT_TYPES) {
    const dir = join(repoRoot(), 'src/probes', t, 'testdata');
    const lines: string[] = [];
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.startsWith('live') && f.endsWith('.txt'));
    } catch {
      // no samples for this probe
    }
    for (const f of files) {
      for (const l of readFileSync(join(dir, f), 'latin1').split('\n')) {
        if (l && !l.startsWith('Attaching') && !l.startsWith('Lost') && !l.startsWith('#')) lines.push(l);
      }
    }
    if (lines.length) out.set(t, lines);
  }
  return out;
}

/** Writes the record file; returns the number of lines per probe. */
export async function writeRecord(file: string, events: number): Promise<Record<string, number>> {
  const samples = sampleLines();
  const counts: Record<string, number> = {};
  const out = createWriteStream(file, { encoding: 'latin1' });
  out.write(`${RECORD_MAGIC} clock_offset_ns=0\n`);
  const order: EventType[] = [];
  for (const [t, share] of Object.entries(MIX) as [EventType, number][]) {
    if (samples.has(t)) for (let i = 0; i < Math.round(share * 100); i++) order.push(t);
  }
  let buf = '';
  let written = 0;
  // Multi-line records (skbdrop stacks) count as one event; cycle whole records.
  const cursor = new Map<EventType, number>();
  while (written < events) {
    const t = order[written % order.length]!;
    const lines = samples.get(t)!;
    const i = cursor.get(t) ?? 0;
    cursor.set(t, (i + 1) % lines.length);
    buf += `${t}\t${lines[i]}\n`;
    counts[t] = (counts[t] ?? 0) + 1;
    written++;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((r) => out.end(() => r()));
  return counts;
}
