/**
 * Event → OpenTelemetry semantic-convention attributes. The one mapping every
 * OTLP signal (spans, logs, metrics) and the Kafka OTLP encodings use; the
 * table is documented in docs/event-schema.md.
 *
 * Enrichment stages put resource-level identity (k8s.*, container.id,
 * process.executable.name, ...) and peer identity (server.address, k8s peer
 * names) into `event.attributes`; `splitAttributes` separates resource
 * attributes (one OTLP resource per pod, or per node for host processes)
 * from per-record attributes.
 */
import type { NetEvent } from '../core/event.js';

export type AttrValue = string | number | boolean | string[];
export type Attrs = Record<string, AttrValue>;

/** Attribute keys that describe where an event happened (go on the OTLP resource). */
export const RESOURCE_KEYS = new Set([
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.pod.uid',
  'k8s.container.name',
  'k8s.node.name',
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.job.name',
  'k8s.cronjob.name',
  'k8s.replicaset.name',
  'container.id',
  'container.runtime',
  'service.name',
  'service.namespace',
  'host.name',
]);

/** Per-event attributes from the probe's own fields. */
export function eventAttributes(e: NetEvent): Attrs {
  const a: Attrs = {
    'process.pid': e.pid,
    'thread.id': e.tid,
    'process.command': e.comm,
    'netspan.event.type': e.type,
  };
  if (e.cgroupId) a['netspan.cgroup.id'] = e.cgroupId;
  switch (e.type) {
    case 'soconnect':
    case 'udpconnect':
    case 'tcpretrans':
      a['network.transport'] = e.type === 'udpconnect' ? 'udp' : 'tcp';
      a['network.type'] = e.family;
      a['network.peer.address'] = e.daddr;
      a['network.peer.port'] = e.dport;
      a['network.local.address'] = e.saddr;
      a['network.local.port'] = e.sport;
      if (e.type === 'tcpretrans') a['tcp.state'] = e.state;
      else {
        if (e.type === 'soconnect' && e.result !== 'ESTABLISHED') a['error.type'] = e.result;
        if (e.type === 'udpconnect' && e.result !== 'OK') a['error.type'] = e.result;
        a['netspan.connect.result'] = e.result;
      }
      break;
    case 'gethostlatency':
      a['dns.question.name'] = e.host;
      a['dns.answers'] = e.addresses;
      a['code.function.name'] = e.func;
      if (e.result !== 'OK') a['error.type'] = e.result;
      break;
    case 'skbdrop':
      a['netspan.drop.reason'] = e.reason;
      a['netspan.drop.location'] = e.location;
      a['network.protocol.name'] = e.protocol;
      if (e.family) a['network.type'] = e.family;
      if (e.l4Protocol) a['network.transport'] = e.l4Protocol.toLowerCase();
      if (e.saddr !== undefined) a['source.address'] = e.saddr;
      if (e.sport !== undefined) a['source.port'] = e.sport;
      if (e.daddr !== undefined) a['destination.address'] = e.daddr;
      if (e.dport !== undefined) a['destination.port'] = e.dport;
      break;
  }
  return a;
}

/** Resource attributes and record attributes of an event (probe fields + enrichment). */
export function splitAttributes(e: NetEvent): { resource: Attrs; record: Attrs } {
  const record = eventAttributes(e);
  const resource: Attrs = {};
  if (e.attributes) {
    for (const [k, v] of Object.entries(e.attributes)) {
      if (RESOURCE_KEYS.has(k)) resource[k] = v;
      else record[k] = v;
    }
  }
  return { resource, record };
}

/** Stable key of a resource (for grouping records per pod/node in one export). */
export function resourceKey(resource: Attrs): string {
  return (
    (resource['k8s.pod.uid'] as string | undefined) ??
    (resource['container.id'] as string | undefined) ??
    (resource['host.name'] as string | undefined) ??
    ''
  );
}
