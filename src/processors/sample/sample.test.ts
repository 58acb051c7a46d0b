import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetEvent } from '../../core/event.js';
import {
  discardedCount,
  frozen,
  gethostlatency,
  processorContext,
  skbdrop,
  soconnect,
  tcpretrans,
  udpconnect,
} from '../../../test/helpers/more-events.js';
import { sampleProcessorFactory } from './factory.js';
import { fmix32, FNV_OFFSET, fnvString } from './hash.js';
import type { SampleProcessor } from './sample.js';

function sampler(config: unknown, id = 'sample/t') {
  const ctx = processorContext(id);
  const p = sampleProcessorFactory.create(sampleProcessorFactory.configSchema.parse(config), ctx) as SampleProcessor;
  return { p, ctx };
}

/** A distinct peer per connection: IPv4, IPv6, or IPv4 seen through an AF_INET6 socket. */
function peerOf(i: number): { answer: string; daddr: string; family: 'ipv4' | 'ipv6' } {
  const v4 = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  if (i % 4 === 1)
    return { answer: `fd00:beef::${i.toString(16)}`, daddr: `fd00:beef::${i.toString(16)}`, family: 'ipv6' };
  if (i % 4 === 2) return { answer: v4, daddr: `::ffff:${v4}`, family: 'ipv6' };
  return { answer: v4, daddr: v4, family: 'ipv4' };
}

/** One connection trace: the DNS lookup, the connect that used its answer, two retransmits (softirq: pid 0). */
function trace(i: number): { dns: NetEvent; connect: NetEvent; retrans: NetEvent[]; drop: NetEvent } {
  const { answer, daddr, family } = peerOf(i);
  const pid = 1000 + (i % 50);
  const saddr =
    family === 'ipv6' && !daddr.startsWith('::ffff:')
      ? 'fd00:10::5'
      : family === 'ipv6'
        ? '::ffff:10.244.1.5'
        : '10.244.1.5';
  const sport = 32768 + (i % 28000);
  const tuple = { family, saddr, sport, daddr, dport: 443 };
  return {
    dns: frozen(gethostlatency({ pid, host: `svc-${i}.example.com`, addresses: [answer] })),
    connect: frozen(soconnect({ pid, ...tuple })),
    retrans: [
      frozen(tcpretrans({ ...tuple, state: 'SYN_SENT' })),
      frozen(tcpretrans({ ...tuple, pid: 77, comm: 'other', state: 'ESTABLISHED' })),
    ],
    // The peer's reply dropped on the way in: endpoints reversed, plain IPv4 header for mapped sockets.
    drop: frozen(
      skbdrop({
        family: answer.includes(':') ? 'ipv6' : 'ipv4',
        saddr: answer,
        sport: 443,
        daddr: saddr.replace('::ffff:', ''),
        dport: sport,
      }),
    ),
  };
}

test('sample (key peer): a DNS lookup, its connect and the retransmits are kept or dropped together; ~30% of 20000 connections', () => {
  const { p, ctx } = sampler({ ratio: 0.3 });
  const n = 20_000;
  let kept = 0;
  let dropsKeptWithConnection = 0;
  let out = 0;
  for (let i = 0; i < n; i++) {
    const t = trace(i);
    const k = p.process(t.connect) !== undefined;
    const decisions = [p.process(t.dns) !== undefined, k, ...t.retrans.map((e) => p.process(e) !== undefined)];
    assert.deepEqual(
      decisions,
      decisions.map(() => k),
      `connection ${i} was split: ${JSON.stringify(decisions)}`,
    );
    const dropKept = p.process(t.drop) !== undefined;
    // The drop's local end may be kept on its own, so: kept connection ⇒ kept drop.
    if (k) assert.ok(dropKept, `connection ${i}: kept, but its packet drop was not`);
    if (k) dropsKeptWithConnection++;
    kept += k ? 1 : 0;
    out += decisions.filter((d) => !d).length + (dropKept ? 0 : 1);
  }
  assert.ok(kept > 0.28 * n && kept < 0.32 * n, `kept ${kept} of ${n} connections`);
  assert.equal(dropsKeptWithConnection, kept);
  assert.equal(discardedCount(ctx, 'sampled_out'), out);
});

test('sample (key peer): a lookup with several answers is kept whenever a connect to any answer is kept', () => {
  const { p } = sampler({ ratio: 0.3 });
  let keptLookups = 0;
  for (let i = 0; i < 5000; i++) {
    const answers = [`10.1.${i >> 8}.${i & 255}`, `10.2.${i >> 8}.${i & 255}`, `fd00::${i.toString(16)}`];
    const lookup = p.process(gethostlatency({ addresses: answers })) !== undefined;
    const connects = answers.map(
      (a) => p.process(soconnect({ daddr: a, family: a.includes(':') ? 'ipv6' : 'ipv4' })) !== undefined,
    );
    assert.equal(lookup, connects.some(Boolean), `lookup ${i}`);
    keptLookups += lookup ? 1 : 0;
  }
  // 1 - 0.7^3 = 0.657: lookups with more answers are kept more often (documented trade-off).
  assert.ok(keptLookups > 0.62 * 5000 && keptLookups < 0.69 * 5000, `kept ${keptLookups}`);
});

