import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';

/** Reads probes/<name>/<name>.bt from the installation. */
export async function readProbeProgram(name: string): Promise<string> {
  return readFile(join(repoRoot(), 'probes', name, `${name}.bt`), 'utf8');
}
