import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, OVERLAPPING_ENRICHMENT } from '../../test/helpers/otlp-events.js';
import { eventAttributes, isResourceKey, resourceAttributes, splitAttributes, type Attrs } from './attributes.js';

void test('splitAttributes: enrichment named like an event attribute replaces its value in place; resource keys go apart', () => {
  const e = connect({ result: 'ECONNREFUSED', attributes: { ...OVERLAPPING_ENRICHMENT } });
  const { resource, record } = splitAttributes(e);
  // the object way: the event's attributes, then every enrichment attribute that is not a resource one
  const expected: Attrs = eventAttributes(e);
  for (const [k, v] of Object.entries(e.attributes!)) if (!isResourceKey(k)) expected[k] = v;
  assert.deepEqual(record, expected);
  assert.deepEqual(Object.keys(record), Object.keys(expected));
  assert.equal(record['error.type'], 'policy');
  assert.equal(record['network.peer.address'], '10.9.9.9');
  assert.equal(Object.keys(record).at(-1), 'server.address');
  assert.deepEqual(resource, { 'k8s.pod.uid': 'uid-2', 'k8s.pod.name': 'db-0' });
  assert.deepEqual(resourceAttributes(e), resource);
  assert.deepEqual(splitAttributes(connect({})).resource, {});
});

void test('splitAttributes: shared (frozen) enrichment gives the same record as a fresh copy, on first and later use', () => {
  const fresh = connect({ result: 'ECONNREFUSED', attributes: { ...OVERLAPPING_ENRICHMENT } });
  const shared = Object.freeze({ ...OVERLAPPING_ENRICHMENT });
  for (let i = 0; i < 2; i++) {
    const e = connect({ result: 'ECONNREFUSED', attributes: shared });
    assert.deepEqual(Object.entries(splitAttributes(e).record), Object.entries(splitAttributes(fresh).record));
  }
  // only resource keys: the record is the event's own attributes
  const podOnly = Object.freeze({ 'k8s.pod.uid': 'uid-2', 'k8s.pod.name': 'db-0' });
  const e = connect({ attributes: podOnly });
  assert.deepEqual(Object.entries(splitAttributes(e).record), Object.entries(eventAttributes(e)));
  assert.deepEqual(splitAttributes(e).resource, podOnly);
});

void test('pod labels and annotations are resource attributes (k8s.pod.label.<key>, k8s.pod.annotation.<key>)', () => {
  const e = connect({
    attributes: {
      'k8s.pod.uid': 'uid-2',
      'k8s.pod.label.app.kubernetes.io/name': 'shop',
      'k8s.pod.annotation.owner': 'alice',
      'server.address': 'db.local',
    },
  });
  const { resource, record } = splitAttributes(e);
  assert.deepEqual(resource, {
    'k8s.pod.uid': 'uid-2',
    'k8s.pod.label.app.kubernetes.io/name': 'shop',
    'k8s.pod.annotation.owner': 'alice',
  });
  assert.equal(record['server.address'], 'db.local');
  assert.equal(record['k8s.pod.label.app.kubernetes.io/name'], undefined);
  assert.equal(isResourceKey('k8s.pod.labels'), false);
});
