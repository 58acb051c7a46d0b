/**
 * Processor throughput: events/s of each processor over 1M synthetic events
 * (a fixed pool of 8192 varied events, cycled: memory stays bounded), side by
 * side with a no-op processor measured in the same run through the same call
 * site, and the cost of the sampling hash against node:crypto.
 *
 *   npx tsc -p . && node dist/bench/processors.js [events]
 */
import { createHash } from 'node:crypto';
import type { NetEvent } from '../src/core/event.js';
import type { Processor, ProcessorFactory } from '../src/pipeline/component.js';
import { attributesProcessorFactory } from '../src/processors/attributes/factory.js';
import { filterProcessorFactory } from '../src/processors/filter/factory.js';
import { rateLimitProcessorFactory } from '../src/processors/rate_limit/factory.js';
import { redactProcessorFactory } from '../src/processors/redact/factory.js';
import { sampleProcessorFactory } from '../src/processors/sample/factory.js';
import { fmix32, FNV_OFFSET, fnvString } from '../src/processors/sample/hash.js';
import {
  gethostlatency,
  k8s,
  processorContext,
  skbdrop,
  soconnect,
  tcpretrans,
  udpconnect,
} from '../test/helpers/more-events.js';

const N = Math.min(Number(process.argv[2] ?? 1_000_000) || 1_000_000, 10_000_000);
const POOL = 8192;

function pool(): NetEvent[] {
  const out: NetEvent[] = [];
  const namespaces = ['shop', 'kube-system', 'payments', 'monitoring'];
  for (let i = 0; i < POOL; i++) {
    const ns = namespaces[i % namespaces.length]!;
    const attributes: Record<string, string> = {
      ...k8s(ns, `pod-${i % 97}`, { 'k8s.deployment.name': `app-${i % 13}`, 'k8s.pod.label.app': `app-${i % 13}` }),
    };
    const peer = i % 5 === 0 ? `fd00::${(i % 1024).toString(16)}` : `10.${(i >> 10) & 255}.${(i >> 4) & 63}.${i & 15}`;
    attributes['network.peer.address'] = peer;
    const family = peer.includes(':') ? 'ipv6' : 'ipv4';
    const saddr = family === 'ipv6' ? 'fd00:10::5' : '10.244.1.5';
    const sport = 32768 + (i % 20000);
    const tuple = { family, saddr, sport, daddr: peer, dport: [443, 80, 5432, 6379][i % 4]! } as const;
    switch (i % 8) {
      case 0:
      case 1:
      case 2:
        out.push(
          soconnect({
            ...tuple,
            pid: 1000 + (i % 50),
            result: i % 17 === 0 ? 'ECONNREFUSED' : 'ESTABLISHED',
            attributes,
          }),
        );
        break;
      case 3:
        out.push(tcpretrans({ ...tuple }));
        break;
      case 4:
        out.push(
          gethostlatency({
            pid: 1000 + (i % 50),
            host: `svc-${i % 300}.${ns}.svc.cluster.local`,
            addresses: [peer],
            attributes,
          }),
        );
        break;
      case 5:
        out.push(udpconnect({ ...tuple, dport: 53, attributes }));
        break;
      default:
        out.push(
          skbdrop({
            saddr: peer.includes(':') ? 'fd00:10::5' : '10.244.1.5',
            daddr: peer,
            family,
            sport,
            dport: 443,
            reason: i % 3 ? 'NETFILTER_DROP' : 'NO_SOCKET',
          }),
        );
    }
  }
  return out;
}

/** One call site for every processor (as in the pipeline graph), so the no-op is not inlined away. */
function run(p: Processor, events: readonly NetEvent[], n: number): { seconds: number; kept: number } {
  let kept = 0;
  const mask = events.length - 1;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (p.process(events[i & mask]!) !== undefined) kept++;
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, kept };
}

function make<S extends ProcessorFactory>(f: S, config: unknown, env: Record<string, string> = {}): Processor {
  return f.create(f.configSchema.parse(config), processorContext(`${f.type}/bench`, env));
}

