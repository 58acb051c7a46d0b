/**
 * process: pid → executable name/path, command line and parent pid, read
 * from /proc once per process instance and cached (bounded LRU).
 *
 * Cache hits do not touch /proc. A cached pid is re-validated (stat start
 * time + exe link: two tiny reads) when its revalidation interval expired or
 * an event carries a comm never seen for it (exec, or a thread with its own
 * name); a changed start time means the pid was reused → full re-read.
 * Processes gone before the first lookup pass on unenriched (the event keeps
 * the probe's pid/comm) and are counted in netspan_enrich_misses_total.
 * Events of a type not in `types` (by default tcpretrans and skbdrop, whose
 * pid is an interrupted task) pass on untouched and uncounted.
 */
import { basename } from 'node:path';
import type { EventType, NetEvent } from '../../core/event.js';
import type { ComponentContext, Processor } from '../../pipeline/component.js';
import type { Counter } from '../../telemetry/metrics.js';
import { Lru } from '../../enrich/lru.js';
import { missCounter } from '../../enrich/metrics.js';
import { withSharedAttributes } from '../../enrich/attrs.js';
import { ProcReadError, readCmdline, readExe, readStat } from '../../enrich/proc-reader.js';
import type { ProcessConfig } from './config.js';

type Attrs = NonNullable<NetEvent['attributes']>;

interface LiveEntry {
  kind: 'live';
  startTime: string;
  exePath: string | undefined;
  comms: string[];
  checkedAt: number;
  attrs: Attrs;
}
interface GoneEntry {
  kind: 'gone';
  until: number;
}

const MAX_COMMS = 8;

export interface ProcessProcessorOptions {
  now?: () => number;
}

export class ProcessProcessor implements Processor {
  private readonly cache: Lru<number, LiveEntry | GoneEntry>;
  private readonly now: () => number;
  private readonly misses: Counter;
  private readonly enriched: ReadonlySet<EventType>;
  /** Reads of /proc done (full loads and revalidations), for tests and the benchmark. */
  readonly stats = { loads: 0, revalidations: 0 };

  constructor(
    private readonly config: ProcessConfig,
    private readonly ctx: ComponentContext,
    opts: ProcessProcessorOptions = {},
  ) {
    this.cache = new Lru(config.max_entries);
    this.now = opts.now ?? Date.now;
    this.misses = missCounter(ctx.telemetry);
    this.enriched = new Set(config.types);
  }

  get cacheSize(): number {
    return this.cache.size;
  }

  process(event: NetEvent): NetEvent {
    const entry = this.entryFor(event, true);
    return entry ? withSharedAttributes(event, entry.attrs) : event;
  }

  /** Read time (before the reorder stage holds the event): load /proc while the process is surely there. */
  prime(event: NetEvent): void {
    this.entryFor(event, false);
  }

  private entryFor(event: NetEvent, count: boolean): LiveEntry | undefined {
    if (!this.enriched.has(event.type)) return undefined;
    const pid = event.pid;
    if (!(pid > 0)) {
      if (count) this.misses.inc({ processor: 'process', reason: 'no_pid' });
      return undefined;
    }
    const now = this.now();
    let entry = this.cache.get(pid);
    if (entry?.kind === 'gone') {
      if (now < entry.until) {
        if (count) this.misses.inc({ processor: 'process', reason: 'process_gone' });
        return undefined;
      }
      entry = undefined;
    } else if (
      entry &&
      (now - entry.checkedAt >= this.config.revalidate_interval_ms || !entry.comms.includes(event.comm))
    ) {
      entry = this.revalidate(pid, entry, event.comm, now);
    }
    if (!entry) {
      const loaded = this.load(pid, event.comm, now, count);
      if (loaded.kind === 'gone') return undefined;
      entry = loaded;
    }
    return entry;
  }

  /** Returns the entry to use, or undefined when the pid now belongs to another process instance / image. */
  private revalidate(pid: number, entry: LiveEntry, comm: string, now: number): LiveEntry | undefined {
    this.stats.revalidations++;
    const root = this.config.proc_root;
    let startTime: string;
    try {
      startTime = readStat(root, pid).startTime;
    } catch {
      // Exited since it was cached: the cached identity is still the best answer
      // for its late events (they were produced before it exited).
      entry.checkedAt = now;
      return entry;
    }
    if (startTime !== entry.startTime) return undefined; // pid reused
    const exe = readExe(root, pid);
    if (exe !== undefined && exe !== entry.exePath) return undefined; // exec'd another image
    if (!entry.comms.includes(comm)) {
      if (entry.comms.length >= MAX_COMMS) entry.comms.shift();
      entry.comms.push(comm);
    }
    entry.checkedAt = now;
    return entry;
  }

  private load(pid: number, comm: string, now: number, count: boolean): LiveEntry | GoneEntry {
    this.stats.loads++;
    const root = this.config.proc_root;
    try {
      const st = readStat(root, pid);
      const cmdline = readCmdline(root, pid, this.config.max_cmdline_bytes);
      const exePath = readExe(root, pid);
      const attrs: Attrs = { 'process.parent_pid': st.ppid };
      if (exePath !== undefined) {
        attrs['process.executable.path'] = exePath;
        attrs['process.executable.name'] = basename(exePath);
      }
      if (cmdline !== '') attrs['process.command_line'] = cmdline;
      const entry: LiveEntry = {
        kind: 'live',
        startTime: st.startTime,
        exePath,
        comms: comm === st.comm ? [comm] : [st.comm, comm],
        checkedAt: now,
        attrs,
      };
      this.cache.set(pid, entry);
      return entry;
    } catch (err) {
      const reason = err instanceof ProcReadError && err.reason === 'gone' ? 'process_gone' : 'proc_unreadable';
      if (count) this.misses.inc({ processor: 'process', reason });
      if (reason === 'proc_unreadable') {
        this.ctx.telemetry.rl.warn(
          `enrich:process:${this.ctx.id}`,
          { error: (err as Error).message },
          'Cannot read /proc for a pid; event passed on unenriched',
        );
      }
      const gone: GoneEntry = { kind: 'gone', until: now + this.config.negative_ttl_ms };
      if (this.config.negative_ttl_ms > 0) this.cache.set(pid, gone);
      return gone;
    }
  }
}
