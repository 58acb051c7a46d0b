// Writes schema/events/<type>.schema.json from src/core/json-schema.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES } from '../src/core/event.js';
import { jsonSchemaDocument } from '../src/core/json-schema.js';
import { repoRoot } from '../src/paths.js';

const dir = join(repoRoot(), 'schema', 'events');
mkdirSync(dir, { recursive: true });
for (const t of EVENT_TYPES) {
  writeFileSync(join(dir, `${t}.schema.json`), JSON.stringify(jsonSchemaDocument(t), null, 2) + '\n');
}
console.log(`wrote ${EVENT_TYPES.length} schemas to ${dir}`);
