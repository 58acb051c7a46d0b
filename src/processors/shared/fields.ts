/**
 * Event fields and enrichment attributes the processors match on, in one
 * place so filter, sample and rate_limit agree on names.
 *
 * Pod labels: enrichment writes each pod label as one attribute named
 * `k8s.pod.label.<label key>` (the OpenTelemetry semantic convention, e.g.
 * `k8s.pod.label.app.kubernetes.io/name`), value the label's value.
 */
import type { NetEvent } from '../../core/event.js';

export const ATTR_NAMESPACE = 'k8s.namespace.name';
export const ATTR_POD_NAME = 'k8s.pod.name';
export const ATTR_POD_UID = 'k8s.pod.uid';
export const ATTR_CONTAINER_ID = 'container.id';
export const POD_LABEL_PREFIX = 'k8s.pod.label.';

/** Workload kinds and the attribute holding each one's name, in lookup order. */
export const WORKLOAD_ATTRS = [
  ['deployment', 'k8s.deployment.name'],
  ['statefulset', 'k8s.statefulset.name'],
  ['daemonset', 'k8s.daemonset.name'],
  ['job', 'k8s.job.name'],
  ['cronjob', 'k8s.cronjob.name'],
] as const;

/** A string-valued attribute, or undefined when absent or not a string. */
export function attrString(e: NetEvent, key: string): string | undefined {
  const v = e.attributes?.[key];
  return typeof v === 'string' ? v : undefined;
}

/** The peer (remote) address of connection events; undefined for DNS lookups and drops. */
export function connectionPeer(e: NetEvent): string | undefined {
  return e.type === 'soconnect' || e.type === 'udpconnect' || e.type === 'tcpretrans' ? e.daddr : undefined;
}

/** The connect/lookup result: soconnect/udpconnect `result` or gethostlatency `result`. */
export function resultOf(e: NetEvent): string | undefined {
  return e.type === 'soconnect' || e.type === 'udpconnect' || e.type === 'gethostlatency' ? e.result : undefined;
}
