import type { EventType } from '../core/event.js';
import type { Clock, ProbeParser } from '../core/parser.js';
import type { ProbeConfig } from './config.js';

/** A kernel hook a probe attaches to; `netspan doctor` checks each one. */
export type Hook =
  | { kind: 'tracepoint'; category: string; name: string }
  | { kind: 'uprobe' | 'uretprobe'; binary: string; symbol: string };

/** Facts about the host a probe needs to build its program and parser. */
export interface HostContext {
  /** Mount point of tracefs, e.g. /sys/kernel/tracing. */
  tracefs: string;
  /** Absolute path of the C library the resolver probes attach to. */
  libcPath: string;
  clock: Clock;
}

/** Everything needed to start one bpftrace process for a probe. */
export interface PreparedProbe {
  /** bpftrace program text (placeholders already substituted). */
  program: string;
  /** Extra environment for bpftrace (e.g. BPFTRACE_STRLEN). */
  env: Record<string, string>;
  hooks: Hook[];
  createParser(): ProbeParser;
}

/** One probe: a bpftrace program under probes/<name>/ plus its parser. */
export interface ProbeDefinition {
  name: EventType;
  /** One line, for `netspan probes`. */
  description: string;
  /** Accepts `filter:` (pid/comm/cgroup predicates pushed into bpftrace). */
  filterable?: boolean;
  prepare(host: HostContext, options?: ProbeConfig): Promise<PreparedProbe>;
}
