import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetEvent } from '../core/event.js';
import { toJsonLine } from '../core/encode.js';
import { resourceAttributes } from '../otel/attributes.js';
import { connect, dns, drop, retrans, udp } from '../../test/helpers/otlp-events.js';
import { withAttributes, withAttributesObject, withSharedAttributes } from './attrs.js';

const everyType = (): NetEvent[] => [connect(), udp(), retrans(), dns(), drop()];

test('the per-type copy keeps every field of every event type, and only adds attributes', () => {
  for (const e of [...everyType(), drop({ saddr: undefined, daddr: undefined, sport: undefined, dport: undefined })]) {
    const before = structuredClone(e);
    const out = withAttributesObject(e, { a: 1 });
    assert.notEqual(out, e);
    assert.deepStrictEqual(out, { ...e, attributes: { a: 1 } }, e.type);
    assert.deepStrictEqual(e, before, 'input untouched');
  }
  // an skbdrop without addresses stays without those keys (not present as undefined)
  const bare = drop();
  for (const k of ['family', 'saddr', 'daddr', 'l4Protocol', 'sport', 'dport'] as const) delete bare[k];
  assert.deepStrictEqual(
    Object.keys(withAttributesObject(bare, {})).sort(),
    [...Object.keys(bare), 'attributes'].sort(),
  );
});

test('withAttributes merges into a new object; later keys win; the input keeps its attributes', () => {
  const e = connect({ attributes: { a: 'x', b: 1 } });
  const out = withAttributes(e, { b: 2, c: true });
  assert.deepStrictEqual(out.attributes, { a: 'x', b: 2, c: true });
  assert.deepStrictEqual(e.attributes, { a: 'x', b: 1 });
  assert.equal(Object.isFrozen(out.attributes), false);
});

test('withSharedAttributes: one frozen attributes object per (shared attributes, add) pair, across the chain', () => {
  const processAttrs = { 'process.executable.name': 'curl' };
  const podAttrs = { 'k8s.pod.name': 'web-0', 'k8s.namespace.name': 'shop' };
  const chain = (e: NetEvent) => withSharedAttributes(withSharedAttributes(e, processAttrs), podAttrs);
  const a = chain(connect({ sport: 1 }));
  const b = chain(dns());
  assert.equal(a.attributes, b.attributes, 'events of one process share one object');
  assert.ok(Object.isFrozen(a.attributes));
  assert.deepStrictEqual(a.attributes, {
    'process.executable.name': 'curl',
    'k8s.pod.name': 'web-0',
    'k8s.namespace.name': 'shop',
  });
  assert.equal(Object.isFrozen(processAttrs), false, "the processor's own object is not frozen");
  assert.throws(() => {
    (a.attributes as Record<string, unknown>).x = 1;
  }, TypeError);
  // another pod: another object
  const c = withSharedAttributes(withSharedAttributes(connect(), processAttrs), { 'k8s.pod.name': 'web-1' });
  assert.notEqual(c.attributes, a.attributes);
  // attributes made per event (e.g. by peer) are not shared: a fresh merge, as withAttributes
  const own = connect({ attributes: { 'server.address': 'db' } });
  const d = withSharedAttributes(own, podAttrs);
  assert.deepStrictEqual(d.attributes, { 'server.address': 'db', ...podAttrs });
  assert.equal(Object.isFrozen(d.attributes), false);
  assert.notEqual(withSharedAttributes(own, podAttrs).attributes, d.attributes);
});

test('shared attributes: the JSON and the OTLP resource are those of an unshared copy, and made once', () => {
  const pod = { 'k8s.pod.name': 'web-0', 'k8s.namespace.name': 'shop', 'process.command_line': 'a "b"\n' };
  const shared = withSharedAttributes(connect(), pod);
  const copy = withAttributes(connect(), pod);
  assert.equal(toJsonLine(shared), toJsonLine(copy));
  assert.equal(toJsonLine(shared), JSON.stringify(JSON.parse(toJsonLine(copy))));
  assert.equal(toJsonLine(withSharedAttributes(dns(), pod)), toJsonLine(withAttributes(dns(), pod)));
  const other = withSharedAttributes(connect(), { ...pod, 'k8s.pod.name': 'web-1' });
  assert.equal(toJsonLine(other), toJsonLine(withAttributes(connect(), { ...pod, 'k8s.pod.name': 'web-1' })));
  assert.deepStrictEqual(resourceAttributes(shared), resourceAttributes(copy));
  assert.equal(resourceAttributes(other)['k8s.pod.name'], 'web-1');
  assert.equal(resourceAttributes(shared), resourceAttributes(withSharedAttributes(udp(), pod)), 'one resource object');
  assert.ok(Object.isFrozen(resourceAttributes(shared)));
});
