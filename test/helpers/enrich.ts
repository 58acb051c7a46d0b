/** Shared bits of the enrichment tests. */
import type { ComponentContext } from '../../src/pipeline/component.js';
import { silentLogger } from '../../src/telemetry/log.js';
import { testTelemetry } from './telemetry.js';

export function testContext(env: Record<string, string | undefined> = {}, id = 'test'): ComponentContext {
  return { id, telemetry: testTelemetry(), logger: silentLogger(), env };
}

/** Polls `cond` every 20 ms until true; throws after `timeoutMs` (bounded). */
export async function waitFor(cond: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 100_000; i++) {
    if (cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting for ${what}`);
}
