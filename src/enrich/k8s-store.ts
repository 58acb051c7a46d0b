/**
 * The node's view of Kubernetes, shared by the k8s and peer processors:
 * pods of this node (list+watch with fieldSelector spec.nodeName=<node>, or
 * every pod when a holder asked for the cluster-wide watch), services and
 * replicasets, driven by @kubernetes/client-node's ListWatch informer and
 * kept as small records with hot-path indexes (pod UID, container id, pod IP,
 * node IP, service ClusterIP).
 *
 * Lifecycle: one store per (connection source, node name) in a module-level
 * registry. Processors call `acquireK8sStore()` at create time, `retain()`
 * in start() (the first one starts the informers) and `release()` in
 * shutdown() (the last one stops them and removes the store).
 *
 * Failure handling: the informer stops on any list/watch error; each
 * resource's runner restarts it after a backoff (retry_interval_ms doubling
 * to max_retry_interval_ms), counting netspan_k8s_api_errors_total{resource}
 * and logging at most once per telemetry interval. 410 Gone (expired
 * resourceVersion) makes the informer relist. retain() waits for the first
 * lists at most initial_sync_timeout_ms and never throws.
 */
import type {
  KubeConfig,
  KubernetesListObject,
  KubernetesObject,
  ListWatch,
  V1Pod,
  V1ReplicaSet,
  V1Service,
  V1OwnerReference,
  Watch,
} from '@kubernetes/client-node';
import type { ComponentContext } from '../pipeline/component.js';
import type { Counter, Gauge } from '../telemetry/metrics.js';
import {
  inClusterOptions,
  k8sSource,
  nodeName,
  sourceKey,
  type Env,
  type K8sConnectionConfig,
  type K8sSource,
} from './k8s-config.js';

export interface Owner {
  kind: string;
  name: string;
}

export interface PodRecord {
  uid: string;
  name: string;
  namespace: string;
  nodeName: string;
  hostNetwork: boolean;
  ips: string[];
  hostIps: string[];
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  /** container id (no runtime scheme) → container name, from (init/ephemeral) containerStatuses. */
  containers: ReadonlyMap<string, string>;
  /** Controller owner reference (or the first owner). */
  owner: Owner | undefined;
  /** Set when the pod was deleted; the record is dropped deletion_grace_period_ms later. */
  deletedAt: number | undefined;
}

export interface ServiceRecord {
  name: string;
  namespace: string;
  clusterIps: string[];
}

export type K8sResource = 'pods' | 'services' | 'replicasets';

export interface K8sStoreOptions extends K8sConnectionConfig {
  /** Watch every pod of the cluster (peer pod names); otherwise only this node's pods. */
  watchAllPods: boolean;
}

type AnyList = KubernetesListObject<KubernetesObject>;

class StoppedError extends Error {
  constructor() {
    super('k8s store stopped');
  }
}

function controllerOf(refs: V1OwnerReference[] | undefined): Owner | undefined {
  if (!refs || refs.length === 0) return undefined;
  const r = refs.find((o) => o.controller === true) ?? refs[0]!;
  return { kind: r.kind, name: r.name };
}

function stripScheme(containerId: string): string {
  const i = containerId.indexOf('://');
  return i < 0 ? containerId : containerId.slice(i + 3);
}

export function podRecord(p: V1Pod): PodRecord | undefined {
  const m = p.metadata;
  if (!m?.uid || !m.name) return undefined;
  const containers = new Map<string, string>();
  const st = p.status;
  for (const list of [st?.containerStatuses, st?.initContainerStatuses, st?.ephemeralContainerStatuses]) {
    for (const c of list ?? []) if (c.containerID) containers.set(stripScheme(c.containerID), c.name);
  }
  const ips = (st?.podIPs ?? []).map((x) => x.ip).filter((x): x is string => !!x);
  if (ips.length === 0 && st?.podIP) ips.push(st.podIP);
  const hostIps = (st?.hostIPs ?? []).map((x) => x.ip).filter((x): x is string => !!x);
  if (hostIps.length === 0 && st?.hostIP) hostIps.push(st.hostIP);
  return {
    uid: m.uid,
    name: m.name,
    namespace: m.namespace ?? '',
    nodeName: p.spec?.nodeName ?? '',
    hostNetwork: p.spec?.hostNetwork === true,
    ips,
    hostIps,
    labels: m.labels ?? {},
    annotations: m.annotations ?? {},
    containers,
    owner: controllerOf(m.ownerReferences),
    deletedAt: undefined,
  };
}

