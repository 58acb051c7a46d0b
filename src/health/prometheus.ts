/**
 * Prometheus text exposition format (version 0.0.4) for MetricsRegistry
 * snapshots: `# HELP`, `# TYPE`, then one `name{label="value"} number` line
 * per series. HELP text escapes `\` and newline; label values also escape `"`.
 */
import type { MetricSnapshot } from '../telemetry/metrics.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function escapeLabelValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Label names must match [a-zA-Z_][a-zA-Z0-9_]*; anything else becomes `_`. */
function labelName(k: string): string {
  const s = k.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

export function formatPrometheus(metrics: readonly MetricSnapshot[]): string {
  const lines: string[] = [];
  for (const m of metrics) {
    lines.push(`# HELP ${m.name} ${escapeHelp(m.help)}`);
    lines.push(`# TYPE ${m.name} ${m.kind}`);
    for (const s of m.series) {
      const keys = Object.keys(s.labels).sort();
      const labels = keys.map((k) => `${labelName(k)}="${escapeLabelValue(s.labels[k] ?? '')}"`).join(',');
      lines.push(`${m.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
    }
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
