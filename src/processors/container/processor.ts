/**
 * container: cgroup id → container.id, container.runtime, k8s.pod.uid (or
 * netspan.host_process=true), via the shared cgroup resolver
 * (src/enrich/cgroup-resolver.ts). Unresolvable events pass on unenriched
 * and are counted (netspan_enrich_misses_total{processor="container"}).
 */
import type { NetEvent } from '../../core/event.js';
import type { ComponentContext, Processor } from '../../pipeline/component.js';
import type { Counter } from '../../telemetry/metrics.js';
import { sharedCgroupResolver, type CgroupResolver, type ResolvedCgroup } from '../../enrich/cgroup-resolver.js';
import { missCounter } from '../../enrich/metrics.js';
import { withSharedAttributes } from '../../enrich/attrs.js';
import { resolverOptions, type ContainerConfig } from './config.js';

type Attrs = NonNullable<NetEvent['attributes']>;

export const ATTR_HOST_PROCESS = 'netspan.host_process';

export function containerAttributes(r: ResolvedCgroup): Attrs {
  const a: Attrs = {};
  if (r.containerId !== undefined) a['container.id'] = r.containerId;
  if (r.runtime !== undefined) a['container.runtime'] = r.runtime;
  if (r.podUid !== undefined) a['k8s.pod.uid'] = r.podUid;
  if (r.host) a[ATTR_HOST_PROCESS] = true;
  return a;
}

export interface ContainerProcessorOptions {
  now?: () => number;
}

export class ContainerProcessor implements Processor {
  readonly resolver: CgroupResolver;
  private readonly attrs = new WeakMap<ResolvedCgroup, Attrs>();
  private readonly misses: Counter;

  constructor(
    config: ContainerConfig,
    private readonly ctx: ComponentContext,
    opts: ContainerProcessorOptions = {},
  ) {
    this.resolver = sharedCgroupResolver({ ...resolverOptions(config), ...(opts.now ? { now: opts.now } : {}) });
    this.misses = missCounter(ctx.telemetry);
  }

  start(): Promise<void> {
    if (this.resolver.root === undefined) {
      this.ctx.logger.warn({}, 'No cgroup v2 mount found; container identity comes from /proc/<pid>/cgroup only');
    } else if (this.resolver.stats.scans === 0) {
      this.resolver.scan();
      this.ctx.logger.info(
        {
          cgroup_root: this.resolver.root,
          cgroups: this.resolver.stats.lastScanDirs,
          ms: Math.round(this.resolver.stats.lastScanMs),
        },
        'cgroup hierarchy indexed',
      );
    }
    return Promise.resolve();
  }

  /** Read time (before the reorder stage holds the event): resolve while /proc/<pid>/cgroup is surely there. */
  prime(event: NetEvent): void {
    this.resolver.resolve(event.cgroupId, event.pid);
  }

  process(event: NetEvent): NetEvent {
    const r = this.resolver.resolve(event.cgroupId, event.pid);
    if (!r) {
      this.misses.inc({ processor: 'container', reason: 'cgroup_unknown' });
      return event;
    }
    let a = this.attrs.get(r);
    if (!a) {
      a = containerAttributes(r);
      this.attrs.set(r, a);
    }
    return withSharedAttributes(event, a);
  }
}
