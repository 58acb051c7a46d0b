/**
 * Cost of a dropped event under overload: pushes into a full BatchQueue
 * (queue_full), counted and rate-logged, against pushes that are accepted
 * into a queue with room, in the same run. With a second built checkout
 * (--before DIR), its BatchQueue runs alternately in the same process.
 *
 *   npx tsc -p . && node dist/bench/queue-drop.js [pushes] [rounds] [--before DIR]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { NetEvent } from '../src/core/event.js';
import type { Exporter } from '../src/pipeline/component.js';
import type * as QueueModule from '../src/pipeline/batch-queue.js';
import type * as TelemetryModule from '../src/telemetry/internal-events.js';
import { connectEvent } from '../test/helpers/events.js';

const { values, positionals } = parseArgs({ options: { before: { type: 'string' } }, allowPositionals: true });
const N = Math.min(Math.max(Number(positionals[0] ?? 1_000_000) || 1_000_000, 10_000), 9_999_000); // the queue with room holds N + 1000 (max_queue_size ≤ 10M)
const ROUNDS = Math.min(Math.max(Number(positionals[1] ?? 5) || 5, 1), 50);

interface Build {
  name: string;
  BatchQueue: typeof QueueModule.BatchQueue;
  queueConfigSchema: typeof QueueModule.queueConfigSchema;
  Telemetry: typeof TelemetryModule.Telemetry;
}

async function load(name: string, dist: string): Promise<Build> {
  const q = (await import(join(dist, 'src/pipeline/batch-queue.js'))) as typeof QueueModule;
  const t = (await import(join(dist, 'src/telemetry/internal-events.js'))) as typeof TelemetryModule;
  return { name, BatchQueue: q.BatchQueue, queueConfigSchema: q.queueConfigSchema, Telemetry: t.Telemetry };
}

/** An exporter that never answers: the queue stays full. */
const stuck: Exporter = {
  start: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
  export: () => new Promise(() => undefined),
};

/** ns per push: into a full queue (every push dropped) and, for scale, into one with room. */
function round(b: Build, e: NetEvent): { dropped: number; accepted: number; count: number } {
  const t = new b.Telemetry(pino({ level: 'silent' }), undefined, 10_000);
  const full = new b.BatchQueue('full', stuck, b.queueConfigSchema.parse({ max_queue_size: 1000 }), t);
  const counted = () => t.eventsDropped.get({ component: 'full', reason: 'queue_full' });
  for (let i = 0; i < 10_000 && counted() === 0; i++) full.push(e);
  const base = counted();
  let t0 = performance.now();
  for (let i = 0; i < N; i++) full.push(e);
  const dropped = ((performance.now() - t0) * 1e6) / N;
  const room = new b.BatchQueue(
    'room',
    stuck,
    b.queueConfigSchema.parse({ max_queue_size: N + 1000, max_batch_size: 100_000, scheduled_delay_ms: 600_000 }),
    t,
  );
  t0 = performance.now();
  for (let i = 0; i < N; i++) room.push(e);
  const accepted = ((performance.now() - t0) * 1e6) / N;
  return { dropped, accepted, count: counted() - base };
}

const root = join(import.meta.dirname, '..');
const builds = [await load('current', root)];
if (values.before) builds.push(await load('before', join(values.before, 'dist')));
const e = connectEvent();
const res = new Map(builds.map((b) => [b.name, [] as ReturnType<typeof round>[]]));
for (let r = 0; r < ROUNDS + 1; r++)
  for (const b of r % 2 ? builds : [...builds].reverse()) {
    const x = round(b, e);
    if (r > 0) res.get(b.name)!.push(x); // round 0 warms up
  }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`queue drop cost, ${N.toLocaleString('en')} pushes per round, median of ${ROUNDS} rounds`);
for (const [name, xs] of res) {
  const d = median(xs.map((x) => x.dropped));
  const a = median(xs.map((x) => x.accepted));
  const counted = xs.every((x) => x.count === N) ? 'every drop counted' : 'DROPS NOT COUNTED';
  console.log(`${name.padEnd(8)} dropped push ${d.toFixed(0)} ns, accepted push ${a.toFixed(0)} ns (${counted})`);
}
if (builds.length === 2) {
  const c = median(res.get('current')!.map((x) => x.dropped));
  const b = median(res.get('before')!.map((x) => x.dropped));
  console.log(`dropped push, current ÷ before: ${(c / b).toFixed(2)}x`);
}
process.exit(0);
