import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lru } from './lru.js';

test('Lru evicts the least recently used entry and stays bounded', () => {
  const l = new Lru<string, number>(3);
  l.set('a', 1);
  l.set('b', 2);
  l.set('c', 3);
  assert.equal(l.get('a'), 1); // a is now newest
  l.set('d', 4); // evicts b
  assert.deepEqual([...l.keys()], ['c', 'a', 'd']);
  assert.equal(l.get('b'), undefined);
  assert.equal(l.size, 3);
  assert.equal(l.evictions, 1);
  l.set('c', 30); // update moves to newest, no eviction
  assert.deepEqual([...l.keys()], ['a', 'd', 'c']);
  assert.equal(l.evictions, 1);
  assert.equal(l.peek('a'), 1);
  assert.deepEqual([...l.keys()], ['a', 'd', 'c']);
  assert.throws(() => new Lru(0), /positive integer/);
});
