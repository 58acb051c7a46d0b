import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Exporter } from './component.js';
import { lazyExporter } from './lazy-exporter.js';
import { events } from '../../test/helpers/events.js';

test('a lazy exporter loads its implementation at start, not before; shutdown is safe before start and twice', async () => {
  let loads = 0;
  const calls: string[] = [];
  const real: Exporter = {
    start: async () => void calls.push('start'),
    export: async (b) => (calls.push(`export ${b.length}`), { code: 'success' }),
    shutdown: async () => void calls.push('shutdown'),
  };
  const lazy = lazyExporter(async () => (loads++, real));
  assert.equal(loads, 0);
  assert.deepEqual(await lazy.export(events(1)), { code: 'retryable', error: 'exporter not started yet' });
  await lazy.start();
  await lazy.start();
  assert.equal(loads, 1);
  assert.deepEqual(await lazy.export(events(3)), { code: 'success' });
  await lazy.shutdown();
  await lazy.shutdown();
  assert.deepEqual(calls, ['start', 'export 3', 'shutdown', 'shutdown']);

  const never = lazyExporter(async () => (loads++, real));
  await never.shutdown();
  await never.start();
  assert.equal(loads, 1, 'not loaded after shutdown');
});
