import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lru } from './lru.js';

test('Lru evicts an entry not used since it was inserted or last passed over, and stays bounded', () => {
  const l = new Lru<string, number>(3);
  l.set('a', 1);
  l.set('b', 2);
  l.set('c', 3);
  assert.equal(l.get('a'), 1); // a: used
  l.set('d', 4); // a gets a second chance (moved to the back, unmarked); b was never used: evicted
  assert.deepEqual([...l.keys()], ['c', 'a', 'd']);
  assert.equal(l.get('b'), undefined);
  assert.equal(l.size, 3);
  assert.equal(l.evictions, 1);
  l.set('c', 30); // an update marks used, in place, no eviction
  assert.deepEqual([...l.keys()], ['c', 'a', 'd']);
  assert.equal(l.evictions, 1);
  l.set('e', 5); // c used → back; a unused since its second chance → evicted
  assert.deepEqual([...l.keys()], ['d', 'c', 'e']);
  assert.equal(l.peek('c'), 30);
  assert.equal(l.evictions, 2);
  // peek does not mark: d (unused) goes first; every entry used: the oldest goes after one pass
  assert.equal(l.peek('d'), 4);
  l.set('f', 6);
  assert.deepEqual([...l.keys()], ['c', 'e', 'f']);
  for (const k of ['c', 'e', 'f']) l.get(k);
  l.set('g', 7);
  assert.deepEqual([...l.keys()], ['e', 'f', 'g']);
  assert.equal(l.evictions, 4);
  assert.equal(l.size, 3);
  assert.throws(() => new Lru(0), /positive integer/);
});

test('Lru: a hot key survives any number of cold inserts', () => {
  const l = new Lru<number, number>(4);
  l.set(0, 0);
  for (let i = 1; i < 1000; i++) {
    assert.equal(l.get(0), 0);
    l.set(i, i);
    assert.ok(l.size <= 4);
  }
  assert.equal(l.evictions, 996);
});
