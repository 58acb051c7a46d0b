/**
 * Buffers that encoded batches are written into, handed back once a batch is
 * settled (delivered, or counted as dropped) and written into again. At
 * 10,000 events/s a batch of log records is about half a megabyte, and a new
 * buffer per batch lives until the next garbage collection of its wrapper,
 * seconds later: tens of megabytes of dead buffers in the process's memory.
 * Bounded: at most `max` buffers are kept; more are left to the collector.
 */
/** Smaller buffers are not kept (Buffer.allocUnsafe slices its shared 8 KiB slab for small sizes). */
const MIN_SIZE = 64 * 1024;

export class ChunkPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(private readonly max = 8) {}

  /** Buffers waiting to be taken (tests). */
  get size(): number {
    return this.free.length;
  }

  /** A buffer of at least `size` bytes, from the pool when one is large enough (smaller ones are let go). */
  take(size: number): Buffer | undefined {
    while (this.free.length > 0) {
      const ab = this.free.pop()!;
      if (ab.byteLength >= size) return Buffer.from(ab);
    }
    return undefined;
  }

  /**
   * Hand back the buffer under `chunk` (a view from ProtoWriter.detach()).
   * Nothing may read `chunk` afterwards. A buffer given twice is kept once.
   */
  give(chunk: Buffer): void {
    const ab = chunk.buffer;
    // only whole buffers of their own: small Buffer.allocUnsafe() ones are slices of a shared slab
    if (!(ab instanceof ArrayBuffer) || chunk.byteOffset !== 0 || ab.byteLength < MIN_SIZE) return;
    if (this.free.length >= this.max || this.free.includes(ab)) return;
    this.free.push(ab);
  }
}
