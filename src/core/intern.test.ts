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

void test('Interner with derive: the derived value per raw text, derived once, at most max held', () => {
  let calls = 0;
  const t = new Interner(50, (s) => {
    calls++;
    return s.trim();
  });
  const chunk = 'xx\n        ip_rcv_core+4096\n        ip_rcv_core+4096\n';
  const a = t.get(chunk.slice(3, 27));
  const b = t.get(chunk.slice(28, 52));
  assert.equal(a, 'ip_rcv_core+4096');
  assert.equal(b, a);
  assert.equal(calls, 1);
  assert.equal(t.get('  other+1 '), 'other+1');
  for (let i = 0; i < 500; i++) assert.equal(t.get(` f${i} `), `f${i}`);
  assert.ok(t.size <= 50, `held ${t.size}`);
});
