/**
 * The attributes processor: actions applied in order to event.attributes.
 * The attribute map is copied at most once per event, and only when an
 * action changes something; otherwise the input event is returned as is.
 */
import type { NetEvent } from '../../core/event.js';
import type { Processor } from '../../pipeline/component.js';
import type { AttributeAction, AttributesConfig } from './config.js';

type AttrValue = string | number | boolean | string[];
type Attrs = Record<string, AttrValue>;

const DELETED = Symbol('deleted');

export class AttributesProcessor implements Processor {
  private readonly actions: readonly AttributeAction[];
  /**
   * Pending changes of the event being processed (reused: process() is
   * synchronous). Applied in one pass at the end, so the output is built
   * without `delete`, which would turn it into a slow dictionary object.
   */
  private readonly changes = new Map<string, AttrValue | typeof DELETED>();

  constructor(config: AttributesConfig) {
    this.actions = config.actions.map((a) => ({ ...a }));
  }

  process(event: NetEvent): NetEvent {
    const src = event.attributes;
    const changes = this.changes;
    for (let i = 0; i < this.actions.length; i++) {
      const a = this.actions[i]!;
      switch (a.action) {
        case 'insert':
          if (!this.has(src, a.key)) changes.set(a.key, a.value!);
          break;
        case 'update':
          if (this.has(src, a.key)) changes.set(a.key, a.value!);
          break;
        case 'upsert':
          changes.set(a.key, a.value!);
          break;
        case 'delete':
          if (this.has(src, a.key)) changes.set(a.key, DELETED);
          break;
        case 'rename': {
          const from = a.from_attribute!;
          if (from === a.key || !this.has(src, from)) break;
          changes.set(a.key, this.get(src, from));
          changes.set(from, DELETED);
          break;
        }
      }
    }
    if (changes.size === 0) return event;
    const out: Attrs = {};
    if (src) for (const k in src) if (!changes.has(k)) out[k] = src[k]!;
    for (const [k, v] of changes) {
      if (v === DELETED) continue;
      // Lists are copied, so a consumer mutating one event's list can't change the config or another event.
      out[k] = Array.isArray(v) ? [...v] : v;
    }
    changes.clear();
    return { ...event, attributes: out };
  }

  /** Whether key is present, pending changes applied. */
  private has(src: Attrs | undefined, key: string): boolean {
    const c = this.changes.get(key);
    return c === undefined ? src !== undefined && Object.hasOwn(src, key) : c !== DELETED;
  }

  private get(src: Attrs | undefined, key: string): AttrValue {
    const c = this.changes.get(key);
    return c === undefined ? src![key]! : (c as AttrValue);
  }
}
