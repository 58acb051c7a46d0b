import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetEvent } from '../../core/event.js';
import {
  discardedCount,
  frozen,
  k8s,
  processorContext,
  skbdrop,
  soconnect,
} from '../../../test/helpers/more-events.js';
import { rateLimitConfigSchema } from './config.js';
import { rateLimitProcessorFactory } from './factory.js';
import { DROPPED_ATTR, RateLimitProcessor } from './rate-limit.js';

function limiter(config: unknown) {
  let t = 1_000;
  const ctx = processorContext('rate_limit/t');
  const p = new RateLimitProcessor(rateLimitConfigSchema.parse(config), ctx, () => t);
  return { p, ctx, at: (ms: number) => void (t = 1_000 + ms) };
}

/** What process() did: 'pass' (same object), 'drop', or the summary count carried by a passing copy. */
function outcome(input: NetEvent, out: NetEvent | undefined): 'pass' | 'drop' | number {
  if (out === undefined) return 'drop';
  if (out === input) return 'pass';
  const n = out.attributes?.[DROPPED_ATTR];
  assert.equal(typeof n, 'number', 'a changed event carries the summary');
  assert.deepEqual(
    { ...out, attributes: { ...out.attributes, [DROPPED_ATTR]: undefined } },
    { ...input, attributes: { ...input.attributes, [DROPPED_ATTR]: undefined } },
  );
  return n as number;
}

const pod = (name: string, extra: Record<string, string> = {}) =>
  frozen(soconnect({ attributes: k8s('shop', name, extra) }));

/** [ms since start, event, expected outcome] */
type Step = [number, NetEvent, 'pass' | 'drop' | number];
const a = pod('a', { 'k8s.deployment.name': 'web' });
const b = pod('b', { 'k8s.deployment.name': 'web' });
const c = frozen(soconnect({ attributes: k8s('other', 'c', { 'k8s.deployment.name': 'web' }) }));
const host = frozen(soconnect({ comm: 'sshd' }));
const drop = frozen(skbdrop());

const scenarios: [name: string, config: unknown, steps: Step[], discarded: number][] = [
  [
    'burst, then one summary on the next passing event, then refill at rate',
    { rate: 10, burst: 3 },
    [
      [0, a, 'pass'],
      [0, a, 'pass'],
      [0, a, 'pass'],
      [0, a, 'drop'],
      [0, a, 'drop'],
      [99, a, 'drop'], // 0.99 tokens
      [100, a, 3], // one token: passes carrying the 3 drops
      [100, a, 'drop'],
      [300, a, 1],
      [300, a, 'pass'],
      [300, a, 'drop'],
    ],
    5,
  ],
  [
    'tokens never exceed burst after a long idle period',
    { rate: 1, burst: 2 },
    [
      [0, a, 'pass'],
      [0, a, 'pass'],
      [0, a, 'drop'],
      [3_600_000, a, 1],
      [3_600_000, a, 'pass'],
      [3_600_000, a, 'drop'],
    ],
    2,
  ],
  [
    'default burst is the rate rounded up',
    { rate: 2.5 },
    [
      [0, a, 'pass'],
      [0, a, 'pass'],
      [0, a, 'pass'],
      [0, a, 'drop'],
      [400, a, 1],
    ],
    1,
  ],
  [
    'fractional rate: one event per 2 s',
    { rate: 0.5, burst: 1 },
    [
      [0, a, 'pass'],
      [1000, a, 'drop'],
      [1999, a, 'drop'],
      [2000, a, 2],
    ],
    2,
  ],
  [
    'a clock going backwards adds no tokens',
    { rate: 10, burst: 1 },
    [
      [500, a, 'pass'],
      [0, a, 'drop'],
      [550, a, 'drop'],
      [600, a, 2],
    ],
    2,
  ],
  [
    'key none: one bucket for everything',
    { rate: 1, burst: 1 },
    [
      [0, a, 'pass'],
      [0, b, 'drop'],
      [0, drop, 'drop'],
    ],
    2,
  ],
  [
    'key pod: a bucket per pod',
    { rate: 1, burst: 1, key: 'pod' },
    [
      [0, a, 'pass'],
      [0, a, 'drop'],
      [0, b, 'pass'],
      [0, b, 'drop'],
      [1000, b, 1],
    ],
    2,
  ],
  [
    'key pod: host processes share one bucket',
    { rate: 1, burst: 1, key: 'pod' },
    [
      [0, host, 'pass'],
      [0, drop, 'drop'],
      [0, a, 'pass'],
    ],
    1,
  ],
  [
    'key namespace',
    { rate: 1, burst: 1, key: 'namespace' },
    [
      [0, a, 'pass'],
      [0, b, 'drop'],
      [0, c, 'pass'],
      [1000, b, 1],
    ],
    1,
  ],
  [
    'key workload: same deployment name in two namespaces is two workloads',
    { rate: 1, burst: 1, key: 'workload' },
    [
      [0, a, 'pass'],
      [0, b, 'drop'],
      [0, c, 'pass'],
    ],
    1,
  ],
  [
    'key comm',
    { rate: 1, burst: 1, key: 'comm' },
    [
      [0, a, 'pass'],
      [0, b, 'drop'],
      [0, host, 'pass'],
      [0, drop, 'pass'],
      [0, host, 'drop'],
    ],
    2,
  ],
  [
    'key type',
    { rate: 1, burst: 1, key: 'type' },
    [
      [0, a, 'pass'],
      [0, host, 'drop'],
      [0, drop, 'pass'],
      [1000, host, 1],
    ],
    1,
  ],
];

for (const [name, config, steps, discarded] of scenarios) {
  test(`rate_limit: ${name}`, () => {
    const { p, ctx, at } = limiter(config);
    const got = steps.map(([ms, e]) => {
      at(ms);
      return outcome(e, p.process(e));
    });
    assert.deepEqual(
      got,
      steps.map(([, , want]) => want),
    );
    assert.equal(discardedCount(ctx, 'rate_limited'), discarded);
  });
}

test('rate_limit: the key map is bounded (LRU): the least recently used bucket is forgotten', () => {
  const { p, at } = limiter({ rate: 1, burst: 1, key: 'pod', max_keys: 2 });
  const [x, y, z] = [pod('x'), pod('y'), pod('z')];
  at(0);
  assert.equal(outcome(x, p.process(x)), 'pass');
  assert.equal(outcome(y, p.process(y)), 'pass');
  assert.equal(outcome(x, p.process(x)), 'drop'); // x used last: y is now the oldest
  assert.equal(outcome(z, p.process(z)), 'pass'); // evicts y
  assert.equal(p.size, 2);
  assert.equal(outcome(x, p.process(x)), 'drop', 'x kept its empty bucket');
  assert.equal(outcome(y, p.process(y)), 'pass', 'y was forgotten: a fresh full bucket');
  for (let i = 0; i < 10_000; i++) p.process(pod(`p${i}`));
  assert.equal(p.size, 2);
});

test('rate_limit: the factory creates a working processor on the real clock', () => {
  const ctx = processorContext('rate_limit/real');
  const p = rateLimitProcessorFactory.create(
    rateLimitProcessorFactory.configSchema.parse({ rate: 0.001, burst: 2 }),
    ctx,
  );
  const outs = [a, a, a, a].map((e) => p.process(e));
  assert.deepEqual(outs, [a, a, undefined, undefined]);
  assert.equal(discardedCount(ctx, 'rate_limited'), 2);
});
