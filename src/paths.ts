import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The netspan installation (the directory holding package.json), wherever the compiled code runs from. */
export function repoRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'probes'))) return (root = dir);
    dir = dirname(dir);
  }
  throw new Error('cannot find the netspan installation directory (package.json + probes/)');
}
