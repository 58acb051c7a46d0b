import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import { registry } from '../registry.js';
import { configReference } from './reference.js';

test('docs/config-reference.md is generated from the current schemas (run `npm run reference`)', () => {
  const committed = readFileSync(join(repoRoot(), 'docs/config-reference.md'), 'utf8');
  assert.equal(committed, configReference(registry));
});

test('the reference lists every registered component type', () => {
  const ref = configReference(registry);
  for (const section of [registry.probes, registry.processors, registry.exporters]) {
    for (const type of section.keys()) assert.ok(ref.includes(`### ${type}\n`), `missing ${type}`);
  }
});
