import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeComm, parseInt32, parseU64, parseUint } from './decode.js';
import { TabFields } from './fields.js';

/** Field text: digits, signs, escapes, tabs-free noise; what probe lines and garbage are made of. */
const fieldText = fc.oneof(
  fc.stringMatching(/^-?[0-9]{0,21}$/),
  fc.stringMatching(/^[a-z0-9.]{0,20}(\\x00){0,16}$/),
  fc.stringMatching(/^(\\x[0-9a-fA-F]{2}|\\x|[ -~]){0,20}$/),
  fc.string({ maxLength: 70 }).map((s) => s.replaceAll('\t', ' ')),
);

void test('TabFields reads every field exactly as split + the string decoders do', () => {
  fc.assert(
    fc.property(fc.array(fieldText, { minLength: 1, maxLength: 14 }), fc.integer({ min: 1, max: 14 }), (parts, cap) => {
      const line = parts.join('\t');
      const f = new TabFields(cap);
      const split = line.split('\t');
      assert.equal(f.split(line), split.length);
      assert.equal(f.count, split.length);
      for (let i = 0; i < Math.min(cap, split.length); i++) {
        const s = split[i]!;
        assert.equal(f.str(i), s);
        assert.equal(f.length(i), s.length);
        assert.ok(f.is(i, s));
        assert.ok(Object.is(f.uint(i), parseUint(s)), `uint ${JSON.stringify(s)}`);
        assert.ok(Object.is(f.int(i), parseInt32(s)), `int ${JSON.stringify(s)}`);
        assert.equal(f.u64(i), parseU64(s), `u64 ${JSON.stringify(s)}`);
        assert.equal(f.comm(i), decodeComm(s), `comm ${JSON.stringify(s)}`);
      }
    }),
    { seed: 7, numRuns: 20_000 },
  );
});

void test('TabFields: a reused instance forgets the previous line', () => {
  const f = new TabFields(4);
  assert.equal(f.split('a\tb\tc\td\te'), 5);
  assert.equal(f.split('x'), 1);
  assert.equal(f.str(0), 'x');
  assert.equal(f.split(''), 1);
  assert.equal(f.str(0), '');
  assert.ok(Number.isNaN(f.uint(0)));
  assert.equal(f.u64(0), undefined);
});
