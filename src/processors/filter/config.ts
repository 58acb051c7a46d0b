import { isIP } from 'node:net';
import { z } from 'zod';
import { EVENT_TYPES } from '../../core/event.js';

/** `80`, or an inclusive range `"8000-8999"`. */
export const portSpecSchema = z
  .union([z.int(), z.string()])
  .superRefine((v, ctx) => {
    if (parsePortSpec(v) === undefined)
      ctx.addIssue({ code: 'custom', message: 'must be a port 0-65535 or a range "low-high" such as "8000-8999"' });
  })
  .describe('A port (80) or an inclusive range ("8000-8999").');

/** Parses a port spec into [low, high]; undefined when invalid. */
export function parsePortSpec(v: number | string): [number, number] | undefined {
  let lo: number;
  let hi: number;
  if (typeof v === 'number') lo = hi = v;
  else {
    const m = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(v) ?? /^\s*(\d{1,5})()\s*$/.exec(v);
    if (!m) return undefined;
    lo = Number(m[1]);
    hi = m[2] ? Number(m[2]) : lo;
  }
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > 65535 || lo > hi) return undefined;
  return [lo, hi];
}

/** `10.0.0.0/8`, `fd00::/8`, or a single address (= /32 or /128). */
export function parseCidr(s: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = s.indexOf('/');
  const address = (slash < 0 ? s : s.slice(0, slash)).trim();
  const v = isIP(address);
  if (v === 0) return undefined;
  const max = v === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    if (prefix > max) return undefined;
  }
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

const strings = (what: string) => z.array(z.string().min(1)).min(1).optional().describe(what);

/** String-valued criteria (compared as text; regular expressions with match_type: regexp). */
export const STRING_CRITERIA = ['namespaces', 'pods', 'workloads', 'comms', 'results', 'drop_reasons'] as const;

export const matcherSchema = z
  .strictObject({
    match_type: z
      .enum(['strict', 'regexp'])
      .default('strict')
      .describe(
        'How string criteria (namespaces, pods, workloads, comms, results, drop_reasons, label values) compare: strict = equal text; regexp = JavaScript regular expression, unanchored like the Collector (write ^...$ to anchor).',
      ),
    types: z
      .array(z.enum(EVENT_TYPES))
      .min(1)
      .optional()
      .describe('Event types (probe names): soconnect, tcpretrans, gethostlatency, skbdrop, udpconnect.'),
    namespaces: strings(
      'Kubernetes namespaces (attribute k8s.namespace.name). Events without it (host processes) never match.',
    ),
    pods: strings('Pod names (attribute k8s.pod.name).'),
    labels: z
      .record(z.string().min(1), z.union([z.string(), z.array(z.string()).min(1)]))
      .optional()
      .describe(
        'Pod labels, label key → value or list of values. Read from the attributes k8s.pod.label.<key>. Every listed label must match (like a label selector); a list of values matches any of them.',
      ),
    workloads: strings(
      'Workload names: matches any of k8s.deployment.name, k8s.statefulset.name, k8s.daemonset.name, k8s.job.name, k8s.cronjob.name.',
    ),
    ports: z
      .array(portSpecSchema)
      .min(1)
      .optional()
      .describe('Ports or port ranges, matched against the local and the peer port (sport/dport).'),
    cidrs: z
      .array(
        z.string().superRefine((v, ctx) => {
          if (!parseCidr(v))
            ctx.addIssue({
              code: 'custom',
              message: 'must be an IPv4 or IPv6 address or CIDR, such as 10.0.0.0/8 or fd00::/8',
            });
        }),
      )
      .min(1)
      .optional()
      .describe(
        'Addresses or CIDRs (IPv4 and IPv6), matched against saddr and daddr, and against every resolved address of a DNS lookup (gethostlatency). IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) match IPv4 CIDRs.',
      ),
    results: strings(
      'Results: connect result of soconnect ("ESTABLISHED" or an errno name such as ECONNREFUSED) and udpconnect ("OK" or an errno name), and the DNS lookup result of gethostlatency.',
    ),
    drop_reasons: strings('skbdrop drop reasons without the SKB_DROP_REASON_ prefix, e.g. NETFILTER_DROP, NO_SOCKET.'),
    comms: strings('Task command names (comm, at most 15 characters).'),
  })
  .superRefine((m, ctx) => {
    const { match_type: _mt, ...criteria } = m;
    void _mt;
    if (Object.values(criteria).every((v) => v === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message:
          'needs at least one criterion (types, namespaces, pods, labels, workloads, ports, cidrs, results, drop_reasons, comms)',
      });
    }
    if (m.match_type !== 'regexp') return;
    const check = (re: string, path: PropertyKey[]): void => {
      try {
        new RegExp(re);
      } catch (e: unknown) {
        ctx.addIssue({ code: 'custom', path, message: e instanceof Error ? e.message : String(e) });
      }
    };
    for (const c of STRING_CRITERIA) m[c]?.forEach((re, i) => check(re, [c, i]));
    for (const [k, v] of Object.entries(m.labels ?? {})) {
      if (typeof v === 'string') check(v, ['labels', k]);
      else v.forEach((re, i) => check(re, ['labels', k, i]));
    }
  })
  .describe(
    'Criteria: an event matches when every criterion given matches (AND); a criterion with a list matches when any of its values does (OR).',
  );

export const filterConfigSchema = z
  .strictObject({
    include: matcherSchema.optional().describe('When present, only events matching it pass.'),
    exclude: matcherSchema
      .optional()
      .describe('Events matching it are discarded, even when they match include (exclude wins).'),
  })
  .superRefine((c, ctx) => {
    if (!c.include && !c.exclude) ctx.addIssue({ code: 'custom', message: 'needs include, exclude or both' });
  })
  .describe(
    'Keeps or discards events by type, Kubernetes identity, ports, addresses, results, drop reasons and comm, like the Collector filter processor: exclude wins; include, when present, must match. Discards are counted as netspan_events_discarded_total{reason="filtered"}.',
  );

export type FilterConfig = z.infer<typeof filterConfigSchema>;
export type MatcherConfig = z.infer<typeof matcherSchema>;
