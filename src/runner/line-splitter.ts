import { MAX_LINE_LENGTH } from '../core/parser.js';

/**
 * Splits a stream of latin1 chunks into lines. Never holds more than
 * `maxLine` characters of an unterminated line: a longer one is reported once
 * through `onOverlong` and skipped up to its newline.
 */
export class LineSplitter {
  private pending = '';
  private skipping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOverlong: (length: number) => void,
    private readonly maxLine = MAX_LINE_LENGTH,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      if (this.skipping) {
        this.skipping = false;
      } else if (this.pending.length > 0) {
        const line = this.pending + chunk.slice(start, nl);
        this.pending = '';
        if (line.length > this.maxLine) this.onOverlong(line.length);
        else this.onLine(line);
      } else if (nl - start > this.maxLine) {
        this.onOverlong(nl - start);
      } else {
        this.onLine(chunk.slice(start, nl));
      }
      start = nl + 1;
    }
    if (start < chunk.length && !this.skipping) {
      this.pending += chunk.slice(start);
      if (this.pending.length > this.maxLine) {
        this.onOverlong(this.pending.length);
        this.pending = '';
        this.skipping = true;
      }
    }
  }

  /** End of stream: the unterminated tail, if any, as a last line. */
  end(): void {
    if (this.pending.length > 0 && !this.skipping) this.onLine(this.pending);
    this.pending = '';
    this.skipping = false;
  }
}
