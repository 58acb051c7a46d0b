import { z } from 'zod';
import { k8sConnectionShape } from '../../enrich/k8s-config.js';

const keyList = (what: string) =>
  z
    .array(z.string().min(1))
    .max(256)
    .default([])
    .describe(
      `Pod ${what} copied to events as k8s.pod.${what === 'labels' ? 'label' : 'annotation'}.<key>: exact keys, or a prefix ending in "*" (e.g. "app.kubernetes.io/*"). Empty = none.`,
    );

export const k8sConfigSchema = z
  .strictObject({
    ...k8sConnectionShape,
    labels: keyList('labels'),
    annotations: keyList('annotations'),
    resolve_from_cgroup: z
      .boolean()
      .default(true)
      .describe(
        "When an event has no k8s.pod.uid (no container processor before this one), resolve it from the event's cgroup id.",
      ),
    host_node_name: z
      .boolean()
      .default(true)
      .describe('Set k8s.node.name on events of host (non-container) processes too.'),
  })
  .prefault({});
export type K8sConfig = z.infer<typeof k8sConfigSchema>;
