/**
 * Kafka exporter cost per event, in-process: the events of a record file
 * (bench/record.ts, parsed by the probes' parsers) exported in batches of 512
 * by KafkaExporter (encoding json, netspan's producer, acks all) to a
 * librdkafka mock cluster (kcat, its own process: not counted), each batch
 * awaited as the pipeline queue does. Beside it, in the same rounds: the JSON
 * alone, written the way the exporter writes it (one JsonWriter per batch).
 * CPU is process.cpuUsage(): every thread of this process, so garbage
 * collection on V8's helper threads is counted.
 *
 * --before DIR: a second built checkout whose exporter runs alternately with
 * ours in the same process. --after DIR: take "current" from a built copy
 * too (e.g. `cp -r dist /tmp/cur/`): this file's own exporter shares its
 * modules (JsonWriter, keys) with the rows above it, whose calls change V8's
 * type feedback; measured 3-7% against it, so compare two copies.
 *
 *   npx tsc -p . && node dist/bench/kafka-export.js [events] [rounds] [--before DIR [--after DIR]]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { JsonWriter } from '../src/core/json-writer.js';
import type { Clock } from '../src/core/parser.js';
import { kafkaConfigSchema } from '../src/exporters/kafka/config.js';
import { keyInto, typeConst } from '../src/exporters/kafka/encode.js';
import { KafkaExporter } from '../src/exporters/kafka/exporter.js';
import { ByteWriter } from '../src/exporters/kafka/wire/bytes.js';
import { ProduceBatch } from '../src/exporters/kafka/wire/produce-batch.js';
import type { ComponentContext, Exporter } from '../src/pipeline/component.js';
import { silentLogger } from '../src/telemetry/log.js';
import { Telemetry } from '../src/telemetry/internal-events.js';
import { startMockCluster } from '../test/helpers/kafka-mock.js';
import { recordEvents } from './record.js';

const { values, positionals } = parseArgs({
  options: { before: { type: 'string' }, after: { type: 'string' } },
  allowPositionals: true,
});
const N = Math.min(Math.max(Number(positionals[0] ?? 200_000) || 200_000, 1000), 2_000_000);
const ROUNDS = Math.min(Math.max(Number(positionals[1] ?? 5) || 5, 1), 50);
const BATCH = 512;

const clock: Clock = { toUnixNano: (ns) => ns + 1_700_000_000_000_000_000n };
const events = await recordEvents(N, clock);
const cluster = await startMockCluster(1);

type ExporterClass = new (cfg: unknown, ctx: ComponentContext) => Exporter;
const exporterOf = async (dir: string): Promise<ExporterClass> =>
  ((await import(join(dir, 'dist/src/exporters/kafka/exporter.js'))) as { KafkaExporter: ExporterClass }).KafkaExporter;
const impls: { name: string; Exp: ExporterClass }[] = [
  { name: 'current', Exp: values.after ? await exporterOf(values.after) : (KafkaExporter as unknown as ExporterClass) },
];
if (values.before) impls.unshift({ name: 'before', Exp: await exporterOf(values.before) });

const cfg = kafkaConfigSchema.parse({
  brokers: cluster.bootstrap,
  encoding: 'json',
  topic: 'bench.{type}',
  client: 'netspan',
});

async function exportAll(exp: Exporter): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < events.length; i += BATCH) {
    const r = await exp.export(events.slice(i, i + BATCH));
    if (r.code !== 'success') throw new Error(`export: ${r.code} ${'error' in r ? r.error : ''}`);
    bytes += BATCH;
  }
  return bytes;
}

function jsonAll(): number {
  let bytes = 0;
  for (let i = 0; i < events.length; i += BATCH) {
    const w = new JsonWriter(BATCH * 600);
    const end = Math.min(events.length, i + BATCH);
    for (let j = i; j < end; j++) w.event(events[j]!);
    bytes += w.pos;
  }
  return bytes;
}

/** What the exporter does before sending, without sending: each record written in place into its partition's buffer, then the batch headers. */
async function frameAll(): Promise<number> {
  const pb = new ProduceBatch();
  const json = new JsonWriter(64);
  const key = new ByteWriter(256);
  const head = new ByteWriter(4096);
  const meta = (name: string) => ({
    name,
    errorCode: 0,
    partitions: [0, 1, 2].map((p) => ({ partition: p, leader: 1, errorCode: 0 })),
  });
  let bytes = 0;
  for (let i = 0; i < events.length; i += BATCH) {
    pb.reset();
    const end = Math.min(events.length, i + BATCH);
    for (let j = i; j < end; j++) {
      const e = events[j]!;
      const t = typeConst(e.type, cfg);
      const topic = pb.topic(t.topic);
      if (!topic.known) topic.setMetadata(meta(t.topic));
      const keyLen = keyInto(e, cfg.key, key);
      const part = topic.partitionFor(key.buf, keyLen);
      const ts = Number(e.timeUnixNano / 1_000_000n);
      const start = part.begin(ts, key.buf, keyLen);
      json.eventInto(part.w, e);
      part.end(start, ts, t.headerBuf);
    }
    head.pos = 0;
    for (const part of pb.filled()) bytes += (await part.writeBatch(head, 'none')).length;
  }
  return bytes + head.pos;
}

const cpu = (): number => {
  const t = process.cpuUsage();
  return t.user + t.system;
};

const exporters = new Map<string, Exporter>();
for (const { name, Exp } of impls) {
  const ctx: ComponentContext = {
    id: `kafka/${name}`,
    telemetry: new Telemetry(silentLogger()),
    logger: silentLogger(),
    env: {},
  };
  const exp = new Exp(cfg, ctx);
  await exp.start();
  await exportAll(exp); // warm-up, topics created
  exporters.set(name, exp);
}

const best = new Map<string, number>();
const keep = (k: string, us: number) => best.set(k, Math.min(best.get(k) ?? Infinity, us));
let jsonBytes = 0;
for (let r = 0; r < ROUNDS; r++) {
  let t = cpu();
  jsonBytes = jsonAll();
  keep('JSON only (JsonWriter per batch)', cpu() - t);
  t = cpu();
  await frameAll();
  keep('records written in place, not sent', cpu() - t);
  for (const [name, exp] of exporters) {
    t = cpu();
    await exportAll(exp);
    keep(`KafkaExporter ${name}`, cpu() - t);
  }
}
for (const exp of exporters.values()) await exp.shutdown();
await cluster.stop();

console.log(
  `kafka export bench: ${events.length} events, ${(jsonBytes / events.length).toFixed(0)} JSON bytes/event, batches of ${BATCH}, best of ${ROUNDS} rounds (CPU µs per event, all threads)`,
);
for (const [k, us] of best) console.log(`${k.padEnd(36)} ${(us / events.length).toFixed(3).padStart(7)} µs/event`);