interface InformerApi {
  kc: KubeConfig;
  ListWatch: typeof ListWatch;
  Watch: typeof Watch;
  lists: Record<K8sResource, { path: string; list: (fieldSelector: string | undefined) => Promise<AnyList> }>;
}

interface WatchLike {
  watch(
    path: string,
    params: Record<string, unknown>,
    cb: (phase: string, obj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController>;
}

/** One resource's informer plus restart-with-backoff; never throws. */
class InformerRunner {
  private informer: ListWatch<KubernetesObject> | undefined;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private readonly controllers = new Set<AbortController>();
  listed = false;
  lists = 0;
  private lastListAt = -Infinity;
  private readonly listedWaiters: Array<() => void> = [];

  constructor(
    readonly resource: K8sResource,
    private readonly store: K8sStore,
    private readonly api: InformerApi,
    private readonly fieldSelector: string | undefined,
    private readonly handlers: { upsert(o: KubernetesObject): void; remove(o: KubernetesObject): void },
  ) {
    this.delay = store.opts.retry_interval_ms;
  }

  whenListed(): Promise<void> {
    if (this.listed) return Promise.resolve();
    return new Promise((resolve) => this.listedWaiters.push(resolve));
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const { ListWatch, Watch, kc, lists } = this.api;
    const inner = new Watch(kc);
    const o = this.store.opts;
    const guarded: WatchLike = {
      watch: async (path, params, cb, done) => {
        if (this.stopped) return new AbortController();
        const q = { ...params, allowWatchBookmarks: true, timeoutSeconds: o.watch_timeout_s };
        const c = await inner.watch(path, q, cb, done);
        if (this.stopped) {
          c.abort();
          return c;
        }
        this.controllers.add(c);
        // Client-side bound too: a silently dead connection must not stall the watch forever.
        const t = setTimeout(() => c.abort(), (o.watch_timeout_s + 30) * 1000);
        t.unref();
        c.signal.addEventListener('abort', () => {
          clearTimeout(t);
          this.controllers.delete(c);
        });
        return c;
      },
    };
    const spec = lists[this.resource];
    const listFn = async (): Promise<AnyList> => {
      // A server answering every watch with 410 Gone would otherwise make the
      // informer relist in a tight loop: at most one list per retry interval.
      const since = Date.now() - this.lastListAt;
      if (since < o.retry_interval_ms) await new Promise((r) => setTimeout(r, o.retry_interval_ms - since));
      this.lastListAt = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const list = await Promise.race([
          spec.list(this.fieldSelector),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`list ${this.resource} timed out after ${o.request_timeout_ms} ms`)),
              o.request_timeout_ms,
            );
          }),
        ]);
        if (this.stopped) throw new StoppedError();
        this.onListed();
        return list;
      } finally {
        clearTimeout(timer);
      }
    };
    const inf = new ListWatch<KubernetesObject>(
      spec.path,
      guarded as never,
      listFn,
      false,
      undefined,
      this.fieldSelector,
    );
    inf.on('add', (obj) => this.handlers.upsert(obj));
    inf.on('update', (obj) => this.handlers.upsert(obj));
    inf.on('delete', (obj) => this.handlers.remove(obj));
    inf.on('error', (err?: unknown) => this.onError(err));
    this.informer = inf;
    this.kick();
  }

  private kick(): void {
    this.timer = undefined;
    if (this.stopped || !this.informer) return;
    this.informer.start().catch((err: unknown) => this.onError(err));
  }

  private onListed(): void {
    this.lists++;
    this.delay = this.store.opts.retry_interval_ms;
    this.store.synced.set({ resource: this.resource }, 1);
    if (!this.listed) {
      this.listed = true;
      for (const w of this.listedWaiters.splice(0)) w();
    }
  }

  private onError(err: unknown): void {
    if (this.stopped || err instanceof StoppedError) return;
    const aborted = (err as { name?: string } | undefined)?.name === 'AbortError';
    if (!aborted) {
      this.store.apiErrors.inc({ resource: this.resource });
      const e = err as { statusCode?: number; code?: number | string; message?: string } | undefined;
      this.store.ctx.telemetry.rl.warn(
        `k8s:${this.resource}`,
        {
          resource: this.resource,
          error: e?.message ?? String(err),
          status: e?.statusCode ?? e?.code,
          retry_in_ms: this.delay,
        },
        'Kubernetes API list/watch failed; retrying in the background (events pass on without Kubernetes attributes meanwhile)',
      );
    }
    if (this.timer) return;
    const wait = aborted ? 0 : this.delay;
    if (!aborted) this.delay = Math.min(this.delay * 2, this.store.opts.max_retry_interval_ms);
    this.timer = setTimeout(() => this.kick(), wait);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const inf = this.informer;
    this.informer = undefined;
    for (const c of this.controllers) c.abort();
    this.controllers.clear();
    for (const w of this.listedWaiters.splice(0)) w();
    if (inf) await inf.stop();
  }
}

