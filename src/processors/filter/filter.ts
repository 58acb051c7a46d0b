/**
 * The filter processor: include/exclude criteria compiled once at create()
 * into a list of predicates; per event it is a few Set lookups, a port
 * bitmap and a BlockList check, without allocating.
 */
import { BlockList } from 'node:net';
import type { NetEvent } from '../../core/event.js';
import type { ComponentContext, Processor } from '../../pipeline/component.js';
import {
  attrString,
  POD_LABEL_PREFIX,
  resultOf,
  WORKLOAD_ATTRS,
  ATTR_NAMESPACE,
  ATTR_POD_NAME,
} from '../shared/fields.js';
import { parseCidr, parsePortSpec, type FilterConfig, type MatcherConfig } from './config.js';

type Predicate = (e: NetEvent) => boolean;

/** Addresses whose CIDR verdict is remembered, per filter block. */
export const CIDR_MEMO_MAX = 16_384;
type TextMatch = (s: string) => boolean;

function textMatcher(values: readonly string[], regexp: boolean): TextMatch {
  if (!regexp) {
    if (values.length === 1) {
      const only = values[0]!;
      return (s) => s === only;
    }
    const set = new Set(values);
    return (s) => set.has(s);
  }
  const res = values.map((v) => new RegExp(v));
  return (s) => {
    for (let i = 0; i < res.length; i++) if (res[i]!.test(s)) return true;
    return false;
  };
}

function attrPredicate(key: string, match: TextMatch): Predicate {
  return (e) => {
    const v = attrString(e, key);
    return v !== undefined && match(v);
  };
}

/** Compiles one include/exclude block into a single predicate (AND of its criteria). */
export function compileMatcher(m: MatcherConfig): Predicate {
  const regexp = m.match_type === 'regexp';
  const preds: Predicate[] = [];

  if (m.types) {
    const types = new Set<string>(m.types);
    preds.push((e) => types.has(e.type));
  }
  if (m.namespaces) preds.push(attrPredicate(ATTR_NAMESPACE, textMatcher(m.namespaces, regexp)));
  if (m.pods) preds.push(attrPredicate(ATTR_POD_NAME, textMatcher(m.pods, regexp)));
  if (m.labels) {
    for (const [key, values] of Object.entries(m.labels)) {
      preds.push(
        attrPredicate(POD_LABEL_PREFIX + key, textMatcher(typeof values === 'string' ? [values] : values, regexp)),
      );
    }
  }
  if (m.workloads) {
    const match = textMatcher(m.workloads, regexp);
    const keys = WORKLOAD_ATTRS.map(([, attr]) => attr);
    preds.push((e) => {
      if (!e.attributes) return false;
      for (let i = 0; i < keys.length; i++) {
        const v = e.attributes[keys[i]!];
        if (typeof v === 'string' && match(v)) return true;
      }
      return false;
    });
  }
  if (m.ports) {
    const bitmap = new Uint8Array(65536);
    for (const spec of m.ports) {
      const [lo, hi] = parsePortSpec(spec)!; // validated by the schema
      bitmap.fill(1, lo, hi + 1);
    }
    preds.push((e) => {
      if (e.type === 'gethostlatency') return false;
      return (e.sport !== undefined && bitmap[e.sport] === 1) || (e.dport !== undefined && bitmap[e.dport] === 1);
    });
  }
  if (m.cidrs) {
    // Two lists: BlockList treats IPv4 as part of the IPv6 space, so ::/0 in a
    // single list would also match every IPv4 address. An IPv4 address is
    // checked against the IPv4 CIDRs only; an IPv6 address against both (the
    // IPv4 list matches IPv4-mapped addresses such as ::ffff:10.0.0.1).
    const v4 = new BlockList();
    const v6 = new BlockList();
    for (const c of m.cidrs) {
      const p = parseCidr(c)!; // validated by the schema
      (p.family === 'ipv4' ? v4 : v6).addSubnet(p.address, p.prefix, p.family);
    }
    const check = (a: string): boolean =>
      a.includes(':') ? v6.check(a, 'ipv6') || v4.check(a, 'ipv6') : v4.check(a, 'ipv4');
    // BlockList.check parses the address into a SocketAddress on every call
    // (microseconds); addresses recur, so results are memoised (bounded, FIFO).
    const memo = new Map<string, boolean>();
    const inList = (a: string): boolean => {
      let r = memo.get(a);
      if (r === undefined) {
        r = check(a);
        if (memo.size >= CIDR_MEMO_MAX) memo.delete(memo.keys().next().value!);
        memo.set(a, r);
      }
      return r;
    };
    preds.push((e) => {
      if (e.type === 'gethostlatency') {
        const a = e.addresses;
        for (let i = 0; i < a.length; i++) if (inList(a[i]!)) return true;
        return false;
      }
      return (e.saddr !== undefined && inList(e.saddr)) || (e.daddr !== undefined && inList(e.daddr));
    });
  }
  if (m.results) {
    const match = textMatcher(m.results, regexp);
    preds.push((e) => {
      const r = resultOf(e);
      return r !== undefined && match(r);
    });
  }
  if (m.drop_reasons) {
    const match = textMatcher(m.drop_reasons, regexp);
    preds.push((e) => e.type === 'skbdrop' && match(e.reason));
  }
  if (m.comms) {
    const match = textMatcher(m.comms, regexp);
    preds.push((e) => match(e.comm));
  }

  if (preds.length === 1) return preds[0]!;
  return (e) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i]!(e)) return false;
    return true;
  };
}

export class FilterProcessor implements Processor {
  private readonly include: Predicate | undefined;
  private readonly exclude: Predicate | undefined;

  constructor(
    config: FilterConfig,
    private readonly ctx: Pick<ComponentContext, 'id' | 'telemetry'>,
  ) {
    this.include = config.include && compileMatcher(config.include);
    this.exclude = config.exclude && compileMatcher(config.exclude);
  }

  process(event: NetEvent): NetEvent | undefined {
    if ((this.exclude !== undefined && this.exclude(event)) || (this.include !== undefined && !this.include(event))) {
      this.ctx.telemetry.discarded(this.ctx.id, 'filtered');
      return undefined;
    }
    return event;
  }
}
