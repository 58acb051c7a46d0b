import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capturingLogger } from '../../test/helpers/faults.js';
import { Telemetry } from './internal-events.js';

test('dropper: no series until the first drop; then counts, logs once per interval, and keeps its own summary line', () => {
  const { logger, lines } = capturingLogger('warn');
  const t = new Telemetry(logger, undefined, 60_000);
  const full = t.dropper('q', 'queue_full', 'queue holds 10 events');
  const late = t.dropper('q', 'shutdown', 'exporter already shut down');
  const series = () => t.metrics.collect().find((m) => m.name === 'netspan_events_dropped_total');
  assert.equal(series()?.series.length ?? 0, 0, 'a queue that never drops adds nothing to the stop summary');
  for (let i = 0; i < 1000; i++) full(1);
  full(0);
  assert.equal(t.eventsDropped.get({ component: 'q', reason: 'queue_full' }), 1000);
  assert.equal(series()!.series.length, 1);
  t.dropped('q', 'shutdown', 5, 'not sent within shutdown_timeout_ms');
  late(1);
  late(1);
  assert.equal(t.eventsDropped.get({ component: 'q', reason: 'shutdown' }), 7);
  t.rl.flush();
  const dropLines = lines
    .filter((l) => l.msg === 'Events dropped')
    .map((l) => [l.reason, l.detail, l.count, l.suppressed]);
  assert.deepEqual(dropLines, [
    ['queue_full', 'queue holds 10 events', 1, undefined],
    ['shutdown', 'not sent within shutdown_timeout_ms', 5, undefined],
    ['shutdown', 'exporter already shut down', 1, undefined],
    ['queue_full', 'queue holds 10 events', 999, 999],
    ['shutdown', 'exporter already shut down', 1, 1],
  ]);
});
