/**
 * Parser and JSON-encoder throughput, in-process, without the daemon around
 * them: the lines of a record file (bench/record.ts, cycled from real
 * captures) fed to each probe's parser, then every event encoded with
 * toJsonLine, side by side with JSON.stringify(toJsonObject(e)) in the same
 * run. Prints µs per event and ratios.
 *
 *   npx tsc -p . && node dist/bench/parsers.js [events] [rounds]
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toJsonLine, toJsonObject } from '../src/core/encode.js';
import type { NetEvent } from '../src/core/event.js';
import type { Clock, ProbeParser } from '../src/core/parser.js';
import { createGetHostLatencyParser } from '../src/probes/gethostlatency/parser.js';
import { createSkbDropParser } from '../src/probes/skbdrop/parser.js';
import { createSoConnectParser } from '../src/probes/soconnect/parser.js';
import { createTcpRetransParser } from '../src/probes/tcpretrans/parser.js';
import { createUdpConnectParser } from '../src/probes/udpconnect/parser.js';
import { writeRecord } from './record.js';

const N = Math.min(Math.max(Number(process.argv[2] ?? 200_000) || 200_000, 1000), 2_000_000);
const ROUNDS = Math.min(Math.max(Number(process.argv[3] ?? 5) || 5, 1), 20);

const clock: Clock = { toUnixNano: (ns) => ns + 1_700_000_000_000_000_000n };
const parsers: Record<string, () => ProbeParser> = {
  soconnect: () => createSoConnectParser(clock),
  udpconnect: () => createUdpConnectParser(clock),
  tcpretrans: () => createTcpRetransParser(clock),
  gethostlatency: () => createGetHostLatencyParser(clock),
  skbdrop: () => createSkbDropParser(clock, new Map([[6, 'NETFILTER_DROP']])),
};

const file = join(tmpdir(), `netspan-bench-parsers-${process.pid}.rec`);
await writeRecord(file, N);
const byProbe = new Map<string, string[]>();
for (const line of readFileSync(file, 'latin1').split('\n').slice(1)) {
  const tab = line.indexOf('\t');
  if (tab < 0) continue;
  const probe = line.slice(0, tab);
  let lines = byProbe.get(probe);
  if (!lines) byProbe.set(probe, (lines = []));
  lines.push(line.slice(tab + 1));
}
rmSync(file);

function parseAll(probe: string, lines: readonly string[], out?: NetEvent[]): number {
  const p = parsers[probe]!();
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
const line = time(() => {
  for (const e of events) sink += toJsonLine(e).length;
  return events.length;
});
const stringify = time(() => {
  for (const e of events) sink += JSON.stringify(toJsonObject(e)).length;
  return events.length;
});
console.log(`toJsonLine                              ${(line.us / line.n).toFixed(3).padStart(7)} µs`);
console.log(
  `JSON.stringify(toJsonObject)            ${(stringify.us / stringify.n).toFixed(3).padStart(7)} µs  (toJsonLine ${(stringify.us / line.us).toFixed(2)}x faster)`,
);
if (sink === 0) console.log('');
