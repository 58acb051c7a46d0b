import type { NetEvent } from '../../core/event.js';
import { toJsonLine } from '../../core/encode.js';
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
    let text = '';
    if (this.table && !this.headerWritten) {
      text += TABLE_HEADER + '\n';
      this.headerWritten = true;
    }
    for (const e of batch) text += (this.table ? formatRow(e) : toJsonLine(e)) + '\n';
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