export class K8sStore {
  readonly source: K8sSource | undefined;
  readonly node: string;
  readonly opts: K8sStoreOptions;
  readonly apiErrors: Counter;
  readonly synced: Gauge;

  private readonly podsByUid = new Map<string, PodRecord>();
  private readonly podUidByName = new Map<string, string>();
  private readonly podUidByContainer = new Map<string, string>();
  private readonly podUidByIp = new Map<string, string>();
  private readonly nodeByIp = new Map<string, string>();
  private readonly services = new Map<string, ServiceRecord>();
  private readonly serviceByIp = new Map<string, ServiceRecord>();
  private readonly replicaSets = new Map<string, Owner | undefined>();
  /** Bumped whenever a replicaset changes (pod workload attributes depend on it). */
  rsGeneration = 0;

  private runners: InformerRunner[] = [];
  private refs = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private startPromise: Promise<void> | undefined;
  private registryKey: string | undefined;
  private readonly now: () => number;

  constructor(
    opts: K8sStoreOptions,
    readonly ctx: ComponentContext,
    env: Env = ctx.env,
    now: () => number = Date.now,
  ) {
    this.opts = { ...opts };
    this.source = k8sSource(opts, env);
    this.node = nodeName(opts, env);
    this.now = now;
    this.apiErrors = ctx.telemetry.metrics.counter(
      'netspan_k8s_api_errors_total',
      'Failed Kubernetes API list/watch attempts, per resource',
    );
    this.synced = ctx.telemetry.metrics.gauge(
      'netspan_k8s_synced',
      '1 once the resource has been listed from the Kubernetes API',
    );
  }

  get configured(): boolean {
    return this.source !== undefined;
  }

  /** True once every watched resource has been listed at least once. */
  get ready(): boolean {
    return this.runners.length > 0 && this.runners.every((r) => r.listed);
  }

  /** Number of successful lists per resource (relists after 410 Gone or errors show up here). */
  listCount(resource: K8sResource): number {
    return this.runners.find((r) => r.resource === resource)?.lists ?? 0;
  }

  get podCount(): number {
    return this.podsByUid.size;
  }

  /** Merges another holder's needs (cluster-wide pod watch, longest grace period) before the start. */
  merge(opts: K8sStoreOptions): void {
    if (opts.watchAllPods && !this.opts.watchAllPods) {
      this.opts.watchAllPods = true;
      if (this.refs > 0)
        this.ctx.logger.warn(
          {},
          'watch_all_pods requested after the Kubernetes store started; takes effect on the next restart',
        );
    }
    this.opts.deletion_grace_period_ms = Math.max(this.opts.deletion_grace_period_ms, opts.deletion_grace_period_ms);
    this.opts.initial_sync_timeout_ms = Math.max(this.opts.initial_sync_timeout_ms, opts.initial_sync_timeout_ms);
  }

  // ---- lookups (hot path: Map gets only) ----

  podByUid(uid: string): PodRecord | undefined {
    return this.podsByUid.get(uid);
  }

  podByContainerId(containerId: string): PodRecord | undefined {
    const uid = this.podUidByContainer.get(containerId);
    return uid === undefined ? undefined : this.podsByUid.get(uid);
  }

  podByIp(ip: string): PodRecord | undefined {
    const uid = this.podUidByIp.get(ip);
    return uid === undefined ? undefined : this.podsByUid.get(uid);
  }

  nodeNameByIp(ip: string): string | undefined {
    return this.nodeByIp.get(ip);
  }

  serviceByClusterIp(ip: string): ServiceRecord | undefined {
    return this.serviceByIp.get(ip);
  }

  /** Controller owner of a ReplicaSet (its Deployment), when the replicaset is known. */
  replicaSetOwner(namespace: string, name: string): Owner | undefined {
    return this.replicaSets.get(`${namespace}/${name}`);
  }

