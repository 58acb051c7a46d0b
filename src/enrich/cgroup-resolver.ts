/**
 * cgroup id (bpftrace `cgroup` = inode number of the task's cgroup v2
 * directory) → cgroup path → container / pod identity.
 *
 * The cgroup2 hierarchy is walked once (bounded: depth, directory count) into
 * an inode → path index; an unknown id triggers a re-scan, at most once per
 * `rescanMinIntervalMs`. Resolved identities are cached in a bounded LRU. When
 * the id is still unknown (cgroup created and gone between scans, id 0, or
 * a cgroup v1-only host), /proc/<pid>/cgroup is parsed instead: the v2 "0::"
 * line, else the v1 controller lines.
 */
import { closeSync, openSync, readFileSync, readSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { Lru } from './lru.js';
import { isHostPath, parseCgroupPath, type CgroupIdentity } from './cgroup-path.js';

export interface ResolvedCgroup extends CgroupIdentity {
  /** cgroup path relative to the cgroup2 mount (or from /proc/<pid>/cgroup), e.g. "/kubepods.slice/…". */
  path: string;
  host: boolean;
  source: 'cgroupfs' | 'proc';
}

export interface CgroupResolverOptions {
  /** cgroup2 mount point; '' = find it in /proc/self/mountinfo. */
  root: string;
  procRoot: string;
  rescanMinIntervalMs: number;
  /** Bound on directories indexed per scan. */
  maxCgroups: number;
  maxDepth: number;
  cacheSize: number;
  now?: () => number;
}

export const DEFAULT_RESOLVER_OPTIONS: CgroupResolverOptions = {
  root: '',
  procRoot: '/proc',
  rescanMinIntervalMs: 1_000,
  maxCgroups: 200_000,
  maxDepth: 16,
  cacheSize: 16_384,
};

/** Unescapes the octal escapes (\040 = space) of /proc/self/mountinfo fields. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount point of the cgroup2 filesystem whose root is the hierarchy root, from mountinfo text. */
export function findCgroup2Mount(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const fstype = line.slice(dash + 3).split(' ')[0];
    if (fstype !== 'cgroup2') continue;
    const f = line.slice(0, dash).split(' ');
    if (f[3] === '/' && f[4] !== undefined) return unescapeMount(f[4]);
  }
  return undefined;
}

export interface ScanStats {
  scans: number;
  lastScanDirs: number;
  lastScanMs: number;
  truncated: boolean;
}

export class CgroupResolver {
  readonly root: string | undefined;
  private index = new Map<number, string>();
  private readonly cache: Lru<number, ResolvedCgroup>;
  private lastScanAt = -Infinity;
  private readonly now: () => number;
  readonly stats: ScanStats = { scans: 0, lastScanDirs: 0, lastScanMs: 0, truncated: false };
  private readonly buf = Buffer.allocUnsafe(16 * 1024);

  constructor(readonly opts: CgroupResolverOptions) {
    this.now = opts.now ?? Date.now;
    this.cache = new Lru(opts.cacheSize);
    let root: string | undefined = opts.root;
    if (root === '') {
      try {
        root = findCgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
      } catch {
        root = undefined;
      }
    }
    this.root = root;
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  /** Identity for an event's cgroup id, falling back to its pid; undefined when neither resolves. */
  resolve(cgroupId: number, pid: number): ResolvedCgroup | undefined {
    if (cgroupId > 0) {
      const hit = this.cache.get(cgroupId);
      if (hit) return hit;
      let path = this.index.get(cgroupId);
      if (
        path === undefined &&
        this.root !== undefined &&
        this.now() - this.lastScanAt >= this.opts.rescanMinIntervalMs
      ) {
        this.scan();
        path = this.index.get(cgroupId);
      }
      if (path !== undefined) {
        const r = resolved(path, 'cgroupfs');
        this.cache.set(cgroupId, r);
        return r;
      }
    }
    return pid > 0 ? this.fromProc(cgroupId, pid) : undefined;
  }

  /** Walks the cgroup2 hierarchy (iteratively, bounded) into the inode → path index. */
  scan(): void {
    const root = this.root;
    if (root === undefined) return;
    const t0 = performance.now();
    this.lastScanAt = this.now();
    const next = new Map<number, string>();
    const stack: Array<[string, number]> = [['', 0]];
    let truncated = false;
    while (stack.length > 0) {
      if (next.size >= this.opts.maxCgroups) {
        truncated = true;
        break;
      }
      const [rel, depth] = stack.pop()!;
      const abs = root + rel;
      let ino: number;
      let entries: Dirent[];
      try {
        ino = Number(statSync(abs, { bigint: true }).ino);
        entries = readdirSync(abs, { withFileTypes: true });
      } catch {
        continue; // removed while walking
      }
      next.set(ino, rel === '' ? '/' : rel);
      if (depth >= this.opts.maxDepth) {
        if (entries.some((e) => e.isDirectory())) truncated = true;
        continue;
      }
      for (const e of entries) if (e.isDirectory()) stack.push([`${rel}/${e.name}`, depth + 1]);
    }
    this.index = next;
    this.stats.scans++;
    this.stats.lastScanDirs = next.size;
    this.stats.lastScanMs = performance.now() - t0;
    this.stats.truncated = truncated;
  }

  private fromProc(cgroupId: number, pid: number): ResolvedCgroup | undefined {
    let text: string;
    try {
      const fd = openSync(`${this.opts.procRoot}/${pid}/cgroup`, 'r');
      try {
        const n = readSync(fd, this.buf, 0, this.buf.length, null);
        text = this.buf.toString('utf8', 0, n);
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
    const lines = text.split('\n');
    const v2 = lines.find((l) => l.startsWith('0::'));
    if (v2 !== undefined) {
      const path = v2.slice(3);
      const r = resolved(path, 'proc');
      // Cache under the event's id only when that id really is this path's inode
      // (the task may have moved since the event).
      if (cgroupId > 0 && this.root !== undefined) {
        try {
          if (Number(statSync(this.root + path, { bigint: true }).ino) === cgroupId) {
            this.index.set(cgroupId, path);
            this.cache.set(cgroupId, { ...r, source: 'cgroupfs' });
          }
        } catch {
          /* gone */
        }
      }
      if (!r.host) return r;
    }
    // cgroup v1 (or a v2 path that says nothing): the first controller path naming a container or pod.
    for (const l of lines) {
      const c1 = l.indexOf(':');
      const c2 = c1 < 0 ? -1 : l.indexOf(':', c1 + 1);
      if (c2 < 0 || l.startsWith('0::')) continue;
      const r = resolved(l.slice(c2 + 1), 'proc');
      if (!r.host) return r;
    }
    return v2 !== undefined ? resolved(v2.slice(3), 'proc') : undefined;
  }
}

function resolved(path: string, source: ResolvedCgroup['source']): ResolvedCgroup {
  const id = parseCgroupPath(path);
  return { ...id, path, host: isHostPath(id), source };
}

const shared = new Map<string, CgroupResolver>();

/** One resolver (one index, one cache) per option set, shared by the container and k8s processors. */
export function sharedCgroupResolver(opts: CgroupResolverOptions): CgroupResolver {
  const key = JSON.stringify([
    opts.root,
    opts.procRoot,
    opts.rescanMinIntervalMs,
    opts.maxCgroups,
    opts.maxDepth,
    opts.cacheSize,
  ]);
  let r = shared.get(key);
  if (!r || opts.now) {
    r = new CgroupResolver(opts);
    if (!opts.now) shared.set(key, r);
  }
  return r;
}
