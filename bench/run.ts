/**
 * Replay throughput, side by side in one run: a plain line reader (the
 * ceiling for Node), netspan to the null exporter, netspan to stdout (JSON,
 * into /dev/null). Each variant runs as its own process under
 * bench/cputime.py so CPU seconds are measured the same way for all.
 *
 *   npm run bench -- [--events N]
 */
import { execa } from 'execa';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../src/paths.js';
import { writeRecord } from './record.js';

interface Result {
  name: string;
  wall: number;
  cpu: number;
  maxrssMb: number;
}

const { values } = parseArgs({ options: { events: { type: 'string', default: '1000000' } } });
const events = Math.min(Math.max(Number(values.events), 1000), 20_000_000);
const root = repoRoot();
const dir = mkdtempSync(join(tmpdir(), 'netspan-bench-'));

async function measure(name: string, cmd: string[], stdoutFile = '/dev/null'): Promise<Result> {
  const r = await execa('python3', [join(root, 'bench/cputime.py'), ...cmd], {
    stdout: { file: stdoutFile },
    reject: false,
    timeout: 600_000,
  });
  const last = String(r.stderr).trim().split('\n').pop() ?? '{}';
  const m = JSON.parse(last) as { rc: number; wall: number; cpu: number; maxrss_kb: number };
  if (m.rc !== 0) throw new Error(`${name} failed (${m.rc}): ${String(r.stderr).slice(-2000)}`);
  return { name, wall: m.wall, cpu: m.cpu, maxrssMb: m.maxrss_kb / 1024 };
}

function pipelineFile(name: string, exporter: string): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(
    f,
    `probes: { soconnect: {}, tcpretrans: {}, gethostlatency: {}, skbdrop: {}, udpconnect: {} }
exporters: { ${exporter} }
telemetry: { log_level: warn }
pipelines:
  bench: { probes: [soconnect, tcpretrans, gethostlatency, skbdrop, udpconnect], exporters: [${exporter.split(':')[0]}] }
`,
  );
  return f;
}

const rec = join(dir, 'bench.rec');
process.stderr.write(`writing ${events} events to ${rec}...\n`);
const mix = await writeRecord(rec, events);
process.stderr.write(`mix: ${JSON.stringify(mix)}\n`);

const node = process.execPath;
const netspan = join(root, 'bin/netspan');
const results: Result[] = [];
results.push(await measure('line reader (baseline)', [node, join(root, 'dist/bench/linereader.js'), rec]));
results.push(
  await measure('netspan → null', [
    node,
    netspan,
    'run',
    '--config',
    pipelineFile('null', 'null: {}'),
    '--replay',
    rec,
  ]),
);
results.push(
  await measure('netspan → stdout json', [
    node,
    netspan,
    'run',
    '--config',
    pipelineFile('stdout', 'stdout: { format: json }'),
    '--replay',
    rec,
  ]),
);

const base = results[0]!;
const pad = (s: string, n: number) => s.padEnd(n);
process.stdout.write(
  `\nreplay of ${events} events (${Object.entries(mix)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')})\n`,
);
process.stdout.write(
  `${pad('variant', 26)} ${pad('wall s', 8)} ${pad('cpu s', 8)} ${pad('events/s', 12)} ${pad('events/cpu-s', 13)} ${pad('max RSS MB', 11)} cpu vs baseline\n`,
);
for (const r of results) {
  process.stdout.write(
    `${pad(r.name, 26)} ${pad(r.wall.toFixed(2), 8)} ${pad(r.cpu.toFixed(2), 8)} ${pad(Math.round(events / r.wall).toLocaleString('en'), 12)} ${pad(Math.round(events / r.cpu).toLocaleString('en'), 13)} ${pad(r.maxrssMb.toFixed(0), 11)} ${(r.cpu / base.cpu).toFixed(2)}x\n`,
  );
}
rmSync(dir, { recursive: true, force: true });
