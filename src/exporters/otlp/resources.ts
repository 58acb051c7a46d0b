/**
 * One OTLP resource per pod/container (k8s.*, container.id, service.name from
 * enrichment), one node resource for processes outside containers.
 *
 * The SDK's OTLP serializers group records by the identity of their
 * `resource` object, so records of the same pod must share one Resource
 * instance: this cache hands out that instance. It is keyed by the full
 * resource attribute set (resourceKey() — pod uid / container id / host —
 * plus the rest, so two containers of one pod never share a resource whose
 * attributes only fit one of them). Bounded: the oldest entry is forgotten
 * (harmless: identity only matters within one export request).
 */
import { hostname } from 'node:os';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { resourceKey, type Attrs } from '../../otel/attributes.js';
import { derivedOnce } from '../../core/derived-once.js';

const WORKLOAD_KEYS = [
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.cronjob.name',
  'k8s.job.name',
  'k8s.replicaset.name',
] as const;

/** The workload attribute of a pod resource, if any (first of deployment, statefulset, daemonset, cronjob, job, replicaset). */
export function workloadOf(resource: Attrs): [string, string] | undefined {
  for (const k of WORKLOAD_KEYS) {
    const v = resource[k];
    if (typeof v === 'string' && v) return [k, v];
  }
  return undefined;
}

export class ResourceCache {
  private readonly cache = new Map<string, Resource>();
  /** resourceKey → the attributes last asked with, and their resource (see get()). */
  private readonly recent = new Map<string, { attrs: Attrs; n: number; resource: Resource }>();
  readonly hostName: string;
  /** Resources of frozen attribute objects, by identity (weak: they go with the enrichment caches). */
  private readonly shared = new WeakMap<object, Resource>();
  readonly node: Resource;

  constructor(
    private readonly extra: Readonly<Record<string, string | number | boolean>>,
    private readonly hostServiceName: string,
    private readonly max = 4096,
  ) {
    this.hostName = hostname();
    this.node = resourceFromAttributes({ ...extra, 'host.name': this.hostName, 'service.name': hostServiceName });
  }

  /** netspan's own resource (self-metrics and event metrics). */
  self(version: string): Resource {
    return resourceFromAttributes({
      ...this.extra,
      'host.name': this.hostName,
      'service.name': 'netspan',
      'service.version': version,
    });
  }

  get(resource: Attrs): Resource {
    // frozen: the shared resource attributes of otel/attributes.ts resourceAttributes, one lookup by identity
    return derivedOnce(this.shared, resource, this.byValue);
  }

  /** getByValue as a function made once (derivedOnce's `make`). */
  private readonly byValue = (resource: Attrs): Resource => this.getByValue(resource);

  private getByValue(resource: Attrs): Resource {
    // Every event of a pod asks with the same attribute values: the last set
    // seen per pod/container/host is compared value by value first, before
    // the sorted key string is built.
    const id = resourceKey(resource);
    const last = this.recent.get(id);
    if (last !== undefined && sameAttributes(last.attrs, last.n, resource)) return last.resource;
    const r = this.lookup(resource);
    if (this.recent.size >= this.max) this.recent.clear();
    const attrs = { ...resource };
    this.recent.set(id, { attrs, n: Object.keys(attrs).length, resource: r });
    return r;
  }

  private lookup(resource: Attrs): Resource {
    const keys = Object.keys(resource);
    if (keys.length === 0) return this.node;
    keys.sort();
    let key = resourceKey(resource) + '\u0000';
    for (const k of keys) key += `${k}=${JSON.stringify(resource[k])};`;
    let r = this.cache.get(key);
    if (r) return r;
    const attrs: Attrs = { ...this.extra, ...resource };
    const isPod = keys.some((k) => k.startsWith('k8s.') || k === 'container.id');
    if (!isPod) {
      // host process with enrichment-provided host attributes: still the node resource shape
      attrs['host.name'] ??= this.hostName;
      attrs['service.name'] ??= this.hostServiceName;
    } else if (attrs['service.name'] === undefined) {
      const name =
        workloadOf(resource)?.[1] ??
        (resource['k8s.container.name'] as string | undefined) ??
        (resource['k8s.pod.name'] as string | undefined);
      if (name) attrs['service.name'] = name;
    }
    r = resourceFromAttributes(attrs);
    if (this.cache.size >= this.max) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(key, r);
    return r;
  }
}

/** `b` has exactly `n` own attributes, each with the same value in `a` (primitives compared by value, others by identity). */
function sameAttributes(a: Attrs, n: number, b: Attrs): boolean {
  let m = 0;
  for (const k in b) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) continue;
    if (!Object.prototype.hasOwnProperty.call(a, k) || a[k] !== b[k]) return false;
    m++;
  }
  return m === n;
}
