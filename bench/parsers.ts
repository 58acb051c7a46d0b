/**
 * Parser and JSON-encoder throughput, in-process, without the daemon around
 * them: the lines of a record file (bench/record.ts, cycled from real
 * captures) fed to each probe's parser, then every event encoded, side by
 * side in the same run: the JsonWriter that the Kafka and stdout exporters use (bytes into
 * one buffer per batch), against a JSON.stringify of toJsonObject per event
 * turned into bytes, and toJsonLine (the string form). Prints CPU µs per
 * event and ratios to JSON.stringify.
 *
 *   npx tsc -p . && node dist/bench/parsers.js [events] [rounds]
 */
import { toJsonLine, toJsonObject } from '../src/core/encode.js';
import { JsonWriter } from '../src/core/json-writer.js';
import type { EventType, NetEvent } from '../src/core/event.js';
import type { Clock } from '../src/core/parser.js';
import { parserFor, recordLines } from './record.js';

const N = Math.min(Math.max(Number(process.argv[2] ?? 200_000) || 200_000, 1000), 2_000_000);
const ROUNDS = Math.min(Math.max(Number(process.argv[3] ?? 5) || 5, 1), 20);

const clock: Clock = { toUnixNano: (ns) => ns + 1_700_000_000_000_000_000n };

const byProbe = new Map<EventType, string[]>();
for (const { probe, line } of await recordLines(N)) {
  let lines = byProbe.get(probe);
  if (!lines) byProbe.set(probe, (lines = []));
  lines.push(line);
}

function parseAll(probe: EventType, lines: readonly string[], out?: NetEvent[]): number {
  const p = parserFor(probe, clock);
  let n = 0;
  for (const line of lines) {
    const r = p.push(line);
    if (r.kind === 'event') {
      n++;
      out?.push(r.event);
    } else if (r.kind === 'error') throw new Error(`${probe}: ${r.message}`);
  }
  return n;
}

function time(fn: () => number): { us: number; n: number } {
  let best = Infinity;
  let n = 0;
  for (let r = 0; r < ROUNDS; r++) {
    // CPU time, not wall time: other work on the machine moves wall time far more
    const t0 = process.cpuUsage();
    n = fn();
    const c = process.cpuUsage(t0);
    const dt = c.user + c.system;
    best = Math.min(best, dt);
  }
  return { us: best, n };
}

const events: NetEvent[] = [];
console.log(`netspan parser bench: ${N} events, best of ${ROUNDS} rounds (CPU µs per event)`);
let totalUs = 0;
for (const [probe, lines] of byProbe) {
  const { us, n } = time(() => parseAll(probe, lines));
  totalUs += us;
  parseAll(probe, lines, events);
  console.log(`parse ${probe.padEnd(15)} ${n.toString().padStart(8)} events ${(us / n).toFixed(3).padStart(7)} µs`);
}
console.log(
  `parse all             ${events.length.toString().padStart(8)} events ${(totalUs / events.length).toFixed(3).padStart(7)} µs`,
);

let sink = 0;
// What the Kafka and stdout exporters do: every event's JSON bytes into one buffer per batch.
const writer = new JsonWriter(4096 * 1024);
const bytes = time(() => {
  for (let i = 0; i < events.length; i += 4096) {
    writer.pos = 0;
    for (const e of events.slice(i, i + 4096)) writer.event(e);
    sink += writer.pos;
  }
  return events.length;
});
// The obvious alternative: a JSON string per event, then its UTF-8 bytes.
const stringify = time(() => {
  for (const e of events) sink += Buffer.from(JSON.stringify(toJsonObject(e)), 'utf8').length;
  return events.length;
});
const line = time(() => {
  for (const e of events) sink += toJsonLine(e).length;
  return events.length;
});
const row = (name: string, r: { us: number; n: number }): void =>
  console.log(`${name.padEnd(40)}${(r.us / r.n).toFixed(3).padStart(7)} µs  (${(stringify.us / r.us).toFixed(2)}x)`);
row('JSON bytes, JsonWriter (Kafka, stdout)', bytes);
row('JSON bytes, JSON.stringify(toJsonObject)', stringify);
row('JSON string, toJsonLine', line);
if (sink === 0) console.log('');
