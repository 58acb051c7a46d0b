/**
 * The kernel's drop-reason table, read from the skb:kfree_skb tracepoint's
 * format file (`print fmt: ... __print_symbolic(REC->reason, { 2, "NOT_SPECIFIED" }, ...)`),
 * so the names match the running kernel (the enum changes between versions).
 */
import { readFile } from 'node:fs/promises';

export interface DropReasonTable {
  /** reason number → name without the SKB_DROP_REASON_ prefix. */
  names: Map<number, string>;
  /**
   * Lowest reason value that is a real drop. Values below it (and the
   * NOT_DROPPED_YET / CONSUMED pseudo-reasons, wherever they sit) are skipped
   * in the BPF program. On 6.18: NOT_DROPPED_YET=0, CONSUMED=1 (absent from
   * the table), NOT_SPECIFIED=2 → 2.
   */
  minDropReason: number;
  /** Non-drop values present in the table (NOT_DROPPED_YET, CONSUMED) at or above minDropReason. */
  nonDrops: number[];
  /** The tracepoint has `rx_sk`, the socket a received packet was for (kernel 6.10 on). */
  hasRxSk: boolean;
}

const NON_DROP = new Set(['NOT_DROPPED_YET', 'CONSUMED']);
const PREFIX = 'SKB_DROP_REASON_';

/** Parses the text of events/skb/kfree_skb/format. Throws when the tracepoint has no reason table. */
export function parseDropReasonFormat(format: string): DropReasonTable {
  if (!/^\s*field:[^;]*\breason;/m.test(format)) {
    throw new Error('skb:kfree_skb has no "reason" field (kernel older than 5.17?)');
  }
  const at = format.indexOf('__print_symbolic(REC->reason');
  if (at < 0) throw new Error('skb:kfree_skb format has no __print_symbolic(REC->reason, ...) table');
  // The symbolic list runs to the matching ')' of __print_symbolic(.
  let depth = 0;
  let end = format.length;
  for (let i = at + '__print_symbolic'.length; i < format.length; i++) {
    const c = format[i];
    if (c === '"') {
      const close = format.indexOf('"', i + 1);
      if (close < 0) break;
      i = close;
    } else if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) {
        end = i;
        break;
      }
    }
  }
  const body = format.slice(at, end);
  const names = new Map<number, string>();
  const re = /\{\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*"([^"]*)"\s*\}/g;
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    const value = Number(m[1]);
    let name = m[2]!;
    if (name.startsWith(PREFIX)) name = name.slice(PREFIX.length);
    else if (name === 'SKB_NOT_DROPPED_YET' || name === 'SKB_CONSUMED') name = name.slice(4);
    if (Number.isSafeInteger(value) && name.length > 0 && !names.has(value)) names.set(value, name);
  }
  if (names.size === 0) throw new Error('skb:kfree_skb reason table is empty');
  let min = Infinity;
  const nonDrops: number[] = [];
  for (const [value, name] of names) {
    if (NON_DROP.has(name)) nonDrops.push(value);
    else if (value < min) min = value;
  }
  if (!Number.isFinite(min)) throw new Error('skb:kfree_skb reason table has no drop reasons');
  return {
    names,
    minDropReason: min,
    nonDrops: nonDrops.filter((v) => v >= min).sort((a, b) => a - b),
    hasRxSk: /^\s*field:[^;]*\brx_sk;/m.test(format),
  };
}

export async function readDropReasonTable(tracefs: string): Promise<DropReasonTable> {
  return parseDropReasonFormat(await readFile(`${tracefs}/events/skb/kfree_skb/format`, 'utf8'));
}

/** Name for a reason number: the table's, else SUBSYS_<s>_<code> for subsystem reasons (upper 16 bits), else UNKNOWN_<n>. */
export function dropReasonName(table: ReadonlyMap<number, string>, n: number): string {
  const name = table.get(n);
  if (name !== undefined) return name;
  if (n >= 0x10000) return `SUBSYS_${Math.floor(n / 0x10000)}_${n % 0x10000}`;
  return `UNKNOWN_${n}`;
}
