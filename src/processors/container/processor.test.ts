import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { execa } from 'execa';
import type { NetEvent } from '../../core/event.js';
import { connectEvent } from '../../../test/helpers/events.js';
import { testContext } from '../../../test/helpers/enrich.js';
import { testCgroups } from '../../../test/helpers/cgroups.js';
import { runProbeDuring } from '../../../test/helpers/live.js';
import { soconnectProbe } from '../../probes/soconnect/index.js';
import { containerConfigSchema } from './config.js';
import { containerProcessorFactory } from './factory.js';
import type { ContainerProcessor } from './processor.js';

const CID = '9f8e7d6c5b4a39281706f5e4d3c2b1a0'.repeat(2);
const UID = '7c0ffee0-1234-4abc-8def-0123456789ab';
const REL = `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${CID}.scope`;

test('config: defaults and strictness', () => {
  const c = containerConfigSchema.parse({});
  assert.deepEqual(c, {
    cgroup_root: '',
    proc_root: '/proc',
    rescan_min_interval_ms: 1_000,
    max_cgroups: 200_000,
    max_depth: 16,
    cache_size: 16_384,
  });
  assert.equal(containerConfigSchema.safeParse({ cgroup_rot: '/x' }).success, false);
});

test(
  'container: real cgroup (containerd shape) → container.id/runtime/pod uid; host and unknown ids',
  { timeout: 30_000 },
  async () => {
    const cg = await testCgroups();
    try {
      const { id } = await cg.create(REL);
      const ctx = testContext();
      const p = containerProcessorFactory.create(
        containerConfigSchema.parse({ rescan_min_interval_ms: 0, cache_size: 100 }),
        ctx,
      ) as ContainerProcessor;
      await p.start();
      const input: NetEvent = {
        ...connectEvent({ cgroupId: id, pid: 0 }),
        attributes: { 'process.executable.name': 'curl' },
      };
      const out = p.process(input);
      assert.deepEqual(out.attributes, {
        'process.executable.name': 'curl',
        'container.id': CID,
        'container.runtime': 'containerd',
        'k8s.pod.uid': UID,
      });
      assert.deepEqual(input.attributes, { 'process.executable.name': 'curl' }, 'input not mutated');

      const rootId = Number((await stat(cg.mount, { bigint: true })).ino);
      assert.deepEqual(p.process(connectEvent({ cgroupId: rootId, pid: 0 })).attributes, {
        'netspan.host_process': true,
      });

      const unknown = connectEvent({ cgroupId: 4_000_000_000, pid: 0 });
      assert.equal(p.process(unknown), unknown);
      assert.equal(
        ctx.telemetry.metrics
          .counter('netspan_enrich_misses_total', '')
          .get({ processor: 'container', reason: 'cgroup_unknown' }),
        1,
      );
    } finally {
      await cg.remove();
    }
  },
);

test(
  'container live: soconnect event from a process inside a containerd-shaped cgroup resolves by its cgroup id',
  { timeout: 60_000 },
  async () => {
    const cg = await testCgroups();
    const server = createServer((s) => s.on('error', () => {}).resume());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    let clientPid = 0;
    try {
      const { id } = await cg.create(REL);
      const script =
        "const net=require('net');process.stdin.once('data',()=>{const s=net.connect(Number(process.argv[1]),'127.0.0.1',()=>{s.end();setTimeout(()=>process.exit(0),50)});s.on('error',()=>process.exit(3))});setTimeout(()=>process.exit(4),20000)";
      const live = await runProbeDuring(soconnectProbe, async () => {
        const child = execa(process.execPath, ['-e', script, String(port)], { reject: false, stdin: 'pipe' });
        clientPid = child.pid!;
        await cg.enter(REL, clientPid);
        child.stdin.end('go\n');
        const r = await child;
        assert.equal(r.exitCode, 0, r.stderr);
      });
      const ev = live.events.find((e) => e.pid === clientPid && e.type === 'soconnect');
      assert.ok(
        ev,
        `no soconnect event for pid ${clientPid}; got ${live.events.length} events, errors ${live.errors.join('; ')}`,
      );
      assert.equal(ev.cgroupId, id, 'bpftrace cgroup builtin = inode of the cgroup v2 directory');
      const p = containerProcessorFactory.create(
        containerConfigSchema.parse({ rescan_min_interval_ms: 0 }),
        testContext(),
      ) as ContainerProcessor;
      await p.start();
      assert.deepEqual(p.process(ev).attributes, {
        'container.id': CID,
        'container.runtime': 'containerd',
        'k8s.pod.uid': UID,
      });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cg.remove();
    }
  },
);
