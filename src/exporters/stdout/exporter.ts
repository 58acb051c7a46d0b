import type { NetEvent } from '../../core/event.js';
import { JsonWriter } from '../../core/json-writer.js';
import type { Exporter, ExportResult } from '../../pipeline/component.js';
import type { StdoutConfig } from './config.js';
import { formatRow, TABLE_HEADER } from './table.js';

/** Writes events to a stream (stdout): JSON lines, or aligned columns on a terminal. */
export class StdoutExporter implements Exporter {
  private readonly table: boolean;
  private headerWritten = false;

  constructor(
    cfg: StdoutConfig,
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
  ) {
    this.table = cfg.format === 'table' || (cfg.format === 'auto' && out.isTTY === true);
  }

  async start(): Promise<void> {}

  async export(batch: readonly NetEvent[]): Promise<ExportResult> {
    let text: string | Buffer;
    if (this.table) {
      text = '';
      if (!this.headerWritten) {
        text += TABLE_HEADER + '\n';
        this.headerWritten = true;
      }
      for (const e of batch) text += formatRow(e) + '\n';
    } else {
      // JSON lines written as bytes into one buffer per batch (the stream may keep it until written)
      const w = new JsonWriter(batch.length * 512);
      for (const e of batch) {
        w.event(e);
        w.ensure(1);
        w.buf[w.pos++] = 0x0a;
      }
      text = w.buf.subarray(0, w.pos);
    }
    return new Promise((resolve) => {
      const ok = this.out.write(text, (err) => {
        if (err) resolve({ code: 'failure', error: err.message });
      });
      if (ok) resolve({ code: 'success' });
      else this.out.once('drain', () => resolve({ code: 'success' }));
    });
  }

  async shutdown(): Promise<void> {}
}
