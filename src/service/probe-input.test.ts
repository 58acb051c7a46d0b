import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GetHostLatencyEvent, NetEvent } from '../core/event.js';
import type { Clock } from '../core/parser.js';
import { createGetHostLatencyParser } from '../probes/gethostlatency/parser.js';
import { testTelemetry } from '../../test/helpers/telemetry.js';
import { ProbeInput } from './probe-input.js';

const clock: Clock = { toUnixNano: (ns) => ns };

test('end of stream hands on every lookup the parser still holds, not only the first', () => {
  const t = testTelemetry();
  const got: NetEvent[] = [];
  const input = new ProbeInput(
    'gethostlatency',
    () => createGetHostLatencyParser(clock),
    { ingest: (_, e) => got.push(e) },
    t,
  );
  // three finished lookups (L) whose names (H, from another CPU's buffer) never came, then one whose H did
  for (const tid of [11, 12, 13]) input.line(`L\t${tid}00\t7\t${tid}\t0\tcurl\tgetaddrinfo\t5000\t0\t0`);
  input.line('H\t1400\t14\tcomplete.example');
  input.line('L\t1400\t7\t14\t0\tcurl\tgetaddrinfo\t6000\t0\t0');
  assert.deepEqual(
    got.map((e) => (e as GetHostLatencyEvent).tid),
    [14],
  );
  input.end();
  assert.deepEqual(got.map((e) => (e as GetHostLatencyEvent).tid).sort(), [11, 12, 13, 14]);
  assert.equal(t.eventsReceived.get({ probe: 'gethostlatency' }), 4);
  input.end();
  assert.equal(got.length, 4, 'a second end() has nothing left');
});
