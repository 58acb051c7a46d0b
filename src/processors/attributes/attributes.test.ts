import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frozen, soconnect } from '../../../test/helpers/more-events.js';
import { attributesProcessorFactory } from './factory.js';

type Attrs = Record<string, string | number | boolean | string[]> | undefined;

const base = { 'k8s.namespace.name': 'shop', env: 'dev', 'old.name': 'x' };

const cases: [name: string, actions: unknown[], input: Attrs, want: Attrs][] = [
  [
    'insert: absent key is set',
    [{ key: 'team', action: 'insert', value: 'payments' }],
    base,
    { ...base, team: 'payments' },
  ],
  ['insert: present key is left alone', [{ key: 'env', action: 'insert', value: 'prod' }], base, base],
  [
    'insert: into an event without attributes',
    [{ key: 'team', action: 'insert', value: 'payments' }],
    undefined,
    { team: 'payments' },
  ],
  ['update: present key is changed', [{ key: 'env', action: 'update', value: 'prod' }], base, { ...base, env: 'prod' }],
  ['update: absent key stays absent', [{ key: 'team', action: 'update', value: 'x' }], base, base],
  ['update: no attributes stays without', [{ key: 'team', action: 'update', value: 'x' }], undefined, undefined],
  ['upsert: absent key is set', [{ key: 'team', action: 'upsert', value: 3 }], base, { ...base, team: 3 }],
  ['upsert: present key is changed', [{ key: 'env', action: 'upsert', value: true }], base, { ...base, env: true }],
  ['upsert: a list value', [{ key: 'tags', action: 'upsert', value: ['a', 'b'] }], base, { ...base, tags: ['a', 'b'] }],
  ['delete: present key', [{ key: 'env', action: 'delete' }], base, { 'k8s.namespace.name': 'shop', 'old.name': 'x' }],
  ['delete: absent key is a no-op', [{ key: 'nope', action: 'delete' }], base, base],
  [
    'rename: moves the value',
    [{ key: 'new.name', action: 'rename', from_attribute: 'old.name' }],
    base,
    { 'k8s.namespace.name': 'shop', env: 'dev', 'new.name': 'x' },
  ],
  [
    'rename: overwrites the target',
    [{ key: 'env', action: 'rename', from_attribute: 'old.name' }],
    base,
    { 'k8s.namespace.name': 'shop', env: 'x' },
  ],
  ['rename: absent source is a no-op', [{ key: 'new.name', action: 'rename', from_attribute: 'nope' }], base, base],
  ['rename: onto itself is a no-op', [{ key: 'env', action: 'rename', from_attribute: 'env' }], base, base],
  [
    'actions apply in order, each seeing the previous ones',
    [
      { key: 'team', action: 'insert', value: 'a' },
      { key: 'team', action: 'update', value: 'b' },
      { key: 'owner', action: 'rename', from_attribute: 'team' },
      { key: 'team', action: 'insert', value: 'c' },
      { key: 'env', action: 'delete' },
      { key: 'env', action: 'update', value: 'never' },
    ],
    base,
    { 'k8s.namespace.name': 'shop', 'old.name': 'x', owner: 'b', team: 'c' },
  ],
];

for (const [name, actions, input, want] of cases) {
  test(`attributes: ${name}`, () => {
    const e = frozen(soconnect(input ? { attributes: { ...input } } : {}));
    const out = attributesProcessorFactory
      .create(attributesProcessorFactory.configSchema.parse({ actions }), null as never)
      .process(e)!;
    assert.deepEqual(out.attributes, want);
    if (JSON.stringify(want) === JSON.stringify(input)) assert.equal(out, e, 'unchanged: the same event object');
    else {
      assert.notEqual(out, e, 'changed: a copy');
      assert.deepEqual({ ...out, attributes: undefined }, { ...e, attributes: undefined }, 'only attributes differ');
    }
  });
}

test('attributes: list values are copied, so one event cannot change another through them', () => {
  const p = attributesProcessorFactory.create(
    attributesProcessorFactory.configSchema.parse({ actions: [{ key: 'tags', action: 'upsert', value: ['a'] }] }),
    null as never,
  );
  const first = p.process(soconnect())!;
  (first.attributes!['tags'] as string[]).push('mutated');
  assert.deepEqual(p.process(soconnect())!.attributes, { tags: ['a'] });
});
