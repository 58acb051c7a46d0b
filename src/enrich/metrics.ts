/**
 * Counters shared by the enrichment processors. Label values come from the
 * small fixed sets below, so series stay bounded.
 */
import type { Counter } from '../telemetry/metrics.js';
import type { Telemetry } from '../telemetry/internal-events.js';

export type EnrichProcessorName = 'process' | 'container' | 'k8s' | 'peer';

/** Why an enrichment lookup produced nothing (the event passes on unenriched). */
export type MissReason =
  | 'process_gone'
  | 'proc_unreadable'
  | 'no_pid'
  | 'cgroup_unknown'
  | 'pod_unknown'
  | 'container_unknown'
  | 'k8s_unavailable';

export function missCounter(t: Telemetry): Counter {
  return t.metrics.counter(
    'netspan_enrich_misses_total',
    'Events an enrichment processor could not (fully) enrich, per processor and reason; the event is passed on',
  );
}

export function enrichMiss(t: Telemetry, processor: EnrichProcessorName, reason: MissReason): void {
  missCounter(t).inc({ processor, reason });
}
