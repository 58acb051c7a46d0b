/**
 * A Buffer written front to back that doubles when full: the base of the
 * Kafka wire writer (exporters/kafka/wire/bytes.ts) and the protobuf writer
 * (exporters/otlp/proto-writer.ts).
 */
export class GrowableBuffer {
  buf: Buffer;
  pos = 0;

  constructor(initialSize: number) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Make room for `n` more bytes. */
  ensure(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, 64);
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}
