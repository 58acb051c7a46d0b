/**
 * The redact processor. Hashes are cached per value (bounded by cache_size,
 * FIFO) since the same addresses and names recur constantly and a digest
 * costs microseconds.
 * An IPv4-mapped IPv6 address hashes like its IPv4 form, so one host keeps
 * one pseudonym whichever socket family saw it.
 */
import { createHash, createHmac } from 'node:crypto';
import type { NetEvent } from '../../core/event.js';
import type { ComponentContext, Processor } from '../../pipeline/component.js';
import type { RedactAction, RedactConfig } from './config.js';

type AttrValue = string | number | boolean | string[];
type Attrs = Record<string, AttrValue>;

export const ADDRESS_ATTRS = [
  'network.peer.address',
  'network.local.address',
  'source.address',
  'destination.address',
  'client.address',
  'host.ip',
  'dns.answers',
];
export const HOST_NAME_ATTRS = ['server.address', 'dns.question.name'];
export const COMM_ATTRS = ['process.command', 'process.executable.name'];
export const COMMAND_LINE_ATTRS = ['process.command_line', 'process.command_args'];

export class RedactProcessor implements Processor {
  private readonly cache = new Map<string, string>();
  private readonly hmacKey: string | undefined;
  private readonly length: number;
  private readonly addresses: RedactAction;
  private readonly hostNames: RedactAction;
  private readonly comm: RedactAction;
  /** Attribute key → action, only for keys whose action is not keep. */
  private readonly attrActions = new Map<string, RedactAction>();
  private readonly attrKeys: string[];
  private readonly cacheMax: number;

  constructor(config: RedactConfig, ctx: Pick<ComponentContext, 'env'>) {
    if (config.hmac_key_env !== undefined) {
      const k = ctx.env[config.hmac_key_env];
      if (!k) throw new Error(`redact: environment variable ${config.hmac_key_env} (hmac_key_env) is not set or empty`);
      this.hmacKey = k;
    } else this.hmacKey = config.hmac_key;
    this.length = config.hash_length;
    this.addresses = config.addresses;
    this.hostNames = config.host_names;
    this.comm = config.comm;
    this.cacheMax = config.cache_size;
    const add = (keys: string[], a: RedactAction) => {
      if (a !== 'keep') for (const k of keys) this.attrActions.set(k, a);
    };
    add(ADDRESS_ATTRS, config.addresses);
    add(HOST_NAME_ATTRS, config.host_names);
    add(COMM_ATTRS, config.comm);
    add(COMMAND_LINE_ATTRS, config.command_line);
    this.attrKeys = [...this.attrActions.keys()];
  }

  /** The pseudonym of a value (exposed for tests and documentation). */
  hash(value: string): string {
    if (value === '') return value;
    let h = this.cache.get(value);
    if (h !== undefined) return h;
    const text = value.startsWith('::ffff:') && value.includes('.') ? value.slice(7) : value;
    const digest = this.hmacKey !== undefined ? createHmac('sha256', this.hmacKey) : createHash('sha256');
    h = digest.update(text).digest('hex').slice(0, this.length);
    if (this.cacheMax > 0) {
      if (this.cache.size >= this.cacheMax) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(value, h);
    }
    return h;
  }

  private str(v: string, a: RedactAction): string {
    return a === 'hash' ? this.hash(v) : a === 'drop' ? '' : v;
  }

  process(event: NetEvent): NetEvent {
    const out = { ...event };
    if (this.comm !== 'keep') out.comm = this.str(out.comm, this.comm);
    const a = this.addresses;
    if (a !== 'keep') {
      switch (out.type) {
        case 'soconnect':
        case 'udpconnect':
        case 'tcpretrans':
          out.saddr = this.str(out.saddr, a);
          out.daddr = this.str(out.daddr, a);
          break;
        case 'skbdrop':
          if (a === 'drop') {
            // Absent, like a packet without an IP header (undefined is not encoded).
            out.saddr = undefined;
            out.daddr = undefined;
          } else {
            if (out.saddr !== undefined) out.saddr = this.hash(out.saddr);
            if (out.daddr !== undefined) out.daddr = this.hash(out.daddr);
          }
          break;
        case 'gethostlatency':
          out.addresses = a === 'drop' ? [] : out.addresses.map((x) => this.hash(x));
          break;
      }
    }
    if (out.type === 'gethostlatency' && this.hostNames !== 'keep') out.host = this.str(out.host, this.hostNames);
    if (event.attributes) out.attributes = this.redactAttributes(event.attributes);
    return out;
  }

  private redactAttributes(src: Attrs): Attrs {
    let touched = false;
    for (let i = 0; i < this.attrKeys.length; i++) {
      if (src[this.attrKeys[i]!] !== undefined) {
        touched = true;
        break;
      }
    }
    if (!touched) return src;
    // One pass building the copy (no `delete`: it would make a slow dictionary object).
    const out: Attrs = {};
    for (const key in src) {
      const v = src[key]!;
      const action = this.attrActions.get(key);
      if (action === undefined) out[key] = v;
      else if (action === 'drop') continue;
      else if (typeof v === 'string') out[key] = this.hash(v);
      else if (Array.isArray(v)) out[key] = v.map((x) => this.hash(x));
      else out[key] = this.hash(String(v));
    }
    return out;
  }
}
