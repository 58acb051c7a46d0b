import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseInt32, parseU64, parseUint } from './decode.js';

/** The definition parseUint implements: 1-16 ASCII digits, Number() of them; NaN for anything else. */
const reference = (s: string): number => (/^[0-9]{1,16}$/.test(s) ? Number(s) : NaN);

void test('parseUint: digits only, up to 16, exactly what Number() gives', () => {
  assert.equal(parseUint('0'), 0);
  assert.equal(parseUint('007'), 7);
  assert.equal(parseUint('4294967295'), 4294967295);
  assert.equal(parseUint('999999999999999'), 999999999999999);
  assert.equal(parseUint('9007199254740993'), Number('9007199254740993'));
  for (const bad of ['', '-1', '+1', '1.5', '1e3', ' 1', '1 ', '0x10', '١٢', '12345678901234567'])
    assert.ok(Number.isNaN(parseUint(bad)), bad);
  assert.equal(parseInt32('-42'), -42);
  assert.equal(parseU64('18446744073709551615'), 18446744073709551615n);
  fc.assert(
    fc.property(fc.oneof(fc.stringMatching(/^[0-9]{1,17}$/), fc.string({ maxLength: 18 })), (s) => {
      assert.ok(Object.is(parseUint(s), reference(s)), s);
    }),
    { seed: 42, numRuns: 20_000 },
  );
});
