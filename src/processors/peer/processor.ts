/**
 * peer: names the remote end of soconnect / udpconnect / tcpretrans events.
 *   - k8s.peer.pod.name + k8s.peer.namespace.name   daddr is a pod IP (hostNetwork pods excluded)
 *   - k8s.peer.service.name + k8s.peer.namespace.name daddr is a Service ClusterIP
 *   - k8s.peer.node.name                             daddr is a node IP (status.hostIP of known pods)
 *   - server.address                                 host name a gethostlatency event of the same pid
 *                                                    (or pod) resolved to daddr within dns_window_ms
 * gethostlatency events are remembered and passed on unchanged.
 */
import type { NetEvent } from '../../core/event.js';
import type { ComponentContext, Processor } from '../../pipeline/component.js';
import { withAttributes } from '../../enrich/attrs.js';
import { DnsCache } from '../../enrich/dns-cache.js';
import { acquireK8sStore, type K8sStore } from '../../enrich/k8s-store.js';
import type { PeerConfig } from './config.js';

type Attrs = NonNullable<NetEvent['attributes']>;

export class PeerProcessor implements Processor {
  readonly store: K8sStore | undefined;
  readonly dns: DnsCache;
  private started = false;

  constructor(
    private readonly config: PeerConfig,
    ctx: ComponentContext,
  ) {
    this.store = config.kubernetes
      ? acquireK8sStore({ ...config, watchAllPods: config.watch_all_pods }, ctx)
      : undefined;
    this.dns = new DnsCache(config.dns_max_entries, config.dns_window_ms);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.store?.retain();
  }

  async shutdown(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.store?.release();
  }

  process(event: NetEvent): NetEvent {
    const attrs = event.attributes;
    const podUidAttr = this.config.dns_match_pod ? attrs?.['k8s.pod.uid'] : undefined;
    const podUid = typeof podUidAttr === 'string' ? podUidAttr : undefined;
    if (event.type === 'gethostlatency') {
      if (event.addresses.length > 0)
        this.dns.record(event.pid, podUid, event.host, event.addresses, event.timeUnixNano, event.latencyNs);
      return event;
    }
    if (event.type !== 'soconnect' && event.type !== 'udpconnect' && event.type !== 'tcpretrans') return event;
    const daddr = event.daddr;
    let add: Attrs | undefined;
    const store = this.store;
    if (store) {
      const svc = store.serviceByClusterIp(daddr);
      if (svc) add = { 'k8s.peer.service.name': svc.name, 'k8s.peer.namespace.name': svc.namespace };
      else {
        const pod = store.podByIp(daddr);
        if (pod) add = { 'k8s.peer.pod.name': pod.name, 'k8s.peer.namespace.name': pod.namespace };
        const node = store.nodeNameByIp(daddr);
        if (node !== undefined) (add ??= {})['k8s.peer.node.name'] = node;
      }
    }
    if (attrs?.['server.address'] === undefined) {
      const host = this.dns.lookup(event.pid, podUid, daddr, event.timeUnixNano);
      if (host !== undefined) (add ??= {})['server.address'] = host;
    }
    if (!add) return event;
    return withAttributes(event, add);
  }
}