const cases: [string, () => Processor][] = [
  ['noop', () => ({ process: (e: NetEvent) => e })],
  [
    'filter (types + namespaces + cidrs + ports)',
    () =>
      make(filterProcessorFactory, {
        include: { types: ['soconnect', 'tcpretrans', 'skbdrop', 'gethostlatency'], cidrs: ['10.0.0.0/8', 'fd00::/8'] },
        exclude: { namespaces: ['kube-system'], ports: [6379, '30000-32767'] },
      }),
  ],
  [
    'filter (regexp pods + labels)',
    () =>
      make(filterProcessorFactory, {
        exclude: { match_type: 'regexp', pods: ['^pod-1\\d$'], labels: { app: '^app-(1|2)$' } },
      }),
  ],
  ['sample 0.3 key=peer', () => make(sampleProcessorFactory, { ratio: 0.3 })],
  ['sample 0.3 key=connection', () => make(sampleProcessorFactory, { ratio: 0.3, key: 'connection' })],
  ['rate_limit key=none (mostly passes)', () => make(rateLimitProcessorFactory, { rate: 1e9 })],
  ['rate_limit key=pod (mostly drops)', () => make(rateLimitProcessorFactory, { rate: 10, key: 'pod' })],
  [
    'rate_limit key=workload, max_keys=16 (evicting)',
    () => make(rateLimitProcessorFactory, { rate: 1e9, key: 'workload', max_keys: 16 }),
  ],
  ['redact defaults (SHA-256, cached)', () => make(redactProcessorFactory, {})],
  [
    'redact HMAC, comm+cmdline hashed',
    () => make(redactProcessorFactory, { hmac_key: 'k', comm: 'hash', command_line: 'hash' }),
  ],
  [
    'attributes (upsert, insert, rename, delete)',
    () =>
      make(attributesProcessorFactory, {
        actions: [
          { key: 'deployment.environment.name', action: 'upsert', value: 'prod' },
          { key: 'service.namespace', action: 'insert', value: 'shop' },
          { key: 'pod.uid', action: 'rename', from_attribute: 'k8s.pod.uid' },
          { key: 'container.id', action: 'delete' },
        ],
      }),
  ],
];

const events = pool();
const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

// Warm up every processor (JIT), then measure each over N events, best of 3 rounds.
for (const [, mk] of cases) run(mk(), events, 100_000);
const results = cases.map(([name, mk]) => {
  let best = Infinity;
  let kept = 0;
  for (let r = 0; r < 3; r++) {
    const res = run(mk(), events, N);
    if (res.seconds < best) best = res.seconds;
    kept = res.kept;
  }
  return { name, rate: N / best, kept: kept / N };
});
const noop = results[0]!.rate;
console.log(`processors over ${fmt(N)} events (pool of ${POOL}), node ${process.version}, best of 3`);
console.log(`${'processor'.padEnd(50)} ${'events/s'.padStart(14)} ${'vs noop'.padStart(8)} ${'kept'.padStart(7)}`);
for (const r of results) {
  console.log(
    `${r.name.padEnd(50)} ${fmt(r.rate).padStart(14)} ${(r.rate / noop).toFixed(3).padStart(8)} ${(r.kept * 100).toFixed(1).padStart(6)}%`,
  );
}

// The sampling hash against node:crypto over the same keys (peer addresses).
const keys = events.map((e) => ('daddr' in e && e.daddr) || 'x');
function hashRate(name: string, h: (s: string) => number): void {
  let acc = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) acc ^= h(keys[i & (POOL - 1)]!);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${`hash: ${name}`.padEnd(50)} ${fmt(N / s).padStart(14)} keys/s  (${acc & 1})`);
}
hashRate('FNV-1a + fmix32 (sample)', (s) => fmix32(fnvString(FNV_OFFSET, s)));
hashRate('node:crypto md5 digest', (s) => createHash('md5').update(s).digest().readUInt32BE(0));
hashRate('node:crypto sha256 digest', (s) => createHash('sha256').update(s).digest().readUInt32BE(0));

// What every discard costs in the core's Telemetry (sample and rate_limit pay it per dropped event).
{
  const ctx = processorContext('bench/discarded');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) ctx.telemetry.discarded(ctx.id, 'sampled_out');
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${'telemetry.discarded() alone'.padEnd(50)} ${fmt(N / s).padStart(14)} calls/s`);
}
