import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturingLogger } from '../../test/helpers/faults.js';
import { RateLimitedLog } from './rate-limited-log.js';

const pick = (l: Record<string, unknown>) => ({
  msg: l.msg,
  count: l.count,
  suppressed: l.suppressed,
  detail: l.detail,
});

test('first call logged, the rest of the interval folded into one line with the calls and the events they counted', () => {
  const { logger, lines } = capturingLogger('warn');
  let now = 1_000;
  const rl = new RateLimitedLog(logger, 10_000, () => now);
  rl.error('drop:q', { count: 5, detail: 'a' }, 'Events dropped');
  for (let i = 0; i < 9; i++) rl.error('drop:q', { count: 10, detail: `b${i}` }, 'Events dropped');
  rl.warn('other', { detail: 'x' }, 'Other');
  assert.deepEqual(lines.map(pick), [
    { msg: 'Events dropped', count: 5, suppressed: undefined, detail: 'a' },
    { msg: 'Other', count: undefined, suppressed: undefined, detail: 'x' },
  ]);
  now += 10_000;
  rl.error('drop:q', { count: 1, detail: 'c' }, 'Events dropped');
  assert.deepEqual(pick(lines[2]!), { msg: 'Events dropped', count: 91, suppressed: 9, detail: 'c' });
});

test('what is held back is written when no further call comes: by flush(), and by the timer once the interval is over', async () => {
  const { logger, lines } = capturingLogger('warn');
  const rl = new RateLimitedLog(logger, 60);
  rl.warn('lost:p', { count: 3 }, 'Kernel lost events');
  rl.warn('lost:p', { count: 4 }, 'Kernel lost events');
  rl.warn('lost:p', { count: 5 }, 'Kernel lost events');
  assert.equal(lines.length, 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(lines.map(pick), [
    { msg: 'Kernel lost events', count: 3, suppressed: undefined, detail: undefined },
    { msg: 'Kernel lost events', count: 9, suppressed: 2, detail: undefined },
  ]);
  rl.warn('lost:p', { count: 1 }, 'Kernel lost events');
  rl.warn('lost:p', { count: 2 }, 'Kernel lost events');
  rl.flush();
  assert.deepEqual(pick(lines.at(-1)!), { msg: 'Kernel lost events', count: 2, suppressed: 1, detail: undefined });
  const n = lines.length;
  rl.flush();
  assert.equal(lines.length, n, 'flush twice writes nothing more');
});

test('suppress(): folds a call into the held line only inside the interval, with the same counts as error()', () => {
  const { logger, lines } = capturingLogger('warn');
  let now = 1_000;
  const rl = new RateLimitedLog(logger, 10_000, () => now);
  assert.equal(rl.suppress('drop:q', 1), false, 'nothing logged yet: the caller logs');
  rl.error('drop:q', { count: 1, detail: 'full' }, 'Events dropped');
  for (let i = 0; i < 99; i++) assert.equal(rl.suppress('drop:q', 2), true);
  assert.equal(rl.suppress('other', 1), false, 'per key');
  assert.equal(lines.length, 1);
  now += 10_000;
  assert.equal(rl.suppress('drop:q', 1), false, 'interval over: the caller logs, with what was held');
  rl.error('drop:q', { count: 1, detail: 'full' }, 'Events dropped');
  assert.deepEqual(pick(lines[1]!), { msg: 'Events dropped', count: 199, suppressed: 99, detail: 'full' });
  rl.suppress('drop:q', 7);
  rl.flush();
  assert.deepEqual(pick(lines[2]!), { msg: 'Events dropped', count: 7, suppressed: 1, detail: 'full' });
});
