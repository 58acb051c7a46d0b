/**
 * Live: real bpftrace on skb:kfree_skb. All traffic stays inside a network
 * namespace this test creates (10.201.0.1/32 and ::1 on its loopback), with
 * an nftables drop rule of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { testCgroups } from '../../../test/helpers/cgroups.js';
import { runProbeDuring } from '../../../test/helpers/live.js';
import type { SkbDropEvent } from '../../core/event.js';
import { skbdropProbe } from './index.js';

const base = 41000 + (process.pid % 500) * 20; // this run's ports: base .. base+19

// once bpftrace attached: a UDP packet to a closed port (base + 15) until the probe reports one
const CANARY = `
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('10.201.0.1', 0))
u.sendto(b'c', ('10.201.0.1', int(sys.argv[1]) + 15))
`;

const SENDER = `
import socket, sys
b = int(sys.argv[1])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('10.201.0.1', b))
u.sendto(b'x', ('10.201.0.1', b + 1))        # closed port: NO_SOCKET
u.sendto(b'y', ('10.201.0.1', b + 3))        # nft drop: NETFILTER_DROP
u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u6.bind(('::1', b + 10))
u6.sendto(b'z', ('::1', b + 11))             # closed port: NO_SOCKET (IPv6)
t = socket.socket(); t.bind(('10.201.0.1', b + 20 - 1)); t.settimeout(2)
try:
    t.connect(('10.201.0.1', b + 5))         # SYN to a closed port: NO_SOCKET (TCP)
except OSError:
    pass
print('done')
`;

// Both scripts print their pid, then wait for a line on stdin: the test moves that pid into its cgroup
// first (\`ip netns exec\` forks, so execa's pid is not python's). The receiver then makes a UDP socket
// with the smallest receive buffer and never reads (a socket keeps the cgroup it was made in); the
// sender's burst overflows it (SOCKET_RCVBUFF).
const RECEIVER = `
import os, socket, sys
print(os.getpid(), flush=True)
sys.stdin.readline()
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
r.bind(('10.201.0.1', int(sys.argv[1]) + 7))
print('ready', flush=True)
sys.stdin.readline()
`;

const BURST = `
import os, socket, sys
b = int(sys.argv[1])
print(os.getpid(), flush=True)
sys.stdin.readline()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('10.201.0.1', b + 8))
for i in range(200):
    u.sendto(b'x' * 1000, ('10.201.0.1', b + 7))
print('done', flush=True)
`;

/** Lines of a child's stdout, in order, read from the start (none missed); each wait fails after 15 s. */
function lineReader(out: NodeJS.ReadableStream, name: string): () => Promise<string> {
  const lines: string[] = [];
  let partial = '';
  let wake: (() => void) | undefined;
  out.on('data', (d: Buffer) => {
    partial += d.toString();
    for (let i = partial.indexOf('\n'); i >= 0; i = partial.indexOf('\n')) {
      lines.push(partial.slice(0, i).trim());
      partial = partial.slice(i + 1);
    }
    wake?.();
  });
  return async () => {
    const until = Date.now() + 15_000;
    while (lines.length === 0) {
      if (Date.now() > until) throw new Error(`no line from the ${name} within 15 s`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
    return lines.shift()!;
  };
}

async function sh(args: string[], input?: string): Promise<void> {
  await execa(args[0]!, args.slice(1), {
    timeout: 10_000,
    ...(input !== undefined ? { input } : { stdin: 'ignore' as const }),
  });
}

test('skbdrop live: NO_SOCKET (UDP, UDP6, TCP) and NETFILTER_DROP in a private namespace', async () => {
  const ns = `nsskb${process.pid}${randomBytes(2).toString('hex')}`;
  try {
    await sh(['ip', 'netns', 'add', ns]);
    await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await sh(['ip', '-n', ns, 'addr', 'add', '10.201.0.1/32', 'dev', 'lo']);
    await sh(
      ['ip', 'netns', 'exec', ns, 'nft', '-f', '-'],
      `table inet netspan_skbdrop_test {\n chain input {\n  type filter hook input priority 0; policy accept;\n  udp dport ${base + 3} drop\n }\n}\n`,
    );
    const live = await runProbeDuring(
      skbdropProbe,
      async () => {
        const r = await execa('ip', ['netns', 'exec', ns, 'python3', '-c', SENDER, String(base)], {
          timeout: 15_000,
          stdin: 'ignore',
        });
        assert.equal(String(r.stdout).trim(), 'done');
      },
      500,
      undefined,
      {
        send: () => sh(['ip', 'netns', 'exec', ns, 'python3', '-c', CANARY, String(base)]),
        seen: (e) => e.type === 'skbdrop' && e.dport === base + 15,
      },
    );
    assert.deepEqual(live.errors, [], `parse errors; bpftrace stderr:\n${live.stderr}`);
    const mine = live.events.filter(
      (e): e is SkbDropEvent => e.type === 'skbdrop' && e.dport !== undefined && e.dport > base && e.dport < base + 12,
    );
    const row = (e: SkbDropEvent): unknown[] => [
      e.reason,
      e.protocol,
      e.family,
      e.saddr,
      e.daddr,
      e.l4Protocol,
      e.sport,
      e.dport,
    ];
    assert.deepEqual(mine.map(row), [
      ['NO_SOCKET', 'IPv4', 'ipv4', '10.201.0.1', '10.201.0.1', 'UDP', base, base + 1],
      ['NETFILTER_DROP', 'IPv4', 'ipv4', '10.201.0.1', '10.201.0.1', 'UDP', base, base + 3],
      ['NO_SOCKET', 'IPv6', 'ipv6', '::1', '::1', 'UDP', base + 10, base + 11],
      ['NO_SOCKET', 'IPv4', 'ipv4', '10.201.0.1', '10.201.0.1', 'TCP', base + 19, base + 5],
    ]);
    const [udp, nf, udp6, tcp] = mine as [SkbDropEvent, SkbDropEvent, SkbDropEvent, SkbDropEvent];
    assert.match(udp.location, /^__udp4_lib_rcv\+\d+$/);
    assert.match(nf.location, /^nft_do_chain\+\d+$/);
    assert.match(udp6.location, /^__udp6_lib_rcv\+\d+$/);
    assert.match(tcp.location, /^tcp_v4_rcv\+\d+$/);
    for (const e of mine) {
      assert.ok(e.stack.length >= 5, `stack of ${e.reason}: ${e.stack.join(' | ')}`);
      assert.ok(
        e.stack.every((f) => /^[\w.$]+\+\d+$/.test(f)),
        e.stack.join(' | '),
      );
      assert.ok(e.stack.includes(e.location), `${e.location} in its stack`);
      const skew = Number(e.timeUnixNano / 1_000_000n) - Date.now();
      assert.ok(Math.abs(skew) < 120_000, `timestamp off by ${skew} ms`);
    }
    assert.ok(nf.stack.some((f) => f.startsWith('nf_hook_slow+')));
  } finally {
    await execa('ip', ['netns', 'del', ns], { reject: false, timeout: 10_000, stdin: 'ignore' });
  }
});

test("skbdrop live: a drop at a full receive buffer carries the receiving socket's cgroup, not the sender's", async (t) => {
  const ns = `nsskr${process.pid}${randomBytes(2).toString('hex')}`;
  const cg = await testCgroups();
  const netns = (script: string) =>
    execa('ip', ['netns', 'exec', ns, 'python3', '-c', script, String(base)], {
      timeout: 20_000,
      stdin: 'pipe',
      stdout: 'pipe',
      reject: false,
    });
  try {
    await sh(['ip', 'netns', 'add', ns]);
    await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    await sh(['ip', '-n', ns, 'addr', 'add', '10.201.0.1/32', 'dev', 'lo']);
    const receiverCg = await cg.create('receiver');
    const senderCg = await cg.create('sender');
    const receiver = netns(RECEIVER);
    const sender = netns(BURST);
    t.after(() => {
      receiver.kill();
      sender.kill();
    });
    const receiverLine = lineReader(receiver.stdout, 'receiver');
    const senderLine = lineReader(sender.stdout, 'sender');
    await cg.enter('receiver', Number(await receiverLine()));
    await cg.enter('sender', Number(await senderLine()));
    const bound = receiverLine();
    receiver.stdin.write('\n');
    assert.equal(await bound, 'ready');
    const live = await runProbeDuring(
      skbdropProbe,
      async () => {
        sender.stdin.write('go\n');
        const r = await sender;
        assert.match(String(r.stdout), /done$/);
      },
      500,
      undefined,
      {
        send: () => sh(['ip', 'netns', 'exec', ns, 'python3', '-c', CANARY, String(base)]),
        seen: (e) => e.type === 'skbdrop' && e.dport === base + 15,
      },
    );
    receiver.stdin.write('\n');
    await receiver;
    assert.deepEqual(live.errors, [], `parse errors; bpftrace stderr:\n${live.stderr}`);
    const full = live.events.filter(
      (e): e is SkbDropEvent => e.type === 'skbdrop' && e.dport === base + 7 && e.reason === 'SOCKET_RCVBUFF',
    );
    assert.ok(full.length >= 10, `a burst of 200 overflows a 1-byte receive buffer (${full.length} drops)`);
    assert.deepEqual(
      [...new Set(full.map((e) => e.cgroupId))],
      [receiverCg.id],
      `receiver ${receiverCg.id}, sender ${senderCg.id}`,
    );
  } finally {
    await execa('ip', ['netns', 'del', ns], { reject: false, timeout: 10_000, stdin: 'ignore' });
    await cg.remove();
  }
});
