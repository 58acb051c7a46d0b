import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../paths.js';
import { configFileSchema } from '../config/schema.js';

const churn = join(repoRoot(), 'test/fixtures/heap-churn.mjs');
const majors = async (percent: number): Promise<number> =>
  Number((await execa(process.execPath, [churn, String(percent)])).stdout.trim());

test('runtime.heap_growth_percent makes V8 collect old garbage sooner (more full collections for the same work)', async () => {
  assert.equal(configFileSchema.parse({ pipelines: {} }).runtime.heap_growth_percent, 50);
  const adaptive = await majors(0);
  const bounded = await majors(50);
  assert.ok(adaptive >= 1, `the churn made V8 collect at least once (${adaptive})`);
  assert.ok(bounded >= 2 * adaptive, `50%: ${bounded} full collections, V8's default: ${adaptive}`);
});