test('sample (key peer): the unit is the peer address — every connection to it shares the decision', () => {
  const { p } = sampler({ ratio: 0.5 });
  for (const daddr of ['10.96.0.1', '10.96.0.2', '10.96.0.3', 'fd00::1']) {
    const first = p.keep(soconnect({ daddr }));
    for (let sport = 32768; sport < 33768; sport++)
      assert.equal(p.keep(soconnect({ daddr, sport, pid: sport })), first);
    assert.equal(p.keep(udpconnect({ daddr })), first);
  }
});

test('sample (key connection): each connection on its own, with its retransmits and drops in both directions; ~30% of connections to one address', () => {
  const { p } = sampler({ ratio: 0.3, key: 'connection' });
  const n = 20_000;
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const sport = 32768 + (i % 28000);
    const saddr = i < 14_000 ? '10.244.1.5' : '10.244.1.6';
    const mapped = i % 3 === 0;
    const connect = soconnect({
      family: mapped ? 'ipv6' : 'ipv4',
      saddr: mapped ? `::ffff:${saddr}` : saddr,
      sport,
      daddr: mapped ? '::ffff:10.96.0.1' : '10.96.0.1',
      dport: 443,
    });
    const k = p.keep(connect);
    assert.equal(p.keep(tcpretrans({ saddr, sport, daddr: '10.96.0.1', dport: 443 })), k, `retransmit of ${i}`);
    assert.equal(p.keep(skbdrop({ saddr, sport, daddr: '10.96.0.1', dport: 443 })), k, `outgoing drop of ${i}`);
    assert.equal(
      p.keep(skbdrop({ saddr: '10.96.0.1', sport: 443, daddr: saddr, dport: sport })),
      k,
      `incoming drop of ${i}`,
    );
    kept += k ? 1 : 0;
  }
  assert.ok(kept > 0.28 * n && kept < 0.32 * n, `kept ${kept} of ${n}`);
});

test('sample (key connection): DNS lookups sampled by pid and host name, ~ratio', () => {
  const { p } = sampler({ ratio: 0.3, key: 'connection' });
  let kept = 0;
  for (let i = 0; i < 10_000; i++) {
    const e = gethostlatency({ pid: 100 + (i % 7), host: `h${i}.example.com` });
    assert.equal(
      p.keep(e),
      p.keep(gethostlatency({ pid: 100 + (i % 7), host: `h${i}.example.com`, addresses: ['192.0.2.1'] })),
    );
    kept += p.keep(e) ? 1 : 0;
  }
  assert.ok(kept > 2800 && kept < 3200, `kept ${kept}`);
});

const edgeCases: [name: string, config: unknown, event: NetEvent, kept: boolean][] = [
  ['ratio 0 drops everything', { ratio: 0 }, soconnect(), false],
  ['ratio 0 drops DNS too', { ratio: 0 }, gethostlatency(), false],
  ['ratio 1 keeps everything', { ratio: 1 }, soconnect(), true],
  ['ratio 1 keeps an ARP drop', { ratio: 1 }, skbdrop({ saddr: undefined, daddr: undefined, family: undefined }), true],
  [
    'ratio 0 drops an ARP drop',
    { ratio: 0 },
    skbdrop({ saddr: undefined, daddr: undefined, family: undefined }),
    false,
  ],
];
for (const [name, config, event, kept] of edgeCases) {
  test(`sample: ${name}`, () => {
    const { p, ctx } = sampler(config);
    assert.equal(p.process(event), kept ? event : undefined);
    assert.equal(discardedCount(ctx, 'sampled_out'), kept ? 0 : 1);
  });
}

test('sample: failed lookups (no answers) and drops without addresses are sampled at about the ratio', () => {
  const { p } = sampler({ ratio: 0.3 });
  let lookups = 0;
  let drops = 0;
  for (let i = 0; i < 10_000; i++) {
    lookups += p.keep(gethostlatency({ host: `nx${i}.invalid`, result: 'EAI_NONAME', addresses: [] })) ? 1 : 0;
    drops += p.keep(
      skbdrop({
        protocol: 'ARP',
        saddr: undefined,
        daddr: undefined,
        family: undefined,
        sport: undefined,
        dport: undefined,
      }),
    )
      ? 1
      : 0;
  }
  assert.ok(lookups > 2800 && lookups < 3200, `lookups ${lookups}`);
  assert.ok(drops > 2800 && drops < 3200, `drops ${drops}`);
});

test('sample: stateless — two instances with one seed agree; another seed decides differently', () => {
  const a = sampler({ ratio: 0.5 }).p;
  const b = sampler({ ratio: 0.5 }, 'sample/other').p;
  const c = sampler({ ratio: 0.5, hash_seed: 12345 }).p;
  let differ = 0;
  for (let i = 0; i < 2000; i++) {
    const e = soconnect({ daddr: `192.168.${i >> 8}.${i & 255}` });
    assert.equal(a.keep(e), b.keep(e));
    if (a.keep(e) !== c.keep(e)) differ++;
  }
  assert.ok(differ > 800 && differ < 1200, `seeds differ on ${differ} of 2000`);
});

test('sample: the hash spreads sequential addresses evenly (fmix32 over FNV-1a)', () => {
  const buckets = new Array<number>(16).fill(0);
  for (let i = 0; i < 16_000; i++) {
    const h = fmix32(fnvString(FNV_OFFSET, `10.0.${i >> 8}.${i & 255}`));
    buckets[h >>> 28]!++;
  }
  for (const n of buckets) assert.ok(n > 850 && n < 1150, `bucket ${n}: ${JSON.stringify(buckets)}`);
});
