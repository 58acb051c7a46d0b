import { z } from 'zod';
import { k8sConnectionShape } from '../../enrich/k8s-config.js';

export const peerConfigSchema = z
  .strictObject({
    ...k8sConnectionShape,
    kubernetes: z
      .boolean()
      .default(true)
      .describe('Name peers from the Kubernetes store (pod IPs, Service ClusterIPs, node IPs). Off = DNS names only.'),
    watch_all_pods: z
      .boolean()
      .default(false)
      .describe(
        "Watch every pod of the cluster so any pod IP can be named (memory and API load grow with the cluster). Off = only this node's pods are known.",
      ),
    dns_window_ms: z
      .int()
      .min(0)
      .max(3_600_000)
      .default(30_000)
      .describe(
        'A connect to an address is named with a host name the same pid (or pod) resolved to that address at most this long before.',
      ),
    dns_max_entries: z
      .int()
      .min(1)
      .max(1_000_000)
      .default(16_384)
      .describe('Bound on remembered (pid or pod, address) → host name entries (LRU).'),
    dns_match_pod: z
      .boolean()
      .default(true)
      .describe(
        'Also match lookups and connects of different pids in the same pod (k8s.pod.uid), e.g. a resolver sidecar or a pre-fork server.',
      ),
  })
  .prefault({});
export type PeerConfig = z.infer<typeof peerConfigSchema>;
