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
import { inTaskContext, type NetEvent } from '../core/event.js';
import { derivedOnce } from '../core/derived-once.js';

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
/** Prefixes of resource attribute keys: pod labels and annotations (semantic conventions k8s.pod.label.<key>, k8s.pod.annotation.<key>). */
const RESOURCE_PREFIXES = ['k8s.pod.label.', 'k8s.pod.annotation.'];

/** Whether an enrichment attribute describes where the event happened (goes on the OTLP resource). */
export function isResourceKey(key: string): boolean {
  return RESOURCE_KEYS.has(key) || RESOURCE_PREFIXES.some((p) => key.startsWith(p));
}

/**
 * Receives attributes one by one (forEachEventAttribute): str() and num()
 * for values whose type the caller knows (a writer need not test it),
 * attr() for any other.
 */
export interface AttrSink {
  attr(key: string, value: AttrValue): void;
  str(key: string, value: string): void;
  num(key: string, value: number): void;
}

/**
 * The per-event attributes from the probe's own fields, in order, to `sink`
 * (the OTLP log encoder writes them as they come; eventAttributes makes the
 * object).
 */
export function forEachEventAttribute(e: NetEvent, sink: AttrSink): void {
  if (inTaskContext(e.type)) {
    sink.num('process.pid', e.pid);
    sink.num('thread.id', e.tid);
    sink.str('process.command', e.comm);
  } else {
    // softirq/timer context: the task the CPU was running, often not the socket's owner (not process.*)
    sink.num('netspan.task.pid', e.pid);
    sink.num('netspan.task.tid', e.tid);
    sink.str('netspan.task.command', e.comm);
  }
  sink.str('netspan.event.type', e.type);
  if (e.cgroupId) sink.num('netspan.cgroup.id', e.cgroupId);
  switch (e.type) {
    case 'soconnect':
    case 'udpconnect':
    case 'tcpretrans':
      sink.str('network.transport', e.type === 'udpconnect' ? 'udp' : 'tcp');
      sink.str('network.type', e.family);
      sink.str('network.peer.address', e.daddr);
      sink.num('network.peer.port', e.dport);
      sink.str('network.local.address', e.saddr);
      sink.num('network.local.port', e.sport);
      if (e.type === 'tcpretrans') {
        sink.str('tcp.state', e.state);
        sink.str('tcp.retransmit.kind', e.kind);
      } else {
        if (e.type === 'soconnect' && e.result !== 'ESTABLISHED') sink.str('error.type', e.result);
        if (e.type === 'udpconnect' && e.result !== 'OK') sink.str('error.type', e.result);
        sink.str('netspan.connect.result', e.result);
      }
      break;
    case 'gethostlatency':
      sink.str('dns.question.name', e.host);
      sink.attr('dns.answers', e.addresses);
      sink.str('code.function.name', e.func);
      if (e.result !== 'OK') sink.str('error.type', e.result);
      break;
    case 'skbdrop':
      sink.str('netspan.drop.reason', e.reason);
      sink.str('netspan.drop.location', e.location);
      sink.str('network.protocol.name', e.protocol);
      if (e.family) sink.str('network.type', e.family);
      if (e.l4Protocol) sink.str('network.transport', e.l4Protocol.toLowerCase());
      if (e.saddr !== undefined) sink.str('source.address', e.saddr);
      if (e.sport !== undefined) sink.num('source.port', e.sport);
      if (e.daddr !== undefined) sink.str('destination.address', e.daddr);
      if (e.dport !== undefined) sink.num('destination.port', e.dport);
      break;
  }
}

/**
 * splitAttributes(e).record to `sink`, in the same order and with the same
 * values, without the object: the event's own attributes (an enrichment
 * attribute of the same name replaces the value in place, as it does in the
 * object), then the enrichment attributes that are neither resource
 * attributes nor already given.
 */
