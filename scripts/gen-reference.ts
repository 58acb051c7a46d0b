// Writes docs/config-reference.md from the schemas.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configReference } from '../src/config/reference.js';
import { registry } from '../src/registry.js';
import { repoRoot } from '../src/paths.js';

mkdirSync(join(repoRoot(), 'docs'), { recursive: true });
writeFileSync(join(repoRoot(), 'docs', 'config-reference.md'), configReference(registry));
console.log('wrote docs/config-reference.md');
