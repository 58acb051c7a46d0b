/**
 * --record: the raw probe output, tagged with the probe id, so that --replay
 * can run it through a pipeline later. Format (latin1 text):
 *   #netspan-record v1 clock_offset_ns=<ns>
 *   <probe id>\t<line exactly as bpftrace printed it>
 * A write error (disk full, ...) is logged once and counted; recording stops,
 * events keep flowing.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Telemetry } from '../telemetry/internal-events.js';

export const RECORD_MAGIC = '#netspan-record v1';
const MAX_BUFFERED = 16 * 1024 * 1024;

export class Recorder {
  private out: WriteStream | undefined;
  private failed = false;

  constructor(
    path: string,
    clockOffsetNs: bigint,
    private readonly telemetry: Telemetry,
  ) {
    this.out = createWriteStream(path, { encoding: 'latin1' });
    this.out.on('error', (e) => this.fail(e.message));
    this.out.write(`${RECORD_MAGIC} clock_offset_ns=${clockOffsetNs}\n`);
  }

  write(probeId: string, line: string): void {
    if (!this.out || this.failed) return;
    if (this.out.writableLength > MAX_BUFFERED) {
      this.fail(`more than ${MAX_BUFFERED} bytes waiting to be written`);
      return;
    }
    this.out.write(`${probeId}\t${line}\n`);
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.telemetry.recordError(message);
    this.out?.destroy();
    this.out = undefined;
  }

  async close(): Promise<void> {
    const out = this.out;
    this.out = undefined;
    if (!out) return;
    await new Promise<void>((resolve) => out.end(() => resolve()));
  }
}
