/**
 * The targets of issue 8, judged on one bench run: the one place both the
 * terminal's "targets" block (bench/run.ts) and the README's targets table
 * (bench/readme.ts) come from, so the two cannot disagree. A target whose
 * rows did not run (e.g. `--only live`) reads "not run".
 */
import type { LiveCpu, LiveResult, Row } from './run.js';

export interface TargetsInput {
  rows: Row[];
  startup: Row;
  lives: LiveResult[];
  mem5000: Row | undefined;
  problems: string[];
}

export interface Target {
  target: string;
  /** The figure this run measured, or "not run". */
  value: string;
  /** Met, not met, or not judged (not run, a failed live row, not a target). */
  ok: boolean | undefined;
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en');
export const cpuRatio = (c: LiveCpu): number => c.netspan / Math.max(c.bpftrace, 0.01);
/** A row's CPU as a multiple of a baseline row's ("2.56x"), or "–". */
export const cpuTimes = (row: Row, base: Row | undefined, none = '–'): string =>
  base && row.events ? `${(row.m.cpu / base.m.cpu).toFixed(2)}x` : none;
/** Events per CPU-second without the start-up row's CPU (loading modules, connecting); baselines have no start-up. */
export const netPerCpu = (row: Row, startup: Row): number =>
  row.name.startsWith('netspan') ? row.events / Math.max(row.m.cpu - startup.m.cpu, 1e-3) : row.events / row.m.cpu;

/** The problems of one replay row (its own and its N/5-event steady-state run's): drops, lost events, parse errors. */
const rowProblems = (row: Row, problems: string[]): string[] =>
  problems.filter((p) => p.startsWith(row.name) && /^(:| \(\d+ events\):)/.test(p.slice(row.name.length)));

export function targets(r: TargetsInput): Target[] {
  const find = (name: string): Row | undefined => r.rows.find((x) => x.name === name);
  /** A throughput target: judged on the steady state when measured, else without start-up; not met with any drop. */
  const throughput = (target: string, name: string, min: number): Target => {
    const row = find(name);
    if (!row) return { target, value: 'not run', ok: undefined };
    const net = netPerCpu(row, r.startup);
    const v = row.steady ?? net;
    let value = row.steady ? `${fmt(row.steady)} steady (${fmt(net)} without start-up)` : fmt(net);
    const lost =
      rowProblems(row, r.problems).length > 0 ||
      (name.includes('otlp') && r.problems.some((p) => p.startsWith('otlp sink')));
    if (lost) value += ', events lost (see problems)';
    return { target, value, ok: v >= min && !lost };
  };
  const out: Target[] = [
    throughput('≥ 100,000 events per CPU-second to Kafka (json)', 'netspan → kafka json', 100_000),
    throughput('≥ 50,000 events per CPU-second to OTLP logs', 'netspan → otlp logs', 50_000),
    throughput('… to Kafka (json), enriched (500 pods)', 'netspan → k8s(500 pods) → kafka json', 100_000),
    throughput('… to OTLP logs, enriched (500 pods)', 'netspan → k8s(500 pods) → otlp logs', 50_000),
  ];
  // a live row that failed (bench problems) leaves the live targets unjudged
  const failed = r.problems.some((p) => /^live .* failed:/.test(p));
  const notRun = failed ? 'failed (see problems)' : 'not run';
  const judge = (ok: boolean): boolean | undefined => (failed ? undefined : ok);
  // the issue's measure: kernel timestamp → record at the exporter (the latency exporter's rows)
  const measured = r.lives.filter((l) => l.exporter === 'latency' && !Number.isNaN(l.p99));
  const p99 = measured.length ? Math.max(...measured.map((l) => l.p99)) : NaN;
  out.push({
    target: 'p99 kernel → exporter < batch delay (200 ms) + 50 ms',
    value: Number.isNaN(p99) ? notRun : `${p99.toFixed(0)} ms`,
    ok: Number.isNaN(p99) ? undefined : judge(p99 < 250),
  });
  const otlp = r.lives.find((l) => l.exporter === 'otlp' && !Number.isNaN(l.p99));
  if (otlp)
    out.push({
      target: `(not a target) p99 kernel → OTLP collector, enriched, all signals, ${fmt(otlp.rate)} events/s`,
      value: `${otlp.p99.toFixed(0)} ms (p50 ${otlp.p50.toFixed(0)}, max ${otlp.max.toFixed(0)})`,
      ok: undefined,
    });
  const ratio = Math.max(...r.lives.map((l) => cpuRatio(l.steady)));
  const rss = Math.max(...r.lives.map((l) => l.hwmMb));
  const live = r.lives.length > 0;
  out.push({
    target: 'netspan CPU ≤ bpftrace CPU (live, steady)',
    value: live ? `${ratio.toFixed(2)}x` : notRun,
    ok: live ? judge(ratio <= 1) : undefined,
  });
  out.push({
    target: 'RSS ≤ 150 MB (live)',
    value: live ? `${rss.toFixed(0)} MB` : notRun,
    ok: live ? judge(rss <= 150) : undefined,
  });
  const mem = r.mem5000?.m.maxrssMb;
  out.push({
    target: 'RSS ≤ 150 MB with 5,000 pods cached (replay)',
    value: mem === undefined ? 'not run' : `${mem.toFixed(0)} MB`,
    ok: mem === undefined ? undefined : mem <= 150,
  });
  return out;
}

/** The terminal's targets block: each target, this run's figure, met / NOT MET / not run. */
export function targetsText(r: TargetsInput): string {
  const ts = targets(r);
  const w = Math.max(...ts.map((t) => t.target.length));
  const v = Math.max(...ts.map((t) => t.value.length));
  /** Unjudged: not run (the figure says so), not a target, or a live row failed ("not judged"). */
  const verdict = (t: Target): string =>
    t.ok === undefined
      ? t.value === 'not run' || t.target.startsWith('(not a target)')
        ? ''
        : 'not judged'
      : t.ok
        ? 'met'
        : 'NOT MET';
  return `\ntargets (issue 8)\n${ts.map((t) => `  ${t.target.padEnd(w)}  ${t.value.padEnd(v)}  ${verdict(t)}`.trimEnd()).join('\n')}\n`;
}
