/**
 * Where one probe's output lines enter the pipeline: parse, count, route.
 * A new parser is made for every bpftrace (re)start or replay.
 */
import type { ParseResult, ProbeParser } from '../core/parser.js';
import type { NetEvent } from '../core/event.js';
import type { Telemetry } from '../telemetry/internal-events.js';

/** A guard on end()'s flush loop: more than any parser holds (gethostlatency: MAX_PENDING, 1,024). */
const MAX_FLUSHED = 4_096;

/** Where parsed events go (the service's current pipeline graph). */
export interface EventSink {
  ingest(probeId: string, event: NetEvent): void;
  /** The event was just read (it may be ingested later): see Processor.prime. */
  prime?(probeId: string, event: NetEvent): void;
}

export class ProbeInput {
  private parser: ProbeParser;

  constructor(
    readonly id: string,
    private readonly createParser: () => ProbeParser,
    private readonly sink: EventSink,
    private readonly telemetry: Telemetry,
  ) {
    this.parser = createParser();
  }

  /** Start of a new bpftrace process: flush what the old parser held, start fresh. */
  restart(): void {
    this.end();
    this.parser = this.createParser();
  }

  line(line: string): void {
    this.telemetry.lines(this.id, 1);
    let r: ParseResult;
    try {
      r = this.parser.push(line);
    } catch (e: unknown) {
      // Parsers must not throw; if one does, the line is counted and the stream goes on.
      r = { kind: 'error', errorType: 'internal', message: e instanceof Error ? e.message : String(e) };
    }
    switch (r.kind) {
      case 'event':
        this.telemetry.received(this.id);
        this.sink.ingest(this.id, r.event);
        break;
      case 'lost':
        this.telemetry.lost(this.id, r.count);
        break;
      case 'error':
        this.telemetry.parseError(this.id, r.errorType, r.message);
        break;
      case 'none':
        break;
    }
  }

  overlong(length: number): void {
    this.telemetry.lines(this.id, 1);
    this.telemetry.parseError(this.id, 'too_long', `line of ${length} characters skipped`);
  }

  /** End of stream: every event the parser still holds (flush() until it has none left). */
  end(): void {
    for (let i = 0; i < MAX_FLUSHED; i++) {
      const r = this.parser.flush();
      if (r.kind === 'event') {
        this.telemetry.received(this.id);
        this.sink.ingest(this.id, r.event);
      } else if (r.kind === 'error') {
        this.telemetry.parseError(this.id, r.errorType, r.message);
      } else {
        return;
      }
    }
  }
}
