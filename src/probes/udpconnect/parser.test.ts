import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { UdpConnectEvent } from '../../core/event.js';
import { MAX_LINE_LENGTH } from '../../core/parser.js';
import type { Clock, ParseResult } from '../../core/parser.js';
import { repoRoot } from '../../paths.js';
import { createUdpConnectParser } from './parser.js';

const OFFSET = 1_700_000_000_000_000_000n;
const clock: Clock = { toUnixNano: (ns) => ns + OFFSET };
const PAD = (n: number): string => '\\x00'.repeat(n);

async function recordedEvents(): Promise<{ events: UdpConnectEvent[]; results: ParseResult[] }> {
  const text = await readFile(join(repoRoot(), 'src/probes/udpconnect/testdata/live-netns.txt'), 'latin1');
  const p = createUdpConnectParser(clock);
  const results = text.split('\n').map((l) => p.push(l));
  return { results, events: results.flatMap((r) => (r.kind === 'event' ? [r.event as UdpConnectEvent] : [])) };
}

function errorType(r: ParseResult): string {
  assert.equal(r.kind, 'error');
  return r.kind === 'error' ? r.errorType : '';
}

void test('udpconnect: recorded output parses completely', async () => {
  const { events, results } = await recordedEvents();
  assert.equal(events.length, 4);
  assert.equal(results.filter((r) => r.kind === 'error').length, 0);
});

void test('udpconnect: recorded IPv4, IPv6, ENETUNREACH and hostile comm, exact fields', async () => {
  const { events } = await recordedEvents();
  assert.deepEqual(events[0], {
    type: 'udpconnect',
    timeUnixNano: 720079153341n + OFFSET,
    pid: 7957,
    tid: 7957,
    comm: 'udpc4',
    cgroupId: 1,
    family: 'ipv4',
    saddr: '10.200.173.1',
    sport: 59350,
    daddr: '10.200.173.2',
    dport: 53,
    result: 'OK',
    latencyNs: 27331,
  });
  const v6 = events[1]!;
  assert.deepEqual(
    [v6.comm, v6.family, v6.saddr, v6.sport, v6.daddr, v6.dport, v6.result, v6.latencyNs],
    ['udpc6', 'ipv6', 'fd00:10:200:ad::1', 51693, 'fd00:10:200:ad::2', 53, 'OK', 33813],
  );
  const unreach = events[2]!;
  assert.deepEqual(
    [unreach.comm, unreach.saddr, unreach.sport, unreach.daddr, unreach.result],
    ['udpunreach', '0.0.0.0', 52363, '10.200.174.9', 'ENETUNREACH'],
  );
  assert.equal(events[3]!.comm, 'a\tb\nc"\\\uFFFDd');
  assert.equal(events[3]!.pid, 7990);
});

void test('udpconnect: banner, lost, blank, hostile lines', () => {
  const p = createUdpConnectParser(clock);
  assert.deepEqual(p.push('Attaching 3 probes...'), { kind: 'none' });
  assert.deepEqual(p.push('Lost 3 events'), { kind: 'lost', count: 3 });
  assert.deepEqual(p.push(''), { kind: 'none' });
  const good = `udpconnect\t5\t7\t8\t9\t123456789012345${PAD(1)}\t10\t::1\t1000\t::1\t53\t13\t99`;
  const r = p.push(good);
  assert.equal(r.kind, 'event');
  if (r.kind === 'event') {
    const e = r.event as UdpConnectEvent;
    assert.deepEqual(
      [e.comm, e.result, e.pid, e.tid, e.cgroupId, e.latencyNs],
      ['123456789012345', 'EACCES', 7, 8, 9, 99],
    );
  }
  const f = good.split('\t');
  const withField = (i: number, v: string): string => f.map((x, j) => (j === i ? v : x)).join('\t');
  const cases: [string, string][] = [
    ['connect\t1\t2\t3\t4\tx\t2\t1.2.3.4\t1\t1.2.3.4\t1\t0\t1\t0', 'unknown_tag'],
    ['\x00\xff garbage', 'unknown_tag'],
    [good.slice(0, good.length - 3), 'field_count'],
    [`${good}\t1`, 'field_count'],
    [withField(6, '2'), 'bad_value'], // IPv6 text with AF_INET
    [withField(6, '17'), 'bad_value'],
    [withField(8, '65536'), 'bad_value'],
    [withField(11, 'x'), 'bad_number'],
    [withField(12, ''), 'bad_number'],
    [withField(2, '1e3'), 'bad_number'],
    [`udpconnect\t${'\\xff'.repeat(MAX_LINE_LENGTH)}`, 'too_long'],
  ];
  for (const [line, type] of cases) assert.equal(errorType(p.push(line)), type, JSON.stringify(line.slice(0, 80)));
  assert.deepEqual(p.flush(), { kind: 'none' });
});
