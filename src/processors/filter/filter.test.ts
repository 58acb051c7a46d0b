import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetEvent } from '../../core/event.js';
import {
  discardedCount,
  frozen,
  gethostlatency,
  k8s,
  processorContext,
  skbdrop,
  soconnect,
  tcpretrans,
  udpconnect,
} from '../../../test/helpers/more-events.js';
import { CIDR_MEMO_MAX } from './filter.js';
import { filterProcessorFactory } from './factory.js';

const web = frozen(
  soconnect({
    attributes: k8s('shop', 'web-7d9f', {
      'k8s.deployment.name': 'web',
      'k8s.pod.label.app': 'web',
      'k8s.pod.label.tier': 'frontend',
    }),
  }),
);
const db6 = frozen(
  soconnect({
    family: 'ipv6',
    saddr: 'fd00:10::5',
    sport: 41000,
    daddr: 'fd00:96::20',
    dport: 5432,
    result: 'ECONNREFUSED',
    attributes: k8s('shop', 'db-0', { 'k8s.statefulset.name': 'db' }),
  }),
);
const mapped = frozen(soconnect({ family: 'ipv6', saddr: '::ffff:192.168.7.1', daddr: '::ffff:10.1.2.3', dport: 80 }));
const dns = frozen(
  gethostlatency({ host: 'example.com', addresses: ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'] }),
);
const drop = frozen(
  skbdrop({
    reason: 'NO_SOCKET',
    saddr: '192.168.1.9',
    daddr: '10.0.0.5',
    l4Protocol: 'UDP',
    sport: 5353,
    dport: 9999,
  }),
);
const arp = frozen(
  skbdrop({
    protocol: 'ARP',
    family: undefined,
    saddr: undefined,
    daddr: undefined,
    l4Protocol: undefined,
    sport: undefined,
    dport: undefined,
  }),
);
const retrans = frozen(tcpretrans());
const udp = frozen(udpconnect());

const cases: [name: string, config: unknown, event: NetEvent, passes: boolean][] = [
  ['include type: match', { include: { types: ['soconnect'] } }, web, true],
  ['include type: other type', { include: { types: ['soconnect'] } }, dns, false],
  ['exclude type: match', { exclude: { types: ['skbdrop'] } }, drop, false],
  ['exclude type: no match', { exclude: { types: ['skbdrop'] } }, web, true],
  ['namespace: match', { include: { namespaces: ['shop'] } }, web, true],
  ['namespace: host process has none', { include: { namespaces: ['shop'] } }, dns, false],
  ['namespace: exclude does not hit a host process', { exclude: { namespaces: ['shop'] } }, dns, true],
  ['pod: match', { include: { pods: ['db-0'] } }, db6, true],
  ['pod: other pod', { include: { pods: ['db-0'] } }, web, false],
  ['pod regexp: anchored match', { include: { match_type: 'regexp', pods: ['^web-'] } }, web, true],
  ['pod regexp: anchored miss', { include: { match_type: 'regexp', pods: ['^web-'] } }, db6, false],
  ['pod regexp: unanchored like the Collector', { include: { match_type: 'regexp', pods: ['b-7d'] } }, web, true],
  ['pod strict: substring does not match', { include: { pods: ['web'] } }, web, false],
  ['labels: every label matches', { include: { labels: { app: 'web', tier: ['backend', 'frontend'] } } }, web, true],
  ['labels: one label differs (AND)', { include: { labels: { app: 'web', tier: 'backend' } } }, web, false],
  ['labels: missing label', { include: { labels: { app: 'web' } } }, db6, false],
  ['labels regexp', { include: { match_type: 'regexp', labels: { tier: '^front' } } }, web, true],
  ['workload: statefulset name', { include: { workloads: ['db'] } }, db6, true],
  ['workload: deployment name', { include: { workloads: ['web'] } }, web, true],
  ['workload: other workload', { include: { workloads: ['db'] } }, web, false],
  ['port: peer port', { include: { ports: [443] } }, web, true],
  ['port: local port', { include: { ports: [40000] } }, web, true],
  ['port: miss', { include: { ports: [80, 8080] } }, web, false],
  ['port range', { include: { ports: ['5000-6000'] } }, db6, true],
  ['port range as quoted single port', { include: { ports: ['5432'] } }, db6, true],
  ['port range: range ends are inclusive', { include: { ports: ['9000-9999'] } }, drop, true],
  ['port: DNS lookups have none', { include: { ports: [53] } }, dns, false],
  ['port: ARP drop has none', { include: { ports: ['0-65535'] } }, arp, false],
  ['cidr v4: daddr', { include: { cidrs: ['10.96.0.0/12'] } }, web, true],
  ['cidr v4: saddr', { include: { cidrs: ['10.0.0.0/24'] } }, web, true],
  ['cidr v4: miss', { include: { cidrs: ['172.16.0.0/12'] } }, web, false],
  [
    'cidr v4: prefix boundary (10.96.0.20 not in 10.96.0.0/28)',
    { include: { cidrs: ['10.96.0.0/28', '10.0.0.6/32'] } },
    web,
    false,
  ],
  ['cidr v4: prefix boundary (10.96.0.20 in 10.96.0.16/28)', { include: { cidrs: ['10.96.0.16/28'] } }, web, true],
  ['cidr v6: daddr', { include: { cidrs: ['fd00:96::/32'] } }, db6, true],
  ['cidr v6: saddr', { include: { cidrs: ['fd00:10::/32'] } }, db6, true],
  ['cidr v6: miss', { include: { cidrs: ['fd00:97::/32'] } }, db6, false],
  ['cidr v6 does not match v4 event', { include: { cidrs: ['::/0'] } }, web, false],
  ['cidr ::/0 matches a v6 event', { include: { cidrs: ['::/0'] } }, db6, true],
  ['cidr v4 does not match v6 event', { include: { cidrs: ['0.0.0.0/0'] } }, db6, false],
  ['cidr v4 matches IPv4-mapped IPv6', { include: { cidrs: ['10.1.0.0/16'] } }, mapped, true],
  ['cidr v4 miss on IPv4-mapped IPv6', { include: { cidrs: ['10.2.0.0/16'] } }, mapped, false],
  ['cidr v6 single address = /128', { include: { cidrs: ['fd00:96::20'] } }, db6, true],
  ['cidr: DNS answer v4', { include: { cidrs: ['93.184.216.0/24'] } }, dns, true],
  ['cidr: DNS answer v6', { include: { cidrs: ['2606:2800::/32'] } }, dns, true],
  ['cidr: DNS answers miss', { include: { cidrs: ['10.0.0.0/8'] } }, dns, false],
  ['cidr: skbdrop saddr', { exclude: { cidrs: ['192.168.0.0/16'] } }, drop, false],
  ['cidr: ARP drop has no addresses', { include: { cidrs: ['0.0.0.0/0'] } }, arp, false],
  ['result: connect errno', { include: { results: ['ECONNREFUSED', 'ETIMEDOUT'] } }, db6, true],
  ['result: established is not an error', { include: { results: ['ECONNREFUSED', 'ETIMEDOUT'] } }, web, false],
  ['result: udpconnect OK', { include: { results: ['OK'] } }, udp, true],
  ['result: DNS result', { include: { results: ['OK'] } }, dns, true],
  ['result: retransmits have none', { include: { results: ['OK', 'ESTABLISHED'] } }, retrans, false],
  ['result regexp', { exclude: { match_type: 'regexp', results: ['^E'] } }, db6, false],
  ['drop reason: match', { include: { drop_reasons: ['NO_SOCKET'] } }, drop, true],
  ['drop reason: other reason', { include: { drop_reasons: ['NO_SOCKET'] } }, arp, false],
  ['drop reason: not a drop', { include: { drop_reasons: ['NO_SOCKET'] } }, retrans, false],
  ['comm: match', { include: { comms: ['curl'] } }, web, true],
  ['comm: softirq retransmit', { include: { comms: ['curl'] } }, retrans, false],
  ['comm regexp', { exclude: { match_type: 'regexp', comms: ['^swapper/\\d+$'] } }, retrans, false],
  ['criteria AND: both match', { include: { namespaces: ['shop'], ports: [443] } }, web, true],
  ['criteria AND: one misses', { include: { namespaces: ['shop'], ports: [443] } }, db6, false],
  ['exclude wins over include', { include: { namespaces: ['shop'] }, exclude: { pods: ['web-7d9f'] } }, web, false],
  ['include and not excluded', { include: { namespaces: ['shop'] }, exclude: { pods: ['web-7d9f'] } }, db6, true],
  [
    'include must match when exclude does not',
    { include: { types: ['soconnect'] }, exclude: { types: ['skbdrop'] } },
    dns,
    false,
  ],
];

for (const [name, config, event, passes] of cases) {
  test(`filter: ${name}`, () => {
    const ctx = processorContext('filter/t');
    const p = filterProcessorFactory.create(filterProcessorFactory.configSchema.parse(config), ctx);
    const out = p.process(event);
    if (passes) assert.equal(out, event, 'passes the same event object, unchanged');
    else assert.equal(out, undefined);
    assert.equal(discardedCount(ctx, 'filtered'), passes ? 0 : 1);
  });
}

test('filter: discards are counted per component over a stream', () => {
  const ctx = processorContext('filter/errors');
  const p = filterProcessorFactory.create(
    filterProcessorFactory.configSchema.parse({ exclude: { results: ['ESTABLISHED', 'OK'] } }),
    ctx,
  );
  const stream = [web, db6, udp, dns, retrans, drop];
  const kept = stream.filter((e) => p.process(e) !== undefined);
  assert.deepEqual(kept, [db6, retrans, drop]);
  assert.equal(discardedCount(ctx, 'filtered'), 3);
});

test('filter: CIDR verdicts stay right beyond the bounded memo of addresses', () => {
  const ctx = processorContext('filter/memo');
  const p = filterProcessorFactory.create(
    filterProcessorFactory.configSchema.parse({ include: { cidrs: ['10.0.0.0/9', 'fd00::/9'] } }),
    ctx,
  );
  const n = CIDR_MEMO_MAX + 4000;
  let kept = 0;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < n; i++) {
      // 10.0-127.x.x is inside 10.0.0.0/9, 10.128-255.x.x outside; likewise fd00-fd7f:: vs fd80::.
      const inside = i % 2 === 0;
      const v6 = i % 3 === 0;
      const daddr = v6
        ? `${inside ? 'fd00' : 'fd80'}::${i.toString(16)}`
        : `10.${(inside ? 0 : 128) + ((i >> 16) & 127)}.${(i >> 8) & 255}.${i & 255}`;
      const out = p.process(
        soconnect({ family: v6 ? 'ipv6' : 'ipv4', saddr: v6 ? '2001:db8::1' : '192.0.2.1', daddr }),
      );
      assert.equal(out !== undefined, inside, daddr);
      kept += out ? 1 : 0;
    }
  }
  assert.equal(kept, n);
  assert.equal(discardedCount(ctx, 'filtered'), n);
});
