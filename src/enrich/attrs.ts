/**
 * The one way enrichment processors return an enriched event: a shallow copy
 * of the event with a new attributes object (inputs are never mutated).
 *
 * Object.assign onto a fresh `{}` on purpose: on Node 20's V8, adding
 * properties to an object made by spread (`{ ...e, attributes }`,
 * `{ ...a, ...b }`) does not share hidden-class transitions and costs µs per
 * added key; Object.assign is ~10× cheaper here (see bench/enrich.ts).
 */
import type { NetEvent } from '../core/event.js';

export type Attrs = NonNullable<NetEvent['attributes']>;

export function withAttributes(event: NetEvent, add: Attrs): NetEvent {
  return withAttributesObject(
    event,
    event.attributes ? Object.assign({}, event.attributes, add) : Object.assign({}, add),
  );
}

/**
 * A copy of `e` with `attributes`, made as one object literal per event type:
 * V8 builds it with the type's hidden class at once, every field in the
 * object itself, where Object.assign({}, e) adds the ~15 fields one by one
 * into a separate property store (about a fifth of the bytes allocated per
 * enriched event, heap-sampled).
 */
export function withAttributesObject(e: NetEvent, attributes: Attrs): NetEvent {
  switch (e.type) {
    case 'soconnect':
      return {
        type: e.type,
        timeUnixNano: e.timeUnixNano,
        pid: e.pid,
        tid: e.tid,
        comm: e.comm,
        cgroupId: e.cgroupId,
        family: e.family,
        saddr: e.saddr,
        sport: e.sport,
        daddr: e.daddr,
        dport: e.dport,
        result: e.result,
        latencyNs: e.latencyNs,
        nonBlocking: e.nonBlocking,
        attributes,
      };
    case 'udpconnect':
      return {
        type: e.type,
        timeUnixNano: e.timeUnixNano,
        pid: e.pid,
        tid: e.tid,
        comm: e.comm,
        cgroupId: e.cgroupId,
        family: e.family,
        saddr: e.saddr,
        sport: e.sport,
        daddr: e.daddr,
        dport: e.dport,
        result: e.result,
        latencyNs: e.latencyNs,
        attributes,
      };
    case 'tcpretrans':
      return {
        type: e.type,
        timeUnixNano: e.timeUnixNano,
        pid: e.pid,
        tid: e.tid,
        comm: e.comm,
        cgroupId: e.cgroupId,
        family: e.family,
        saddr: e.saddr,
        sport: e.sport,
        daddr: e.daddr,
        dport: e.dport,
        state: e.state,
        kind: e.kind,
        attributes,
      };
    case 'gethostlatency':
      return {
        type: e.type,
        timeUnixNano: e.timeUnixNano,
        pid: e.pid,
        tid: e.tid,
        comm: e.comm,
        cgroupId: e.cgroupId,
        func: e.func,
        host: e.host,
        latencyNs: e.latencyNs,
        result: e.result,
        addresses: e.addresses,
        attributes,
      };
    case 'skbdrop': {
      // the optional fields are copied only when present ('saddr' in out stays as it was)
      const out = Object.assign({}, e);
      out.attributes = attributes;
      return out;
    }
  }
}

/** The base of events that had no attributes yet (a WeakMap key). */
const NONE: Attrs = Object.freeze({});
/** Per kept `add`: per shared base, the merged attributes (weak on both: they go with the processors' caches). */
const merged = new WeakMap<Attrs, WeakMap<Attrs, Attrs>>();

/**
 * withAttributes for an `add` that the processor keeps and hands out again
 * (a process's, container's or pod's attributes), never changed once handed
 * out. When the event's attributes are themselves shared (no attributes yet,
 * or a frozen object made here), the merged object is made once per
 * (attributes, add) pair, frozen, and shared by every such event: the
 * events of one process carry one attributes object through the process,
 * container and k8s processors, with no copy per event.
 */
export function withSharedAttributes(event: NetEvent, add: Attrs): NetEvent {
  const base = event.attributes ?? NONE;
  if (base !== NONE && !Object.isFrozen(base)) return withAttributes(event, add);
  let byBase = merged.get(add);
  if (byBase === undefined) {
    byBase = new WeakMap();
    merged.set(add, byBase);
  }
  let attrs = byBase.get(base);
  if (attrs === undefined) {
    attrs = Object.freeze(Object.assign({}, base, add));
    byBase.set(base, attrs);
  }
  return withAttributesObject(event, attrs);
}
