/**
 * A tiny Kubernetes API server for tests, on 127.0.0.1 over plain HTTP:
 * list and watch of pods (/api/v1/pods), services (/api/v1/services) and
 * replicasets (/apis/apps/v1/replicasets), with the real protocol's
 * semantics the informer depends on:
 *   - list returns {kind, apiVersion, metadata.resourceVersion, items}
 *   - watch=true&resourceVersion=N streams newline-delimited
 *     {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":…} from N on
 *   - a resourceVersion older than the compaction point gets an ERROR event
 *     with a 410 Gone Status and the stream ends (→ relist)
 *   - fieldSelector (e.g. spec.nodeName=node-a) is honored for pods
 * plus test controls: stop()/listen again on the same port (API down), expire
 * open watches, send bookmarks, and a request log.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Resource = 'pods' | 'services' | 'replicasets';
type Obj = {
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
};
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

const PATHS: Record<string, Resource> = {
  '/api/v1/pods': 'pods',
  '/api/v1/services': 'services',
  '/apis/apps/v1/replicasets': 'replicasets',
};
const KINDS: Record<Resource, { kind: string; apiVersion: string }> = {
  pods: { kind: 'Pod', apiVersion: 'v1' },
  services: { kind: 'Service', apiVersion: 'v1' },
  replicasets: { kind: 'ReplicaSet', apiVersion: 'apps/v1' },
};

interface Watcher {
  resource: Resource;
  selector: Array<[string[], string, boolean]>;
  res: ServerResponse;
}

export interface RequestLogEntry {
  resource: Resource | 'unknown';
  watch: boolean;
  resourceVersion: string | null;
  fieldSelector: string | null;
  status: number;
}

function getPath(o: unknown, path: string[]): unknown {
  let v = o;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

function parseSelector(s: string | null): Array<[string[], string, boolean]> {
  if (!s) return [];
  return s.split(',').map((term) => {
    const neg = term.includes('!=');
    const [k, v] = term.split(neg ? '!=' : /==?/);
    return [k!.split('.'), v ?? '', neg];
  });
}

function matches(o: Obj, sel: Array<[string[], string, boolean]>): boolean {
  return sel.every(([path, v, neg]) => {
    const got = getPath(o, path);
    const text = typeof got === 'string' || typeof got === 'number' || typeof got === 'boolean' ? String(got) : '';
    return (text === v) !== neg;
  });
}

export class FakeK8sApi {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly objects: Record<Resource, Map<string, Obj>> = {
    pods: new Map(),
    services: new Map(),
    replicasets: new Map(),
  };
  private readonly history: Array<{ rv: number; resource: Resource; type: EventType; object: Obj }> = [];
  private rv = 100;
  /** Watches from a resourceVersion below this get 410 Gone. */
  private compactedRv = 0;
  private readonly watchers = new Set<Watcher>();
  readonly log: RequestLogEntry[] = [];
  port = 0;
  /** When set, list requests answer with this status (e.g. 500, 403). */
  failLists: number | undefined;

  async listen(port = 0): Promise<number> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** Closes the server and every connection (open watches end abruptly). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  /** Writes a kubeconfig pointing at this server into a temp dir; returns its path and a cleanup. */
  static async kubeconfigFor(port: number): Promise<{ path: string; cleanup: () => Promise<void> }> {
    const dir = await mkdtemp(join(tmpdir(), 'netspan-kube-'));
    const path = join(dir, 'config');
    await writeFile(
      path,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: fake\n  cluster:\n    server: http://127.0.0.1:${port}\n    insecure-skip-tls-verify: true`,
        'users:',
        '- name: tester\n  user:\n    token: test-token',
        'contexts:',
        '- name: fake\n  context:\n    cluster: fake\n    user: tester',
        'current-context: fake',
        '',
      ].join('\n'),
    );
    return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }

  // ---- object changes ----

  upsert(resource: Resource, obj: Obj): Obj {
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const type: EventType = this.objects[resource].has(key) ? 'MODIFIED' : 'ADDED';
    const stored: Obj = {
      ...KINDS[resource],
      ...structuredClone(obj),
      metadata: { ...structuredClone(obj.metadata), resourceVersion: String(++this.rv) },
    };
    this.objects[resource].set(key, stored);
    this.emit(resource, type, stored);
    return stored;
  }

  delete(resource: Resource, namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const old = this.objects[resource].get(key);
    if (!old) throw new Error(`no ${resource} ${key}`);
    this.objects[resource].delete(key);
    this.emit(resource, 'DELETED', { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) } });
  }

  /**
   * Simulates etcd compaction: every resourceVersion so far becomes too old.
   * Open watches get an ERROR 410 Gone event and are closed; the informer
   * must relist. Changes made with `silently` are not streamed to open
   * watches (they happen "during" the gap), so only a relist sees them.
   */
  expireWatches(): void {
    this.compactedRv = this.rv; // the current resourceVersion (what a relist returns) stays valid
    this.history.length = 0;
    for (const w of this.watchers) this.sendGone(w.res);
    this.watchers.clear();
  }

  /** Changes the store without telling open watches (they will only see it on relist). */
  silently(fn: () => void): void {
    const saved = new Set(this.watchers);
    this.watchers.clear();
    try {
      fn();
    } finally {
      for (const w of saved) this.watchers.add(w);
    }
  }

  bookmark(): void {
    for (const w of this.watchers) {
      w.res.write(
        `${JSON.stringify({ type: 'BOOKMARK', object: { ...KINDS[w.resource], metadata: { resourceVersion: String(this.rv) } } })}\n`,
      );
    }
  }

  private emit(resource: Resource, type: EventType, object: Obj): void {
    this.history.push({ rv: this.rv, resource, type, object });
    if (this.history.length > 10_000) this.history.shift();
    for (const w of this.watchers) {
      if (w.resource === resource && matches(object, w.selector)) w.res.write(`${JSON.stringify({ type, object })}\n`);
    }
  }

  private sendGone(res: ServerResponse): void {
    const status = {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message: 'too old resource version',
      reason: 'Expired',
      code: 410,
    };
    res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    const resource = PATHS[u.pathname];
    const watch = u.searchParams.get('watch') === 'true';
    const rvParam = u.searchParams.get('resourceVersion');
    const fieldSelector = u.searchParams.get('fieldSelector');
    const entry: RequestLogEntry = {
      resource: resource ?? 'unknown',
      watch,
      resourceVersion: rvParam,
      fieldSelector,
      status: 200,
    };
    this.log.push(entry);
    if (this.log.length > 10_000) this.log.shift();
    if (!resource || req.method !== 'GET') {
      entry.status = 404;
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404 }));
      return;
    }
    const selector = resource === 'pods' ? parseSelector(fieldSelector) : [];
    if (!watch) {
      if (this.failLists !== undefined) {
        entry.status = this.failLists;
        res
          .writeHead(this.failLists, { 'content-type': 'application/json' })
          .end(JSON.stringify({ kind: 'Status', code: this.failLists, message: 'injected failure' }));
        return;
      }
      const items = [...this.objects[resource].values()].filter((o) => matches(o, selector));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          ...KINDS[resource],
          kind: `${KINDS[resource].kind}List`,
          metadata: { resourceVersion: String(this.rv) },
          items,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const from = rvParam && rvParam !== '0' ? Number(rvParam) : this.rv;
    if (from < this.compactedRv) {
      entry.status = 410;
      this.sendGone(res);
      return;
    }
    for (const h of this.history) {
      if (h.rv > from && h.resource === resource && matches(h.object, selector))
        res.write(`${JSON.stringify({ type: h.type, object: h.object })}\n`);
    }
    res.flushHeaders();
    const w: Watcher = { resource, selector, res };
    this.watchers.add(w);
    const timeoutS = Number(u.searchParams.get('timeoutSeconds') ?? 0);
    const t = timeoutS > 0 ? setTimeout(() => res.end(), timeoutS * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(t);
      this.watchers.delete(w);
    });
  }
}

