import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TcpRetransEvent } from '../../core/event.js';
import { MAX_LINE_LENGTH } from '../../core/parser.js';
import type { Clock, ParseResult } from '../../core/parser.js';
import { repoRoot } from '../../paths.js';
import { createTcpRetransParser } from './parser.js';
import { RETRANS_FILTER_PLACEHOLDER, retransFilter, tcpretransProbe } from './index.js';

const OFFSET = 1_700_000_000_000_000_000n;
const clock: Clock = { toUnixNano: (ns) => ns + OFFSET };

async function recordedEvents(): Promise<{ events: TcpRetransEvent[]; results: ParseResult[] }> {
  const text = await readFile(join(repoRoot(), 'src/probes/tcpretrans/testdata/live-netns.txt'), 'latin1');
  const p = createTcpRetransParser(clock);
  const results = text.split('\n').map((l) => p.push(l));
  return { results, events: results.flatMap((r) => (r.kind === 'event' ? [r.event as TcpRetransEvent] : [])) };
}

function errorType(r: ParseResult): string {
  assert.equal(r.kind, 'error');
  return r.kind === 'error' ? r.errorType : '';
}

void test('tcpretrans: recorded output parses completely', async () => {
  const { events, results } = await recordedEvents();
  assert.equal(events.length, 42);
  assert.equal(results.filter((r) => r.kind === 'error').length, 0);
  const states = new Set(events.map((e) => e.state));
  assert.deepEqual([...states].sort(), ['ESTABLISHED', 'FIN_WAIT1', 'LAST_ACK', 'SYN_RECV', 'SYN_SENT']);
});

void test('tcpretrans: recorded SYN_SENT, ESTABLISHED, softirq context, SYN-ACK, IPv6, exact fields', async () => {
  const { events } = await recordedEvents();
  assert.deepEqual(events[0], {
    type: 'tcpretrans',
    timeUnixNano: 740228035601n + OFFSET,
    pid: 8319,
    tid: 8326,
    comm: 'node',
    cgroupId: 1,
    family: 'ipv4',
    saddr: '10.200.140.1',
    sport: 56718,
    daddr: '10.200.140.2',
    dport: 9102,
    state: 'SYN_SENT',
  });
  const data = events[2]!;
  assert.deepEqual(
    [data.pid, data.comm, data.state, data.sport, data.dport],
    [8392, 'rtxdata', 'ESTABLISHED', 55054, 9103],
  );
  const swapper = events[4]!;
  assert.deepEqual([swapper.pid, swapper.tid, swapper.comm], [0, 0, 'swapper/1']);
  const synacks = events.filter((e) => e.state === 'SYN_RECV');
  assert.equal(synacks.length, 2);
  // dual-stack listener answering an IPv4 client: the kernel reports v4-mapped IPv6
  assert.deepEqual(
    [synacks[0]!.family, synacks[0]!.saddr, synacks[0]!.sport, synacks[0]!.daddr, synacks[0]!.dport],
    ['ipv6', '::ffff:10.200.140.2', 9104, '::ffff:10.200.140.1', 53618],
  );
  assert.deepEqual(
    [synacks[1]!.saddr, synacks[1]!.daddr, synacks[1]!.dport],
    ['fd00:10:200:8c::2', 'fd00:10:200:8c::1', 44826],
  );
  const v6data = events.find((e) => e.comm === 'rtxdata6');
  assert.ok(v6data);
  assert.deepEqual(
    [v6data.family, v6data.saddr, v6data.sport, v6data.daddr, v6data.dport, v6data.state],
    ['ipv6', 'fd00:10:200:8c::1', 33628, 'fd00:10:200:8c::2', 9107, 'ESTABLISHED'],
  );
});

void test('tcpretrans: banner, lost, hostile lines', () => {
  const p = createTcpRetransParser(clock);
  assert.deepEqual(p.push('Attaching 2 probes...'), { kind: 'none' });
  assert.deepEqual(p.push('Lost 100000 events'), { kind: 'lost', count: 100000 });
  const good = 'retrans\t1\t0\t0\t1\tswapper/1\\x00\\x00\\x00\\x00\\x00\\x00\\x00\t2\t10.0.0.1\t1\t10.0.0.2\t2\t1';
  assert.equal(p.push(good).kind, 'event');
  const f = good.split('\t');
  const withField = (i: number, v: string): string => f.map((x, j) => (j === i ? v : x)).join('\t');
  const cases: [string, string][] = [
    ['Retrans\t1', 'unknown_tag'],
    ['synack', 'field_count'],
    [good.slice(0, -2), 'field_count'],
    [withField(11, '0'), 'bad_value'],
    [withField(11, '14'), 'bad_value'],
    [withField(11, 'ESTABLISHED'), 'bad_number'],
    [withField(9, 'fe80::1'), 'bad_value'],
    [withField(5, `a\tb`), 'field_count'],
    [`synack\t${'1'.repeat(MAX_LINE_LENGTH + 1)}`, 'too_long'],
  ];
  for (const [line, type] of cases) assert.equal(errorType(p.push(line)), type, JSON.stringify(line.slice(0, 80)));
});

void test('tcpretrans: prepare() substitutes the err filter from the tracepoint format', async () => {
  const filter = await retransFilter('/sys/kernel/tracing');
  const format = await readFile('/sys/kernel/tracing/events/tcp/tcp_retransmit_skb/format', 'utf8').catch(() => '');
  assert.equal(filter, format.includes('field:int err;') ? '/args->err == 0/' : '');
  assert.equal(await retransFilter('/nonexistent'), '');
  const prepared = await tcpretransProbe.prepare({ tracefs: '/sys/kernel/tracing', libcPath: 'libc.so.6', clock });
  assert.ok(!prepared.program.includes(RETRANS_FILTER_PLACEHOLDER));
  assert.equal(prepared.program.includes('/args->err == 0/'), filter !== '');
  assert.deepEqual(
    prepared.hooks.map((h) => (h.kind === 'tracepoint' ? `${h.category}:${h.name}` : '')),
    ['tcp:tcp_retransmit_skb', 'tcp:tcp_retransmit_synack'],
  );
});
