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

export const DEFAULT_REORDER_WINDOW_MS = 10;
export const DEFAULT_REORDER_MAX_HELD = 1_024;

export class Reorderer implements EventSink {
  // Parallel arrays, held events in [head, len), oldest at `head` (no object
  // per held event; the arrays are reused, not reallocated, as events come and
  // go). Times are compared as doubles: ~256 ns resolution at today's epoch,
  // enough to order events of different probes (closer ones keep their
  // arrival order).
  private readonly ids: string[] = [];
  private readonly events: (NetEvent | undefined)[] = [];
  private readonly times: number[] = [];
  private head = 0;
  private len = 0;
  private maxSeen = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private readonly windowNs: number;

  constructor(
    private readonly target: () => EventSink,
    private readonly windowMs = DEFAULT_REORDER_WINDOW_MS,
    /** Bound on held events (a function: the service derives it from the current queues). */
    private readonly maxHeld: () => number = () => DEFAULT_REORDER_MAX_HELD,
    private readonly wallNowMs: () => number = Date.now,
  ) {
    this.windowNs = windowMs * 1e6;
  }

  get size(): number {
    return this.len - this.head;
  }

  ingest(probeId: string, event: NetEvent): void {
    const sink = this.target();
    if (this.windowMs <= 0) {
      sink.ingest(probeId, event);
      return;
    }
    sink.prime?.(probeId, event);
    const t = Number(event.timeUnixNano);
    const { times, ids, events } = this;
    // Mostly in order already: find the place from the end, move the newer ones up by one.
    let i = this.len;
    while (i > this.head && times[i - 1]! > t) i--;
    for (let j = this.len; j > i; j--) {
      times[j] = times[j - 1]!;
      ids[j] = ids[j - 1]!;
      events[j] = events[j - 1];
    }
    times[i] = t;
    ids[i] = probeId;
    events[i] = event;
    this.len++;
    if (t > this.maxSeen) this.maxSeen = t;
    this.release(this.maxSeen - this.windowNs, sink);
    const max = this.maxHeld();
    while (this.size > max) this.emitOldest(sink);
    if (this.size > 0 && !this.timer) {
      this.timer = setTimeout(() => this.tick(), this.windowMs);
      this.timer.unref();
    }
  }

  /** Releases every held event, in order. */
  flush(): void {
    const sink = this.target();
    while (this.size > 0) this.emitOldest(sink);
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
    const now = this.wallNowMs() * 1e6;
    this.release((now > this.maxSeen ? now : this.maxSeen) - this.windowNs, this.target());
    if (this.size > 0) {
      this.timer = setTimeout(() => this.tick(), this.windowMs);
      this.timer.unref();
    }
  }

  private release(upTo: number, sink: EventSink): void {
    while (this.head < this.len && this.times[this.head]! <= upTo) this.emitOldest(sink);
    this.compact();
  }

  private emitOldest(sink: EventSink): void {
    const h = this.head++;
    const event = this.events[h]!;
    this.events[h] = undefined; // let it go now, not at compaction
    sink.ingest(this.ids[h]!, event);
  }

  private compact(): void {
    if (this.head === this.len) {
      this.head = 0;
      this.len = 0;
    } else if (this.head > 1024 && this.head * 2 > this.len) {
      const { times, ids, events, head } = this;
      const n = this.len - head;
      for (let j = 0; j < n; j++) {
        times[j] = times[j + head]!;
        ids[j] = ids[j + head]!;
        events[j] = events[j + head];
      }
      for (let j = n; j < this.len; j++) events[j] = undefined;
      this.head = 0;
      this.len = n;
    }
  }
}
