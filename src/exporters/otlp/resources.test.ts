import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceCache } from './resources.js';

const pod = (over: Record<string, string> = {}) => ({
  'k8s.pod.uid': 'uid-1',
  'k8s.pod.name': 'web-1',
  'k8s.namespace.name': 'shop',
  'k8s.deployment.name': 'web',
  ...over,
});

void test('resources: one instance per attribute set, whatever the key order; any other value, key more or key less is another', () => {
  const c = new ResourceCache({ 'k8s.cluster.name': 'c1' }, 'node-svc');
  const a = c.get(pod());
  const reordered = Object.fromEntries(Object.entries(pod()).reverse());
  assert.equal(c.get(reordered), a);
  assert.equal(c.get(pod()), a);
  assert.deepEqual(a.attributes, {
    'k8s.cluster.name': 'c1',
    ...pod(),
    'service.name': 'web',
  });

  const other = c.get(pod({ 'k8s.pod.name': 'web-2' }));
  assert.notEqual(other, a);
  assert.equal(other.attributes['k8s.pod.name'], 'web-2');
  assert.equal(c.get(pod()), a, 'the first set again: its instance again');

  const fewer: Record<string, string> = pod();
  delete fewer['k8s.deployment.name'];
  const less = c.get(fewer);
  assert.notEqual(less, a);
  assert.equal(less.attributes['service.name'], 'web-1', 'no workload: the pod name');
  const more = c.get(pod({ 'container.id': 'abc' }));
  assert.notEqual(more, a);
  assert.equal(more.attributes['container.id'], 'abc');
  assert.equal(c.get(pod()), a);

  assert.equal(c.get({}), c.node);
  const host = c.get({ 'host.name': 'h2' });
  assert.equal(host.attributes['host.name'], 'h2');
  assert.equal(host.attributes['service.name'], 'node-svc');
});

void test('resources: bounded; answers stay right after entries are forgotten', () => {
  const c = new ResourceCache({}, 'node-svc', 4);
  let last: unknown;
  for (const round of [1, 2])
    for (let i = 0; i < 50; i++) {
      const r = c.get(pod({ 'k8s.pod.uid': `u${i}`, 'k8s.pod.name': `p${i}` }));
      assert.equal(r.attributes['k8s.pod.uid'], `u${i}`, `round ${round}`);
      assert.equal(r.attributes['k8s.pod.name'], `p${i}`);
      last = r;
    }
  // the last one asked for is still the same instance
  assert.equal(c.get(pod({ 'k8s.pod.uid': 'u49', 'k8s.pod.name': 'p49' })), last);
});

void test('resources: a frozen (shared) attribute set gets the same instance as an equal unfrozen one, by identity after the first', () => {
  const c = new ResourceCache({}, 'node-svc');
  const frozen = Object.freeze(pod());
  const a = c.get(frozen);
  assert.equal(a, c.get(pod()), 'same resource as by value');
  assert.equal(c.get(frozen), a);
  const other = c.get(Object.freeze(pod({ 'k8s.pod.name': 'web-2' })));
  assert.notEqual(other, a);
  assert.equal(other.attributes['k8s.pod.name'], 'web-2');
  assert.equal(c.get(Object.freeze({})), c.node);
});