export function forEachRecordAttribute(e: NetEvent, sink: AttrSink): void {
  const extra = e.attributes;
  if (extra === undefined) {
    forEachEventAttribute(e, sink);
    return;
  }
  const own = recordKeys(extra);
  if (own.length === 0) {
    // Only resource attributes (the usual pod/container/process enrichment): nothing to merge.
    forEachEventAttribute(e, sink);
    return;
  }
  const merge = new MergeSink(extra, own, sink);
  forEachEventAttribute(e, merge);
  for (const k of own) {
    if (merge.given.includes(k)) continue;
    sink.attr(k, extra[k]!);
  }
}

const NO_KEYS: readonly string[] = Object.freeze([]);
/** Record (non-resource) keys of frozen (shared) attributes objects, found once; weak. */
const sharedRecordKeys = new WeakMap<object, readonly string[]>();

/** The keys of `extra` that are record attributes, in order: once per shared object. */
function recordKeys(extra: Attrs): readonly string[] {
  return derivedOnce(sharedRecordKeys, extra, findRecordKeys);
}

function findRecordKeys(extra: Attrs): readonly string[] {
  let keys: string[] | undefined;
  for (const k in extra) {
    if (Object.prototype.hasOwnProperty.call(extra, k) && !isResourceKey(k)) (keys ??= []).push(k);
  }
  return keys ?? NO_KEYS;
}

/** Event attributes with enrichment values of the same name put in their place; `given`: the record keys so replaced. */
class MergeSink implements AttrSink {
  readonly given: string[] = [];
  constructor(
    private readonly extra: Attrs,
    private readonly own: readonly string[],
    private readonly sink: AttrSink,
  ) {}

  attr(key: string, value: AttrValue): void {
    if (this.own.includes(key)) {
      this.given.push(key);
      this.sink.attr(key, this.extra[key]!);
    } else this.sink.attr(key, value);
  }

  // (an enrichment value may be of another type: through attr())
  str(key: string, value: string): void {
    this.attr(key, value);
  }

  num(key: string, value: number): void {
    this.attr(key, value);
  }
}

class ObjectSink implements AttrSink {
  readonly a: Attrs = {};
  attr(key: string, value: AttrValue): void {
    this.a[key] = value;
  }

  str(key: string, value: string): void {
    this.a[key] = value;
  }

  num(key: string, value: number): void {
    this.a[key] = value;
  }
}

/** Per-event attributes from the probe's own fields. */
export function eventAttributes(e: NetEvent): Attrs {
  const s = new ObjectSink();
  forEachEventAttribute(e, s);
  return s.a;
}

const NO_ATTRIBUTES: Attrs = Object.freeze({});

/** Resource part of frozen (shared, never changed) attributes objects, made once and frozen too; weak. */
const sharedResources = new WeakMap<object, Attrs>();

/**
 * splitAttributes(e).resource (a shared empty object when the event has no
 * enrichment). For the shared attributes of enrich/attrs.ts
 * withSharedAttributes, the same frozen object for every event.
 */
export function resourceAttributes(e: NetEvent): Attrs {
  const extra = e.attributes;
  if (extra === undefined) return NO_ATTRIBUTES;
  if (!Object.isFrozen(extra)) return pickResource(extra);
  return derivedOnce(sharedResources, extra, frozenResource);
}

function frozenResource(extra: Attrs): Attrs {
  return Object.freeze(pickResource(extra));
}

function pickResource(extra: Attrs): Attrs {
  const resource: Attrs = {};
  for (const k in extra) {
    if (Object.prototype.hasOwnProperty.call(extra, k) && isResourceKey(k)) resource[k] = extra[k]!;
  }
  return resource;
}

/** Resource attributes and record attributes of an event (probe fields + enrichment). */
export function splitAttributes(e: NetEvent): { resource: Attrs; record: Attrs } {
  const record = new ObjectSink();
  forEachRecordAttribute(e, record);
  return { resource: e.attributes === undefined ? {} : resourceAttributes(e), record: record.a };
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