/** A port that nothing listens on right now (for "API down at start"). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

// ---- object builders ----

export function pod(o: {
  name: string;
  namespace?: string;
  uid: string;
  node?: string;
  ip?: string;
  hostIp?: string;
  hostNetwork?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  owner?: { kind: string; name: string };
  containers?: Array<{ name: string; id: string }>;
}): Obj {
  return {
    metadata: {
      name: o.name,
      namespace: o.namespace ?? 'default',
      uid: o.uid,
      labels: o.labels ?? {},
      annotations: o.annotations ?? {},
      ownerReferences: o.owner
        ? [
            {
              apiVersion: 'apps/v1',
              kind: o.owner.kind,
              name: o.owner.name,
              uid: `${o.owner.name}-uid`,
              controller: true,
            },
          ]
        : [],
    },
    spec: {
      nodeName: o.node ?? 'node-a',
      hostNetwork: o.hostNetwork ?? false,
      containers: (o.containers ?? []).map((c) => ({ name: c.name, image: 'x' })),
    },
    status: {
      phase: 'Running',
      podIP: o.ip,
      podIPs: o.ip ? [{ ip: o.ip }] : [],
      hostIP: o.hostIp ?? '192.168.0.10',
      hostIPs: [{ ip: o.hostIp ?? '192.168.0.10' }],
      containerStatuses: (o.containers ?? []).map((c) => ({
        name: c.name,
        containerID: c.id,
        ready: true,
        restartCount: 0,
        image: 'x',
        imageID: 'x',
      })),
    },
  };
}

export function service(o: { name: string; namespace?: string; clusterIP: string }): Obj {
  return {
    metadata: { name: o.name, namespace: o.namespace ?? 'default', uid: `${o.name}-svc-uid` },
    spec: { clusterIP: o.clusterIP, clusterIPs: [o.clusterIP] },
  };
}

export function replicaSet(o: { name: string; namespace?: string; deployment?: string }): Obj {
  return {
    metadata: {
      name: o.name,
      namespace: o.namespace ?? 'default',
      uid: `${o.name}-rs-uid`,
      ownerReferences: o.deployment
        ? [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: o.deployment,
              uid: `${o.deployment}-uid`,
              controller: true,
            },
          ]
        : [],
    },
  };
}
