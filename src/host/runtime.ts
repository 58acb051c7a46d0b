/**
 * The `runtime` section: settings of the V8 runtime netspan runs in, applied
 * once at start. heap_growth_percent is V8's --heap-growing-percent, which
 * V8 reads each time it sets the next full-collection limit, so setting it
 * after start takes effect from the next collection on.
 */
import { setFlagsFromString } from 'node:v8';
import type { RuntimeConfig } from '../config/schema.js';

export function applyRuntime(cfg: RuntimeConfig): void {
  if (cfg.heap_growth_percent > 0) setFlagsFromString(`--heap-growing-percent=${cfg.heap_growth_percent}`);
}
