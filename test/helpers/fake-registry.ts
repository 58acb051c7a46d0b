/**
 * A registry for service-level tests: the real processors and exporters,
 * plus a `capture` exporter that keeps events in memory (after `delay_ms`), and fake probes
 * whose parser reads "E\t<seq>" lines into connect events with sport=seq.
 */
import { z } from 'zod';
import type { NetEvent } from '../../src/core/event.js';
import type { ProbeParser, ParseResult } from '../../src/core/parser.js';
import { queueConfigSchema } from '../../src/pipeline/batch-queue.js';
import type { ExporterFactory } from '../../src/pipeline/component.js';
import { probeConfigSchema } from '../../src/probes/config.js';
import type { ProbeDefinition } from '../../src/probes/types.js';
import { registry, type Registry } from '../../src/registry.js';
import { connectEvent } from './events.js';

export const captured = new Map<string, NetEvent[]>();

const captureSchema = z
  .strictObject({ queue: queueConfigSchema, delay_ms: z.int().min(0).max(1000).default(0) })
  .prefault({});
const captureFactory: ExporterFactory<typeof captureSchema> = {
  type: 'capture',
  configSchema: captureSchema,
  create: (cfg, ctx) => {
    const list = captured.get(ctx.id) ?? [];
    captured.set(ctx.id, list);
    return {
      start: async () => undefined,
      shutdown: async () => undefined,
      export: async (batch) => {
        // delay_ms: a slow exporter
        if (cfg.delay_ms > 0) await new Promise((r) => setTimeout(r, cfg.delay_ms));
        list.push(...batch);
        return { code: 'success' };
      },
    };
  },
};

class SeqParser implements ProbeParser {
  push(line: string): ParseResult {
    const [tag, seq] = line.split('\t');
    if (tag === 'Attaching') return { kind: 'none' };
    if (tag !== 'E' || seq === undefined || !/^\d+$/.test(seq))
      return { kind: 'error', errorType: 'unknown_tag', message: line };
    return { kind: 'event', event: connectEvent({ sport: Number(seq) }) };
  }
  flush(): ParseResult {
    return { kind: 'none' };
  }
}

function fakeProbe(name: 'soconnect' | 'tcpretrans'): ProbeDefinition {
  return {
    name,
    description: 'fake',
    prepare: async () => ({ program: '{}', env: {}, hooks: [], createParser: () => new SeqParser() }),
  };
}

export const fakeRegistry: Registry = {
  probes: new Map([
    ...(['soconnect', 'tcpretrans'] as const).map(
      (n) => [n, { type: n, configSchema: probeConfigSchema, definition: fakeProbe(n) }] as const,
    ),
    // the real definition, for tests that ingest DNS events directly (never started here)
    ['gethostlatency', registry.probes.get('gethostlatency')!] as const,
  ]),
  processors: registry.processors,
  exporters: new Map([...registry.exporters, ['capture', captureFactory]]),
};
