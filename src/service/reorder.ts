/**
 * Puts the events of all probes back in kernel-time order before the
 * pipelines see them. Each probe is its own bpftrace process, so a DNS
 * lookup's event and the connect that used its answer (microseconds later)
 * reach netspan through two pipes in either order; the peer processor can
 * only name the server of a connect whose lookup it has already seen.
 *
 * An event is held until an event at least `windowMs` newer has arrived
 * (event-time watermark: the same decisions for live input and --replay of
 * the same lines), or until it is `windowMs` old by the wall clock (a quiet
 * node), and released in time order (stable for equal times). At most
 * `maxHeld()` events are held; beyond that the oldest goes on at once.
 * Nothing is dropped: flush() releases everything (end of replay, stop).
 *
 * Holding delays processing by up to the window, so processors first get a
 * prime() call at read time (the process processor reads /proc then, before
 * a short-lived process is gone).
 */
import type { NetEvent } from '../core/event.js';
import type { EventSink } from './probe-input.js';

interface Held {
  probeId: string;
  event: NetEvent;
}

export const DEFAULT_REORDER_WINDOW_MS = 25;
export const DEFAULT_REORDER_MAX_HELD = 10_000;

export class Reorderer implements EventSink {
  private held: Held[] = [];
  private head = 0;
  private maxSeen = 0n;
  private timer: NodeJS.Timeout | undefined;
  private readonly windowNs: bigint;

  constructor(
    private readonly target: () => EventSink,
    private readonly windowMs = DEFAULT_REORDER_WINDOW_MS,
    /** Bound on held events (a function: the service derives it from the current queues). */
    private readonly maxHeld: () => number = () => DEFAULT_REORDER_MAX_HELD,
    private readonly wallNowNs: () => bigint = () => BigInt(Date.now()) * 1_000_000n,
  ) {
    this.windowNs = BigInt(Math.round(windowMs * 1e6));
  }

  get size(): number {
    return this.held.length - this.head;
  }

  ingest(probeId: string, event: NetEvent): void {
    if (this.windowMs <= 0) {
      this.target().ingest(probeId, event);
      return;
    }
    this.target().prime?.(probeId, event);
    const t = event.timeUnixNano;
    // Mostly in order already: find the place from the end.
    let i = this.held.length;
    while (i > this.head && this.held[i - 1]!.event.timeUnixNano > t) i--;
    if (i === this.held.length) this.held.push({ probeId, event });
    else this.held.splice(i, 0, { probeId, event });
    if (t > this.maxSeen) this.maxSeen = t;
    this.release(this.maxSeen - this.windowNs);
    const max = this.maxHeld();
    while (this.size > max) this.emitOldest();
    if (this.size > 0 && !this.timer) {
      this.timer = setTimeout(() => this.tick(), this.windowMs);
      this.timer.unref();
    }
  }

  /** Releases every held event, in order. */
  flush(): void {
    while (this.size > 0) this.emitOldest();
    this.compact();
  }

  /** Stops the timer after releasing everything. Safe twice. */
  close(): void {
    this.flush();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    this.timer = undefined;
    const now = this.wallNowNs();
    this.release((now > this.maxSeen ? now : this.maxSeen) - this.windowNs);
    if (this.size > 0) {
      this.timer = setTimeout(() => this.tick(), this.windowMs);
      this.timer.unref();
    }
  }

  private release(upTo: bigint): void {
    while (this.size > 0 && this.held[this.head]!.event.timeUnixNano <= upTo) this.emitOldest();
    this.compact();
  }

  private emitOldest(): void {
    const h = this.held[this.head]!;
    this.held[this.head++] = undefined as unknown as Held; // let it go now, not at compaction
    this.target().ingest(h.probeId, h.event);
  }

  private compact(): void {
    if (this.head === this.held.length) {
      this.held = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.held.length) {
      this.held = this.held.slice(this.head);
      this.head = 0;
    }
  }
}
