/**
 * OTLP log encoding throughput, in-process: the events of a record file
 * (bench/record.ts, cycled from real captures, parsed by the probes' parsers)
 * encoded the way OtlpExporter.buildLogs() does (resourceAttributes,
 * ResourceCache, LogEncoder writing the record's attributes from the event,
 * then RequestAssembler per 512-event batch; +span: with a span context,
 * as build() does with traces on, from splitAttributes' record object).
 * With a second built checkout, its logs-proto.js runs alternately in the
 * same process and the bytes of both are compared. --after DIR takes
 * "current" from a built copy too (e.g. `cp -r dist /tmp/cur/`): this file's
 * own encoder shares its modules with the split row, whose calls change V8's
 * type feedback, so compare two copies.
 *
 *   npx tsc -p . && node dist/bench/otlp-logs.js [events] [rounds] [--before DIR [--after DIR]]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Resource } from '@opentelemetry/resources';
import type { NetEvent } from '../src/core/event.js';
import type { Clock } from '../src/core/parser.js';
import { resourceAttributes, splitAttributes, type Attrs } from '../src/otel/attributes.js';
import { SpanRef } from '../src/exporters/otlp/ids.js';
import { LogEncoder } from '../src/exporters/otlp/logs-proto.js';
import { RequestAssembler } from '../src/exporters/otlp/request.js';
import { ResourceCache } from '../src/exporters/otlp/resources.js';
import { recordEvents } from './record.js';

const { values, positionals } = parseArgs({
  options: { before: { type: 'string' }, after: { type: 'string' } },
  allowPositionals: true,
});
const N = Math.min(Math.max(Number(positionals[0] ?? 200_000) || 200_000, 1000), 2_000_000);
const ROUNDS = Math.min(Math.max(Number(positionals[1] ?? 5) || 5, 1), 50);
const BATCH = 512;

interface Encoder {
  begin(observedUnixNano: bigint): void;
  add(e: NetEvent, record: Attrs | undefined, resource: Resource, span: SpanRef | undefined): void;
  finish(): unknown[];
}
interface Assembler {
  assemble(records: never[]): Uint8Array;
}
interface Impl {
  name: string;
  LogEncoder: new () => Encoder;
  RequestAssembler: new (scope: { name: string; version?: string }) => Assembler;
}

const clock: Clock = { toUnixNano: (ns) => ns + 1_700_000_000_000_000_000n };

const events = await recordEvents(N, clock);
const resources = new ResourceCache({}, 'netspan-host');
const span = SpanRef.fromHex('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331');
const scope = { name: 'netspan', version: '0.1.0' };

/** Encode and assemble every event in batches; returns request bytes (all of them when `keep`). */
function run(impl: Impl, withSpan: boolean, keep?: Uint8Array[]): number {
  const enc = new impl.LogEncoder();
  const asm = new impl.RequestAssembler(scope);
  let bytes = 0;
  for (let i = 0; i < events.length; i += BATCH) {
    enc.begin(1_763_000_100_000_000_007n);
    const end = Math.min(events.length, i + BATCH);
    for (let j = i; j < end; j++) {
      const e = events[j]!;
      if (withSpan) {
        // build() with traces on
        const { resource, record } = splitAttributes(e);
        enc.add(e, record, resources.get(resource), withSpan ? span : undefined);
      } else enc.add(e, undefined, resources.get(resourceAttributes(e)), undefined);
    }
    const req = asm.assemble(enc.finish() as never[]);
    bytes += req.length;
    keep?.push(req);
  }
  return bytes;
}

/** CPU µs (user + system) of one run: the machine is shared, wall time would count others' work. */
function timeUs(impl: Impl, withSpan: boolean): number {
  const t0 = process.cpuUsage();
  run(impl, withSpan);
  const t = process.cpuUsage(t0);
  return t.user + t.system;
}

/** A built checkout's encoder (builds before request.ts had the assembler in logs-proto.js, as LogRequestAssembler). */
async function encoderOf(dir: string): Promise<Omit<Impl, 'name'>> {
  const logs = (await import(join(dir, 'dist/src/exporters/otlp/logs-proto.js'))) as Record<string, unknown>;
  const request = logs.LogRequestAssembler
    ? { RequestAssembler: logs.LogRequestAssembler }
    : ((await import(join(dir, 'dist/src/exporters/otlp/request.js'))) as Record<string, unknown>);
  return { LogEncoder: logs.LogEncoder, RequestAssembler: request.RequestAssembler } as Omit<Impl, 'name'>;
}
const impls: Impl[] = [
  { name: 'current', ...(values.after ? await encoderOf(values.after) : { LogEncoder, RequestAssembler }) },
];
if (values.before) impls.unshift({ name: 'before', ...(await encoderOf(values.before)) });

// same bytes from every implementation
if (impls.length > 1) {
  for (const withSpan of [false, true]) {
    const outs = impls.map((impl) => {
      const keep: Uint8Array[] = [];
      run(impl, withSpan, keep);
      return Buffer.concat(keep);
    });
    if (!outs[0]!.equals(outs[1]!)) throw new Error(`before and current requests differ (span: ${withSpan})`);
  }
  console.log('before and current requests are identical');
}

const best = new Map<string, number>();
for (let r = 0; r < ROUNDS; r++) {
  for (const impl of impls) {
    for (const withSpan of [false, true]) {
      const k = `${impl.name}${withSpan ? ' +span' : ''}`;
      best.set(k, Math.min(best.get(k) ?? Infinity, timeUs(impl, withSpan)));
    }
  }
}
// what the encoder works from, alone: the attributes split and the resource looked up
const split = (): number => {
  let n = 0;
  for (const e of events) {
    const { resource, record } = splitAttributes(e);
    if (resources.get(resource) && record) n++;
  }
  return n;
};
let splitBest = Infinity;
for (let r = 0; r < ROUNDS; r++) {
  const t0 = process.cpuUsage();
  split();
  const t = process.cpuUsage(t0);
  splitBest = Math.min(splitBest, t.user + t.system);
}
const size = run(impls[impls.length - 1]!, false);
console.log(
  `otlp logs bench: ${events.length} events, ${(size / events.length).toFixed(0)} request bytes/event, best of ${ROUNDS} rounds`,
);
for (const [k, us] of best) console.log(`${k.padEnd(16)} ${(us / events.length).toFixed(3).padStart(7)} µs/event`);
console.log(
  `of which split  ${(splitBest / events.length).toFixed(3).padStart(7)} µs/event (splitAttributes + ResourceCache.get)`,
);
