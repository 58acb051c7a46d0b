import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { createFastDefaultPartitioner, murmur2, murmur2Key } from './partitioner.js';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer | string,
) => number;
const { Partitioners } = require('kafkajs') as {
  Partitioners: { DefaultPartitioner: () => (a: unknown) => number };
};

test("murmur2 matches kafkajs's (Java-compatible) murmur2 on every length and random bytes", () => {
  for (let len = 0; len < 70; len++) {
    for (let i = 0; i < 20; i++) {
      const b = randomBytes(len);
      assert.equal(murmur2(b), kafkajsMurmur2(b), `bytes ${b.toString('hex')}`);
    }
  }
  // Known Java values (org.apache.kafka.common.utils.UtilsTest)
  assert.equal(murmur2(Buffer.from('21')), -973932308);
  assert.equal(murmur2(Buffer.from('foobar')), -790332482);
});

test('string keys hash like kafkajs (UTF-8, long keys too)', () => {
  const keys = [
    '10.0.0.1:40000-10.0.0.2:443',
    '[fd00::1]:2-[fd00::2]:1',
    'pid:42',
    'é☃𝄞 ünïcode',
    'x'.repeat(5000),
    '',
  ];
  // every length (whole words and 1-3 byte tails), ASCII and with one non-ASCII character anywhere
  for (let len = 0; len < 40; len++) {
    const ascii = Array.from({ length: len }, (_, i) => String.fromCharCode(32 + ((i * 37 + len) % 95))).join('');
    keys.push(ascii);
    for (let at = 0; at < len; at++) keys.push(ascii.slice(0, at) + (at % 2 ? 'é' : '\u0080') + ascii.slice(at + 1));
  }
  for (const k of keys) assert.equal(murmur2Key(k), kafkajsMurmur2(k), k.slice(0, 40));
});

test("the partitioner picks the same partition as kafkajs's DefaultPartitioner for keyed records", () => {
  const ours = createFastDefaultPartitioner();
  const theirs = Partitioners.DefaultPartitioner();
  for (const n of [1, 3, 4, 7, 12]) {
    const partitionMetadata = Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: i % 3 === 2 ? -1 : 0 }));
    for (let i = 0; i < 300; i++) {
      const message = { key: `10.0.${i}.1:${40000 + i}-10.0.0.2:443` };
      assert.equal(
        ours({ topic: 't', partitionMetadata, message }),
        theirs({ topic: 't', partitionMetadata, message }),
      );
    }
    assert.equal(ours({ topic: 't', partitionMetadata, message: { key: 'a', partition: 2 } }), 2);
  }
});

test('records without a key go round-robin over the partitions that have a leader', () => {
  const p = createFastDefaultPartitioner();
  const partitionMetadata = [
    { partitionId: 0, leader: 1 },
    { partitionId: 1, leader: -1 },
    { partitionId: 2, leader: 1 },
  ];
  const seen = new Set<number>();
  for (let i = 0; i < 10; i++) seen.add(p({ topic: 't', partitionMetadata, message: { key: null } }));
  assert.deepEqual([...seen].sort(), [0, 2]);
  const none = [
    { partitionId: 0, leader: -1 },
    { partitionId: 1, leader: -1 },
  ];
  for (let i = 0; i < 5; i++) assert.ok([0, 1].includes(p({ topic: 'u', partitionMetadata: none, message: {} })));
});
