/**
 * A processor that throws (a bug) costs the event on that pipeline only: it
 * is dropped and counted (reason processor_error), logged once per interval,
 * other pipelines still get it, and the daemon keeps running. A throw while
 * reading ahead (prime) loses nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { loadConfigText } from '../../src/config/load.js';
import type { ProcessorFactory } from '../../src/pipeline/component.js';
import type { Registry } from '../../src/registry.js';
import { ProbeInput } from '../../src/service/probe-input.js';
import { Service } from '../../src/service/service.js';
import { Telemetry } from '../../src/telemetry/internal-events.js';
import { captured, fakeRegistry } from '../helpers/fake-registry.js';
import { capturingLogger } from '../helpers/faults.js';
import type { NetEvent } from '../../src/core/event.js';

const sportOf = (e: NetEvent): number => (e.type === 'soconnect' ? e.sport : -1);

/** Throws from process() for every third sport and from prime() for every fifth. */
const buggySchema = z.strictObject({}).prefault({});
const buggyFactory: ProcessorFactory<typeof buggySchema> = {
  type: 'buggy',
  configSchema: buggySchema,
  create: () => ({
    prime: (e) => {
      if (sportOf(e) % 5 === 0) throw new RangeError(`prime failed for ${sportOf(e)}`);
    },
    process: (e) => {
      if (sportOf(e) % 3 === 0) throw new TypeError(`cannot read properties of undefined (sport ${sportOf(e)})`);
      return e;
    },
  }),
};

const registry: Registry = {
  ...fakeRegistry,
  processors: new Map([...fakeRegistry.processors, ['buggy', buggyFactory]]),
};

test('a throwing processor drops and counts the event on its pipeline only; the daemon goes on', async () => {
  const r = loadConfigText(
    `probes: { soconnect: {} }
processors: { buggy/a: {} }
exporters:
  capture/buggy: { queue: { scheduled_delay_ms: 5 } }
  capture/plain: { queue: { scheduled_delay_ms: 5 } }
pipelines:
  withbug: { probes: [soconnect], processors: [buggy/a], exporters: [capture/buggy] }
  plain: { probes: [soconnect], exporters: [capture/plain] }
`,
    'processor-error.yaml',
    registry,
    {},
  );
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  const { logger, lines } = capturingLogger('warn');
  const t = new Telemetry(logger, undefined, 60_000);
  const svc = new Service({ config: r.config, registry, telemetry: t, logger, env: {} });
  await svc.graph.start();
  // the fake soconnect probe's parser reads "E\t<n>" as a connect with sport n
  const probe = await registry.probes.get('soconnect')!.definition.prepare({} as never, {} as never);
  const input = new ProbeInput('soconnect', () => probe.createParser(), svc, t);
  for (let i = 1; i <= 30; i++) input.line(`E\t${i}`);
  await svc.stop();

  const buggy = captured.get('capture/buggy')!.map(sportOf);
  const plain = captured.get('capture/plain')!.map(sportOf);
  const all = Array.from({ length: 30 }, (_, i) => i + 1);
  assert.deepEqual(plain, all, 'the other pipeline got every event');
  assert.deepEqual(
    buggy,
    all.filter((s) => s % 3 !== 0),
    'the buggy pipeline lost exactly the events its processor threw on (prime failures lose nothing)',
  );
  assert.equal(t.eventsDropped.get({ component: 'buggy/a', reason: 'processor_error' }), 10);
  assert.equal(t.primeErrors.get({ component: 'buggy/a' }), 6);
  assert.equal(
    t.eventsReceived.get({ probe: 'soconnect' }),
    t.eventsSent.get({ exporter: 'capture/buggy' }) + t.eventsDropped.sum({ component: 'buggy/a' }),
    'counters add up on the pipeline with the bug',
  );
  const failed = lines.filter((l) => l.msg === 'Processor failed; event dropped');
  assert.equal(failed.length, 1, 'logged once per interval, not per event');
  assert.equal(failed[0]!.component, 'buggy/a');
  assert.match(String(failed[0]!.error), /cannot read properties of undefined \(sport 3\)/);
  assert.equal(lines.filter((l) => l.msg === 'Processor failed reading ahead; event goes on').length, 1);
});
