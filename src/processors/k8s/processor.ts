/**
 * k8s: pod UID (from the container processor's k8s.pod.uid, else resolved
 * from the cgroup) → namespace, pod, container, node, owner workload,
 * service.name, allowed labels/annotations, from the shared Kubernetes store
 * (src/enrich/k8s-store.ts). Attribute sets are built once per pod version
 * and container and reused; a cache hit costs a few Map lookups and one
 * object spread.
 */
import type { NetEvent } from '../../core/event.js';
import type { ComponentContext, Processor } from '../../pipeline/component.js';
import type { Counter } from '../../telemetry/metrics.js';
import { DEFAULT_RESOLVER_OPTIONS, sharedCgroupResolver, type CgroupResolver } from '../../enrich/cgroup-resolver.js';
import { acquireK8sStore, type K8sStore, type PodRecord } from '../../enrich/k8s-store.js';
import { Lru } from '../../enrich/lru.js';
import { missCounter } from '../../enrich/metrics.js';
import { withSharedAttributes } from '../../enrich/attrs.js';
import type { K8sConfig } from './config.js';

type Attrs = NonNullable<NetEvent['attributes']>;

export const LABEL_PREFIX = 'k8s.pod.label.';
export const ANNOTATION_PREFIX = 'k8s.pod.annotation.';

/** Exact keys and "prefix*" patterns → predicate. */
export function keyMatcher(patterns: readonly string[]): (key: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (k) => exact.has(k) || prefixes.some((p) => k.startsWith(p));
}

interface PodAttrs {
  rec: PodRecord;
  rsGeneration: number;
  base: Attrs;
  byContainer: Map<string, Attrs>;
}

export class K8sProcessor implements Processor {
  readonly store: K8sStore;
  private readonly cache = new Lru<string, PodAttrs>(8_192);
  private readonly misses: Counter;
  private readonly labelOk: (k: string) => boolean;
  private readonly annotationOk: (k: string) => boolean;
  private resolver: CgroupResolver | undefined;
  private started = false;
  private readonly hostAttrs: Attrs | undefined;

  constructor(
    private readonly config: K8sConfig,
    ctx: ComponentContext,
  ) {
    this.store = acquireK8sStore({ ...config, watchAllPods: false }, ctx);
    this.misses = missCounter(ctx.telemetry);
    this.labelOk = keyMatcher(config.labels);
    this.annotationOk = keyMatcher(config.annotations);
    this.hostAttrs = config.host_node_name && this.store.node ? { 'k8s.node.name': this.store.node } : undefined;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.store.retain();
  }

  async shutdown(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.store.release();
  }

  process(event: NetEvent): NetEvent {
    const attrs = event.attributes;
    let uid = attrs?.['k8s.pod.uid'];
    let containerId = attrs?.['container.id'];
    let host = attrs?.['netspan.host_process'] === true;
    if (uid === undefined && containerId === undefined && !host && this.config.resolve_from_cgroup) {
      this.resolver ??= sharedCgroupResolver(DEFAULT_RESOLVER_OPTIONS);
      const r = this.resolver.resolve(event.cgroupId, event.pid);
      if (r) {
        uid = r.podUid;
        containerId = r.containerId;
        host = r.host;
      }
    }
    if (host) {
      return this.hostAttrs ? withSharedAttributes(event, this.hostAttrs) : event;
    }
    let rec: PodRecord | undefined;
    if (typeof uid === 'string') rec = this.store.podByUid(uid);
    else if (typeof containerId === 'string') rec = this.store.podByContainerId(containerId);
    else return event; // not a pod (e.g. plain Docker container): nothing to add
    if (!rec) {
      this.misses.inc({ processor: 'k8s', reason: this.store.ready ? 'pod_unknown' : 'k8s_unavailable' });
      return event;
    }
    const a = this.attrsFor(rec, typeof containerId === 'string' ? containerId : undefined);
    return withSharedAttributes(event, a);
  }

  private attrsFor(rec: PodRecord, containerId: string | undefined): Attrs {
    // peek, not get: a hit does not move the pod to the back of the LRU.
    // Reordering is a Map delete + insert per event, which makes V8 rebuild
    // the Map's table every few thousand events; with thousands of pods that
    // table is a large object that only a full GC frees (5,000 pods, 300k
    // events replayed: ~14 MB more peak RSS and ~20 % more CPU with get).
    // Eviction is therefore oldest-inserted first; it only happens beyond
    // 8,192 pods and costs one rebuild.
    let p = this.cache.peek(rec.uid);
    if (!p || p.rec !== rec || p.rsGeneration !== this.store.rsGeneration) {
      p = { rec, rsGeneration: this.store.rsGeneration, base: this.podAttributes(rec), byContainer: new Map() };
      this.cache.set(rec.uid, p);
    }
    if (containerId === undefined) return p.base;
    let c = p.byContainer.get(containerId);
    if (!c) {
      const name = rec.containers.get(containerId);
      if (name === undefined) {
        // Status not updated yet (container just started), or a sandbox/pause container: pod attributes only, not cached.
        this.misses.inc({ processor: 'k8s', reason: 'container_unknown' });
        return p.base;
      }
      c = Object.assign({}, p.base, { 'k8s.container.name': name });
      if (p.byContainer.size < 64) p.byContainer.set(containerId, c);
    }
    return c;
  }

  podAttributes(rec: PodRecord): Attrs {
    const a: Attrs = {
      'k8s.namespace.name': rec.namespace,
      'k8s.pod.name': rec.name,
      'k8s.pod.uid': rec.uid,
    };
    if (rec.nodeName) a['k8s.node.name'] = rec.nodeName;
    let workload: string | undefined;
    const o = rec.owner;
    if (o) {
      switch (o.kind) {
        case 'ReplicaSet': {
          a['k8s.replicaset.name'] = o.name;
          const dep = this.store.replicaSetOwner(rec.namespace, o.name);
          if (dep?.kind === 'Deployment') workload = a['k8s.deployment.name'] = dep.name;
          else workload = o.name;
          break;
        }
        case 'StatefulSet':
          workload = a['k8s.statefulset.name'] = o.name;
          break;
        case 'DaemonSet':
          workload = a['k8s.daemonset.name'] = o.name;
          break;
        case 'Job':
          workload = a['k8s.job.name'] = o.name;
          break;
        default:
          break;
      }
    }
    a['service.name'] = rec.labels['app.kubernetes.io/name'] ?? workload ?? rec.name;
    for (const [k, v] of Object.entries(rec.labels)) if (this.labelOk(k)) a[LABEL_PREFIX + k] = v;
    for (const [k, v] of Object.entries(rec.annotations)) if (this.annotationOk(k)) a[ANNOTATION_PREFIX + k] = v;
    return a;
  }
}
