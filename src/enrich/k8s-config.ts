/**
 * Kubernetes connection settings shared by the k8s and peer processors, and
 * how they become a KubeConfig: explicit kubeconfig path, else $KUBECONFIG,
 * else in-cluster (service account) when KUBERNETES_SERVICE_HOST is set.
 * All environment is read from the component context, never process.env.
 */
import { z } from 'zod';

export const k8sConnectionShape = {
  kubeconfig: z
    .string()
    .default('')
    .describe(
      'Path of a kubeconfig file; empty = $KUBECONFIG, else the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT).',
    ),
  node_name: z
    .string()
    .default('')
    .describe(
      "This node's name (pods are watched with fieldSelector spec.nodeName=<node_name>); empty = $NODE_NAME (set it from the downward API: spec.nodeName).",
    ),
  deletion_grace_period_ms: z
    .int()
    .min(0)
    .max(3_600_000)
    .default(30_000)
    .describe(
      'Deleted pods stay resolvable this long, so late events (retransmits, events still queued) are attributed.',
    ),
  initial_sync_timeout_ms: z
    .int()
    .min(0)
    .max(120_000)
    .default(3_000)
    .describe(
      'start() waits at most this long for the first list of pods/services/replicasets; afterwards the watches continue in the background.',
    ),
  retry_interval_ms: z
    .int()
    .min(10)
    .max(600_000)
    .default(1_000)
    .describe('First retry delay after an API error (list or watch); doubles up to max_retry_interval_ms.'),
  max_retry_interval_ms: z.int().min(10).max(3_600_000).default(30_000).describe('Upper bound of the retry delay.'),
  request_timeout_ms: z.int().min(100).max(600_000).default(30_000).describe('Timeout of one list request.'),
  watch_timeout_s: z
    .int()
    .min(1)
    .max(3_600)
    .default(300)
    .describe(
      'Watches ask the API server to end after this many seconds (timeoutSeconds) and are re-opened from the last resourceVersion.',
    ),
};

export interface K8sConnectionConfig {
  kubeconfig: string;
  node_name: string;
  deletion_grace_period_ms: number;
  initial_sync_timeout_ms: number;
  retry_interval_ms: number;
  max_retry_interval_ms: number;
  request_timeout_ms: number;
  watch_timeout_s: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where the connection comes from; undefined when Kubernetes is not configured at all. */
export type K8sSource = { kind: 'file'; path: string } | { kind: 'in-cluster'; host: string; port: string };

export function k8sSource(cfg: Pick<K8sConnectionConfig, 'kubeconfig'>, env: Env): K8sSource | undefined {
  const path = cfg.kubeconfig || (env.KUBECONFIG ?? '').split(':').find((p) => p !== '');
  if (path) return { kind: 'file', path };
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host && port) return { kind: 'in-cluster', host, port };
  return undefined;
}

export function nodeName(cfg: Pick<K8sConnectionConfig, 'node_name'>, env: Env): string {
  return cfg.node_name || env.NODE_NAME || '';
}

export function sourceKey(s: K8sSource): string {
  return s.kind === 'file' ? `file:${s.path}` : `in-cluster:${s.host}:${s.port}`;
}

/** KubeConfig options for the in-cluster service account (what loadFromCluster does, without process.env). */
export interface KubeConfigOptions {
  clusters: Array<{ name: string; server: string; caFile: string; skipTLSVerify: boolean }>;
  users: Array<{ name: string; authProvider: { name: string; config: Record<string, string> } }>;
  contexts: Array<{ name: string; cluster: string; user: string }>;
  currentContext: string;
}

export function inClusterOptions(host: string, port: string): KubeConfigOptions {
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    clusters: [{ name: 'inCluster', server: `https://${h}:${port}`, caFile: `${SA_DIR}/ca.crt`, skipTLSVerify: false }],
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: `${SA_DIR}/token` } } }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser' }],
    currentContext: 'inClusterContext',
  };
}
