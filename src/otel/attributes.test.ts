import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, OVERLAPPING_ENRICHMENT } from '../../test/helpers/otlp-events.js';
import { eventAttributes, RESOURCE_KEYS, resourceAttributes, splitAttributes, type Attrs } from './attributes.js';

void test('splitAttributes: enrichment named like an event attribute replaces its value in place; resource keys go apart', () => {
  const e = connect({ result: 'ECONNREFUSED', attributes: { ...OVERLAPPING_ENRICHMENT } });
  const { resource, record } = splitAttributes(e);
  // the object way: the event's attributes, then every enrichment attribute that is not a resource one
  const expected: Attrs = eventAttributes(e);
  for (const [k, v] of Object.entries(e.attributes!)) if (!RESOURCE_KEYS.has(k)) expected[k] = v;
  assert.deepEqual(record, expected);
  assert.deepEqual(Object.keys(record), Object.keys(expected));
  assert.equal(record['error.type'], 'policy');
  assert.equal(record['network.peer.address'], '10.9.9.9');
  assert.equal(Object.keys(record).at(-1), 'server.address');
  assert.deepEqual(resource, { 'k8s.pod.uid': 'uid-2', 'k8s.pod.name': 'db-0' });
  assert.deepEqual(resourceAttributes(e), resource);
  assert.deepEqual(splitAttributes(connect({})).resource, {});
});
