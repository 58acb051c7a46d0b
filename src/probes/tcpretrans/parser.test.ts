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
  assert.equal(events.length, 26);
  assert.equal(results.filter((r) => r.kind === 'error').length, 0);
  const states = new Set(events.map((e) => e.state));
  assert.deepEqual([...states].sort(), ['CLOSING', 'ESTABLISHED', 'FIN_WAIT1', 'SYN_RECV', 'SYN_SENT']);
  const kinds = new Map<string, number>();
  for (const e of events) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
  assert.deepEqual(Object.fromEntries(kinds), { rto: 18, fast: 4, synack: 2, tlp: 2 });
});

// Recorded during live.test.ts (its namespaces; the first two lines are sockets left over from an earlier run).
void test('tcpretrans: recorded RTO, fast retransmit, tail loss probe, SYN-ACK, IPv6, softirq context: exact fields', async () => {
  const { events } = await recordedEvents();
  assert.deepEqual(events[2], {
    type: 'tcpretrans',
    timeUnixNano: 34356718490568n + OFFSET,
    pid: 29969,
    tid: 29969,
    comm: 'fast4',
    cgroupId: 1,
    family: 'ipv4',
    saddr: '10.200.238.1',
    sport: 52378,
    daddr: '10.200.238.2',
    dport: 9205,
    state: 'ESTABLISHED',
    kind: 'fast',
  });
  // ONE_DROP over IPv6: the retransmit in the sender's own context, in Recovery
  const fast6 = events[3]!;
  assert.deepEqual(
    [fast6.family, fast6.saddr, fast6.sport, fast6.daddr, fast6.dport, fast6.comm, fast6.kind],
    ['ipv6', 'fd00:10:200:ee::1', 41186, 'fd00:10:200:ee::2', 9205, 'fast6', 'fast'],
  );
  // SYN_DROP: SYN retransmits are timer driven, in the Loss state
  const syn = events.filter((e) => e.state === 'SYN_SENT');
  assert.deepEqual(
    syn.map((e) => [e.sport, e.dport, e.pid, e.comm, e.kind]),
    [
      [45350, 9202, 0, 'swapper/1', 'rto'],
      [45350, 9202, 0, 'swapper/1', 'rto'],
    ],
  );
  // TAIL_DROP: the lone segment in flight resent by the probe timer (Open, probe timer armed), then by the RTO
  const tail = events.filter((e) => e.sport === 57692 && e.dport === 9206);
  assert.deepEqual(
    tail.map((e) => [e.state, e.kind]),
    [
      ['ESTABLISHED', 'tlp'],
      ['ESTABLISHED', 'rto'],
      ['FIN_WAIT1', 'rto'],
      ['FIN_WAIT1', 'rto'],
      ['CLOSING', 'rto'],
    ],
  );
  const synacks = events.filter((e) => e.state === 'SYN_RECV');
  assert.deepEqual(
    synacks.map((e) => [e.family, e.saddr, e.sport, e.daddr, e.dport, e.kind]),
    [
      ['ipv6', 'fd00:10:200:ee::2', 9204, 'fd00:10:200:ee::1', 45166, 'synack'],
      ['ipv4', '10.200.238.2', 9204, '10.200.238.1', 33332, 'synack'],
    ],
  );
});

void test('tcpretrans: the kind from the congestion state and the pending timer', () => {
  const p = createTcpRetransParser(clock);
  const line = (ca: string, pending: string, tag = 'retrans'): string =>
    `${tag}\t1\t0\t0\t1\tswapper/1\t2\t10.0.0.1\t1\t10.0.0.2\t2\t1\t${ca}\t${pending}`;
  const kind = (l: string): string => {
    const r = p.push(l);
    assert.equal(r.kind, 'event', l);
    return r.kind === 'event' ? (r.event as TcpRetransEvent).kind : '';
  };
  assert.deepEqual(
    [
      ['0', '5'], // Open, probe timer: tail loss probe
      ['1', '5'], // Disorder, probe timer
      ['2', '5'], // CWR, probe timer
      ['3', '5'], // Recovery: fast retransmit, whatever timer is armed
      ['3', '1'],
      ['4', '0'], // Loss, the timer handler cleared the pending timer: the RTO itself
      ['4', '1'], // Loss with the retransmission timer armed: a resend in loss recovery (on an ACK, after a PMTU drop)
      ['4', '5'],
      ['0', '1'], // Open with the retransmission timer armed: not a probe
      ['2', '0'],
      ['5', '0'], // a congestion state this version does not know: other, not a parse error
      ['31', '5'],
    ].map(([ca, pending]) => kind(line(ca!, pending!))),
    ['tlp', 'tlp', 'tlp', 'fast', 'fast', 'rto', 'loss', 'loss', 'other', 'other', 'other', 'other'],
  );
  // a SYN-ACK is a SYN-ACK, whatever the two fields say
  assert.equal(kind(line('4', '0', 'synack')), 'synack');
  // a dual-stack listener answering an IPv4 client: the kernel reports v4-mapped IPv6 (seen live)
  const mapped = p.push(
    'synack\t1\t0\t0\t1\tswapper/1\t10\t::ffff:10.200.140.2\t9104\t::ffff:10.200.140.1\t53618\t3\t0\t0',
  );
  assert.equal(mapped.kind, 'event');
  const m = mapped.kind === 'event' ? (mapped.event as TcpRetransEvent) : undefined;
  assert.deepEqual(
    [m?.family, m?.saddr, m?.daddr, m?.state, m?.kind],
    ['ipv6', '::ffff:10.200.140.2', '::ffff:10.200.140.1', 'SYN_RECV', 'synack'],
  );
});

void test('tcpretrans: banner, lost, hostile lines', () => {
  const p = createTcpRetransParser(clock);
  assert.deepEqual(p.push('Attaching 2 probes...'), { kind: 'none' });
  assert.deepEqual(p.push('Lost 100000 events'), { kind: 'lost', count: 100000 });
  const good =
    'retrans\t1\t0\t0\t1\tswapper/1\\x00\\x00\\x00\\x00\\x00\\x00\\x00\t2\t10.0.0.1\t1\t10.0.0.2\t2\t1\t4\t0';
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
    [withField(12, 'Loss'), 'bad_number'],
    [withField(13, ''), 'bad_number'],
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