  // ---- updates (informer callbacks; public for the benchmark and unit tests) ----

  upsertPod(p: V1Pod): void {
    const rec = podRecord(p);
    if (!rec) return;
    const key = `${rec.namespace}/${rec.name}`;
    const prevUid = this.podUidByName.get(key);
    if (prevUid !== undefined && prevUid !== rec.uid) this.markPodDeleted(prevUid); // recreated under the same name
    const old = this.podsByUid.get(rec.uid);
    this.podsByUid.set(rec.uid, rec);
    this.podUidByName.set(key, rec.uid);
    if (old) {
      for (const id of old.containers.keys())
        if (!rec.containers.has(id) && this.podUidByContainer.get(id) === rec.uid) this.podUidByContainer.delete(id);
      if (!old.hostNetwork)
        for (const ip of old.ips)
          if (!rec.ips.includes(ip) && this.podUidByIp.get(ip) === rec.uid) this.podUidByIp.delete(ip);
    }
    for (const id of rec.containers.keys()) this.podUidByContainer.set(id, rec.uid);
    if (!rec.hostNetwork) for (const ip of rec.ips) this.podUidByIp.set(ip, rec.uid);
    if (rec.nodeName) for (const ip of rec.hostIps) this.nodeByIp.set(ip, rec.nodeName);
  }

  removePod(p: V1Pod): void {
    const uid = p.metadata?.uid;
    if (uid) this.markPodDeleted(uid);
  }

  private markPodDeleted(uid: string): void {
    const rec = this.podsByUid.get(uid);
    if (!rec || rec.deletedAt !== undefined) return;
    rec.deletedAt = this.now();
    const key = `${rec.namespace}/${rec.name}`;
    if (this.podUidByName.get(key) === uid) this.podUidByName.delete(key);
    if (this.opts.deletion_grace_period_ms === 0) this.sweep();
  }

  /** Drops deleted pods whose grace period is over. */
  sweep(): void {
    const limit = this.now() - this.opts.deletion_grace_period_ms;
    for (const [uid, rec] of this.podsByUid) {
      if (rec.deletedAt === undefined || rec.deletedAt > limit) continue;
      this.podsByUid.delete(uid);
      for (const id of rec.containers.keys())
        if (this.podUidByContainer.get(id) === uid) this.podUidByContainer.delete(id);
      for (const ip of rec.ips) if (this.podUidByIp.get(ip) === uid) this.podUidByIp.delete(ip);
    }
  }

  upsertService(s: V1Service): void {
    const m = s.metadata;
    if (!m?.name) return;
    const key = `${m.namespace ?? ''}/${m.name}`;
    this.removeServiceKey(key);
    const ips = (s.spec?.clusterIPs ?? (s.spec?.clusterIP ? [s.spec.clusterIP] : [])).filter(
      (ip) => ip !== '' && ip !== 'None',
    );
    const rec: ServiceRecord = { name: m.name, namespace: m.namespace ?? '', clusterIps: ips };
    this.services.set(key, rec);
    for (const ip of ips) this.serviceByIp.set(ip, rec);
  }

  removeService(s: V1Service): void {
    this.removeServiceKey(`${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`);
  }

  private removeServiceKey(key: string): void {
    const old = this.services.get(key);
    if (!old) return;
    this.services.delete(key);
    for (const ip of old.clusterIps) if (this.serviceByIp.get(ip) === old) this.serviceByIp.delete(ip);
  }

  upsertReplicaSet(rs: V1ReplicaSet): void {
    const m = rs.metadata;
    if (!m?.name) return;
    this.replicaSets.set(`${m.namespace ?? ''}/${m.name}`, controllerOf(m.ownerReferences));
    this.rsGeneration++;
  }

  removeReplicaSet(rs: V1ReplicaSet): void {
    if (this.replicaSets.delete(`${rs.metadata?.namespace ?? ''}/${rs.metadata?.name ?? ''}`)) this.rsGeneration++;
  }

  // ---- lifecycle ----

  /** Starts the informers on the first call; resolves after the first lists or initial_sync_timeout_ms. Never throws. */
  async retain(): Promise<void> {
    this.refs++;
    if (this.registryKey !== undefined && !registry.has(this.registryKey)) registry.set(this.registryKey, this);
    if (this.refs === 1) this.startPromise = this.startInformers();
    await this.startPromise;
  }

