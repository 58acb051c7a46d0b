/**
 * Real cgroup v2 directories (containerd / CRI-O / Docker / Podman shapes)
 * with a real process in them. Needs root and a cgroup2 mount; fails (never
 * skips) without them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { CgroupResolver, DEFAULT_RESOLVER_OPTIONS, findCgroup2Mount } from './cgroup-resolver.js';
import { testCgroups } from '../../test/helpers/cgroups.js';

const A = '0123456789abcdef'.repeat(4);
const B = 'fedcba9876543210'.repeat(4);
const C = '00112233445566778899aabbccddeeff'.repeat(2);
const D = 'abcdefabcdefabcd'.repeat(4);
const UID = '1b2c3d4e-5f60-4718-89ab-cdef01234567';
const SHAPES = {
  containerd: `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${A}.scope`,
  crio: `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice/crio-${B}.scope`,
  docker: `system.slice/docker-${C}.scope`,
  dockerCgroupfs: `docker/${D}`,
};

test('findCgroup2Mount: hybrid, unified and escaped mount points', () => {
  const hybrid = '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n';
  const unified = '30 24 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n';
  const nsRoot = '30 24 0:26 /kubepods.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n';
  assert.equal(findCgroup2Mount(hybrid), '/sys/fs/cgroup/unified');
  assert.equal(findCgroup2Mount(unified), '/sys/fs/cgroup');
  assert.equal(findCgroup2Mount(nsRoot), undefined);
  assert.equal(findCgroup2Mount('1 0 0:1 / /my\\040cg rw - cgroup2 none rw\n'), '/my cg');
});

test(
  'real cgroups: inode → container id, runtime, pod UID for every runtime shape; /proc/<pid>/cgroup fallback',
  { timeout: 30_000 },
  async () => {
    const cg = await testCgroups();
    const sleepers: Array<ReturnType<typeof execa>> = [];
    try {
      const ids: Record<string, number> = {};
      for (const [k, rel] of Object.entries(SHAPES)) {
        const c = await cg.create(rel);
        ids[k] = c.id;
        // same number as `stat -c %i`
        const { stdout } = await execa('stat', ['-c', '%i', join(cg.mount, c.path)]);
        assert.equal(Number(stdout.trim()), c.id);
        const child = execa('sleep', ['30'], { reject: false });
        sleepers.push(child);
        await cg.enter(rel, child.pid!);
      }
      const r = new CgroupResolver({ ...DEFAULT_RESOLVER_OPTIONS, rescanMinIntervalMs: 0 });
      assert.equal(r.root, cg.mount);
      const got = (k: keyof typeof SHAPES) => {
        const x = r.resolve(ids[k]!, 0);
        return (
          x && { containerId: x.containerId, runtime: x.runtime, podUid: x.podUid, host: x.host, source: x.source }
        );
      };
      assert.deepEqual(got('containerd'), {
        containerId: A,
        runtime: 'containerd',
        podUid: UID,
        host: false,
        source: 'cgroupfs',
      });
      assert.deepEqual(got('crio'), { containerId: B, runtime: 'cri-o', podUid: UID, host: false, source: 'cgroupfs' });
      assert.deepEqual(got('docker'), {
        containerId: C,
        runtime: 'docker',
        podUid: undefined,
        host: false,
        source: 'cgroupfs',
      });
      assert.deepEqual(got('dockerCgroupfs'), {
        containerId: D,
        runtime: 'docker',
        podUid: undefined,
        host: false,
        source: 'cgroupfs',
      });
      assert.equal(r.stats.scans, 1, 'one scan indexed all four');
      // The root cgroup is a host cgroup.
      const rootId = Number((await stat(cg.mount, { bigint: true })).ino);
      assert.deepEqual({ ...r.resolve(rootId, 0)!, source: undefined }, { path: '/', host: true, source: undefined });

      // Fallback by pid (cgroup id 0 = unknown): the v2 "0::" line of the sleeper in the containerd cgroup.
      const pid = sleepers[0]!.pid!;
      const line = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').find((l) => l.startsWith('0::'));
      assert.equal(line, `0::${cg.base}/${SHAPES.containerd}`);
      const byPid = new CgroupResolver({ ...DEFAULT_RESOLVER_OPTIONS, rescanMinIntervalMs: 0 }).resolve(0, pid)!;
      assert.deepEqual([byPid.containerId, byPid.runtime, byPid.podUid, byPid.source], [A, 'containerd', UID, 'proc']);
    } finally {
      for (const s of sleepers) s.kill('SIGKILL');
      await Promise.all(sleepers.map((s) => s.catch(() => undefined)));
      await cg.remove();
    }
  },
);

test(
  'real cgroups: unknown id re-scans at most once per interval; cgroup created later is found after the interval',
  { timeout: 30_000 },
  async () => {
    const cg = await testCgroups();
    try {
      let now = 1_000_000;
      const r = new CgroupResolver({ ...DEFAULT_RESOLVER_OPTIONS, rescanMinIntervalMs: 5_000, now: () => now });
      assert.equal(r.resolve(987_654_321, 0), undefined);
      assert.equal(r.stats.scans, 1);
      const later = await cg.create(`machine.slice/libpod-${A}.scope`);
      now += 1_000;
      assert.equal(r.resolve(later.id, 0), undefined, 'within the interval: no re-scan');
      assert.equal(r.resolve(later.id, 0), undefined);
      assert.equal(r.stats.scans, 1);
      now += 4_000;
      const found = r.resolve(later.id, 0)!;
      assert.deepEqual([found.containerId, found.runtime, found.host], [A, 'podman', false]);
      assert.equal(r.stats.scans, 2);
      // cached now: no further scans even past the interval
      now += 60_000;
      assert.equal(r.resolve(later.id, 0)!.containerId, A);
      assert.equal(r.stats.scans, 2);
    } finally {
      await cg.remove();
    }
  },
);

test('scan is bounded by max_cgroups and max_depth', { timeout: 30_000 }, async () => {
  const cg = await testCgroups();
  try {
    const deep = await cg.create('a/b/c/d/e/f');
    const limited = new CgroupResolver({ ...DEFAULT_RESOLVER_OPTIONS, root: join(cg.mount, cg.base), maxDepth: 3 });
    limited.scan();
    assert.equal(limited.stats.lastScanDirs, 4); // base, a, b, c
    assert.equal(limited.stats.truncated, true);
    assert.equal(limited.resolve(deep.id, 0), undefined);
    const few = new CgroupResolver({ ...DEFAULT_RESOLVER_OPTIONS, root: join(cg.mount, cg.base), maxCgroups: 2 });
    few.scan();
    assert.equal(few.stats.lastScanDirs, 2);
    assert.equal(few.stats.truncated, true);
  } finally {
    await cg.remove();
  }
});
