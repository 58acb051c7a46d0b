import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Interner } from './intern.js';

void test('Interner: same value back for slices of any line, at most max values held', () => {
  const t = new Interner(100);
  const line = 'D\t__udp4_lib_rcv+1212\tsk_skb_reason_drop+144';
  const a = t.get(line.slice(2, 21));
  const b = t.get(`x${line}`.slice(3, 22));
  assert.equal(a, '__udp4_lib_rcv+1212');
  assert.equal(b, a);
  assert.equal(t.size, 1);
  for (let i = 0; i < 1000; i++) assert.equal(t.get(`comm-${i}`), `comm-${i}`);
  assert.ok(t.size <= 100, `held ${t.size}`);
  assert.equal(t.get('short'), 'short');
});