  /** Stops the informers when the last holder releases the store. */
  async release(): Promise<void> {
    if (this.refs === 0) return;
    this.refs--;
    if (this.refs > 0) return;
    if (this.registryKey !== undefined && registry.get(this.registryKey) === this) registry.delete(this.registryKey);
    const runners = this.runners;
    this.runners = [];
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await Promise.all(runners.map((r) => r.stop()));
  }

  get holders(): number {
    return this.refs;
  }

  private async startInformers(): Promise<void> {
    const src = this.source;
    if (!src) {
      this.ctx.logger.warn(
        {},
        'Kubernetes not configured (no kubeconfig, no $KUBECONFIG, no in-cluster service account): Kubernetes attributes disabled',
      );
      return;
    }
    if (!this.node && !this.opts.watchAllPods) {
      this.ctx.logger.error(
        {},
        'Kubernetes node name unknown (set NODE_NAME from the downward API, or node_name): pods are not watched',
      );
    }
    let api: InformerApi;
    try {
      api = await loadApi(src);
    } catch (err) {
      this.apiErrors.inc({ resource: 'kubeconfig' });
      this.ctx.logger.error(
        { error: (err as Error).message },
        'Cannot load the Kubernetes client configuration: Kubernetes attributes disabled',
      );
      return;
    }
    if (this.refs === 0) return; // released while loading
    const podSelector = this.opts.watchAllPods ? undefined : `spec.nodeName=${this.node}`;
    const runners: InformerRunner[] = [];
    if (this.node || this.opts.watchAllPods) {
      runners.push(
        new InformerRunner('pods', this, api, podSelector, {
          upsert: (o) => this.upsertPod(o),
          remove: (o) => this.removePod(o),
        }),
      );
    }
    runners.push(
      new InformerRunner('services', this, api, undefined, {
        upsert: (o) => this.upsertService(o),
        remove: (o) => this.removeService(o),
      }),
      new InformerRunner('replicasets', this, api, undefined, {
        upsert: (o) => this.upsertReplicaSet(o),
        remove: (o) => this.removeReplicaSet(o),
      }),
    );
    this.runners = runners;
    for (const r of runners) {
      this.synced.set({ resource: r.resource }, 0);
      r.start();
    }
    const every = Math.max(100, Math.min(this.opts.deletion_grace_period_ms, 5_000));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(runners.map((r) => r.whenListed())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.opts.initial_sync_timeout_ms);
      }),
    ]);
    clearTimeout(timer);
    if (!this.ready && this.refs > 0) {
      this.ctx.logger.warn(
        {
          waiting_for: runners.filter((r) => !r.listed).map((r) => r.resource),
          timeout_ms: this.opts.initial_sync_timeout_ms,
        },
        'Kubernetes API not synced at start; continuing, lists and watches retry in the background',
      );
    }
  }

  /** For the registry. */
  setRegistryKey(key: string): void {
    this.registryKey = key;
  }
}

async function loadApi(src: K8sSource): Promise<InformerApi> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  if (src.kind === 'file') kc.loadFromFile(src.path);
  else kc.loadFromOptions(inClusterOptions(src.host, src.port));
  if (!kc.getCurrentCluster()) throw new Error('kubeconfig has no current cluster');
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  return {
    kc,
    ListWatch: k8s.ListWatch,
    Watch: k8s.Watch,
    lists: {
      pods: {
        path: '/api/v1/pods',
        list: (fieldSelector) => core.listPodForAllNamespaces(fieldSelector ? { fieldSelector } : {}),
      },
      services: { path: '/api/v1/services', list: () => core.listServiceForAllNamespaces() },
      replicasets: { path: '/apis/apps/v1/replicasets', list: () => apps.listReplicaSetForAllNamespaces() },
    },
  };
}

const registry = new Map<string, K8sStore>();

/**
 * The shared store for this connection and node, created on first use (not
 * started: call retain() from start() and release() from shutdown()).
 */
export function acquireK8sStore(opts: K8sStoreOptions, ctx: ComponentContext): K8sStore {
  const src = k8sSource(opts, ctx.env);
  const key = `${src ? sourceKey(src) : 'none'}|${nodeName(opts, ctx.env)}`;
  const existing = registry.get(key);
  if (existing) {
    existing.merge(opts);
    return existing;
  }
  const store = new K8sStore(opts, ctx);
  store.setRegistryKey(key);
  registry.set(key, store);
  return store;
}

/** Stores currently registered (tests). */
export function registeredK8sStores(): number {
  return registry.size;
}
