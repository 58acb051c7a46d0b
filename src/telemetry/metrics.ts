/**
 * netspan's self-metrics: counters and gauges with small, bounded label sets.
 * Exporters (OTLP metrics, the Prometheus text endpoint) read them through
 * `collect()`. Every series key is bounded by MAX_SERIES per metric; label
 * values beyond that are folded into `other` so a bug can't blow up memory.
 */
export type Labels = Readonly<Record<string, string>>;

export const MAX_SERIES = 500;

export interface Series {
  labels: Labels;
  value: number;
}

export interface MetricSnapshot {
  name: string;
  help: string;
  kind: 'counter' | 'gauge';
  series: Series[];
}

abstract class Metric {
  protected readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  protected entry(labels: Labels): Series {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= MAX_SERIES) {
        const folded: Record<string, string> = {};
        for (const k of Object.keys(labels)) folded[k] = 'other';
        return this.entry(folded);
      }
      s = { labels: { ...labels }, value: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  /**
   * The series for these labels, to be kept by a caller that updates it per
   * event (a pre-bound handle: no label-key building on the hot path). Series
   * are never removed, so a handle stays valid for the metric's life.
   */
  handle(labels: Labels): Series {
    return this.entry(labels);
  }

  get(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.value ?? 0;
  }

  /** Sum over every series whose labels include `match`. */
  sum(match: Labels = {}): number {
    let total = 0;
    for (const s of this.series.values()) {
      if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
    return total;
  }

  snapshot(): Series[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
  }
}

export class Counter extends Metric {
  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels).value += by;
  }
}

export class Gauge extends Metric {
  set(labels: Labels, value: number): void {
    this.entry(labels).value = value;
  }
}

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  if (keys.length === 1) return `${keys[0]}=${labels[keys[0]!]}`;
  keys.sort();
  let key = `${keys[0]}=${labels[keys[0]!]}`;
  for (let i = 1; i < keys.length; i++) key += `,${keys[i]}=${labels[keys[i]!]}`;
  return key;
}

/**
 * Pre-bound series of one metric per value of a single label (probe id,
 * exporter id, ...): a Map lookup on the hot path instead of building a key.
 */
export class HandleCache {
  private readonly handles = new Map<string, Series>();
  constructor(
    private readonly metric: Counter | Gauge,
    private readonly label: string,
  ) {}

  get(value: string): Series {
    let h = this.handles.get(value);
    if (h === undefined) {
      h = this.metric.handle({ [this.label]: value });
      if (this.handles.size < MAX_SERIES) this.handles.set(value, h);
    }
    return h;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Counter | Gauge>();

  counter(name: string, help: string): Counter {
    if (!name.endsWith('_total')) throw new Error(`counter ${name} must end in _total`);
    return this.getOrCreate(name, () => new Counter(name, help));
  }

  gauge(name: string, help: string): Gauge {
    return this.getOrCreate(name, () => new Gauge(name, help));
  }

  private getOrCreate<M extends Counter | Gauge>(name: string, make: () => M): M {
    const existing = this.metrics.get(name);
    if (existing) return existing as M;
    const m = make();
    this.metrics.set(name, m);
    return m;
  }

  collect(): MetricSnapshot[] {
    return [...this.metrics.values()].map((m) => ({
      name: m.name,
      help: m.help,
      kind: m instanceof Counter ? 'counter' : 'gauge',
      series: m.snapshot(),
    }));
  }
}
