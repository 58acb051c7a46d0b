import { formatError } from '../config/errors.js';
import type { Env } from '../config/env.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Registry } from '../registry.js';

/** Loads a config; prints every error to stderr. */
export async function loadOrReport(file: string, registry: Registry, env: Env): Promise<Config | undefined> {
  const r = await loadConfigFile(file, registry, env);
  if (r.ok) return r.config;
  process.stderr.write(`${file}: ${r.errors.length} error(s)\n`);
  for (const e of r.errors) process.stderr.write(`  ${formatError(e)}\n`);
  return undefined;
}

export async function validateCommand(file: string, registry: Registry, env: Env): Promise<number> {
  const config = await loadOrReport(file, registry, env);
  if (!config) return 1;
  const probes = [...new Set([...config.pipelines.values()].flatMap((p) => p.probes))];
  process.stdout.write(`${file}: valid (${config.pipelines.size} pipeline(s), probes: ${probes.join(', ')})\n`);
  return 0;
}
