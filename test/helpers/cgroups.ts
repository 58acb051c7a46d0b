/**
 * Real cgroup v2 directories for tests, under the host's cgroup2 mount, in a
 * uniquely named parent per run. `remove()` moves every process back to the
 * root cgroup first, then removes the directories deepest-first; call it in
 * a finally block.
 */
import { mkdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findCgroup2Mount } from '../../src/enrich/cgroup-resolver.js';

export interface TestCgroups {
  mount: string;
  /** Relative path of the per-run parent, e.g. "/netspan-test-1234-ab12". */
  base: string;
  /** Creates base + rel (all levels); returns the leaf's relative path (from the mount) and inode (= cgroup id). */
  create(rel: string): Promise<{ path: string; id: number }>;
  /** Moves a process into base + rel. */
  enter(rel: string, pid: number): Promise<void>;
  remove(): Promise<void>;
}

export async function cgroup2Mount(): Promise<string> {
  const m = findCgroup2Mount(await readFile('/proc/self/mountinfo', 'utf8'));
  if (!m) throw new Error('no cgroup2 mount in /proc/self/mountinfo');
  return m;
}

export async function testCgroups(): Promise<TestCgroups> {
  const mount = await cgroup2Mount();
  const base = `/netspan-test-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
  await mkdir(join(mount, base));
  const created: string[] = [base];
  return {
    mount,
    base,
    async create(rel) {
      const parts = rel.split('/').filter((p) => p !== '');
      let cur = base;
      for (const p of parts) {
        cur = `${cur}/${p}`;
        try {
          await mkdir(join(mount, cur));
          created.push(cur);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      }
      const st = await stat(join(mount, cur), { bigint: true });
      return { path: cur, id: Number(st.ino) };
    },
    async enter(rel, pid) {
      await writeFile(join(mount, base, rel, 'cgroup.procs'), String(pid));
    },
    async remove() {
      const errors: string[] = [];
      for (const dir of [...created].reverse()) {
        try {
          const procs = (await readFile(join(mount, dir, 'cgroup.procs'), 'utf8')).split('\n').filter((l) => l !== '');
          for (const pid of procs) {
            try {
              await writeFile(join(mount, 'cgroup.procs'), pid);
            } catch {
              /* exited meanwhile */
            }
          }
          await rmdir(join(mount, dir));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') errors.push(`${dir}: ${(err as Error).message}`);
        }
      }
      if (errors.length > 0) throw new Error(`could not remove test cgroups:\n${errors.join('\n')}`);
    },
  };
}
