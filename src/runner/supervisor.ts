/**
 * Runs one probe as a bpftrace child process and keeps it running: streams
 * stdout line by line, restarts with exponential back-off when it exits, and
 * stops it with SIGTERM then SIGKILL. Modelled on Vector's exec source with
 * respawn. Each (re)start gets a fresh parser from the caller via onStart.
 */
import { execa, type ResultPromise } from 'execa';
import type { Logger } from '../telemetry/log.js';
import { LineSplitter } from './line-splitter.js';
import { diagnoseBpftraceFailure } from './diagnose.js';

export interface SupervisorOptions {
  bpftrace: string;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A run this long resets the back-off. */
  stableAfterMs: number;
  stopTimeoutMs: number;
}

export const defaultSupervisorOptions: SupervisorOptions = {
  bpftrace: 'bpftrace',
  backoffInitialMs: 1_000,
  backoffMaxMs: 30_000,
  stableAfterMs: 30_000,
  stopTimeoutMs: 3_000,
};

export interface SupervisorHandlers {
  /** A new bpftrace process is starting (create a new parser). */
  onStart(): void;
  onLine(line: string): void;
  onOverlong(length: number): void;
  /** bpftrace printed its "Attaching N probes" banner. */
  onAttached(): void;
  /** The process ended; `diagnosis` explains a failure to start; `restartInMs` undefined when stopping. */
  onExit(info: { description: string; attached: boolean; diagnosis?: string; restartInMs?: number }): void;
}

export class ProbeSupervisor {
  private child: ResultPromise | undefined;
  private stopping = false;
  private backoff: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    readonly id: string,
    private readonly program: string,
    private readonly env: Record<string, string>,
    private readonly handlers: SupervisorHandlers,
    private readonly logger: Logger,
    private readonly opts: SupervisorOptions = defaultSupervisorOptions,
  ) {
    this.backoff = opts.backoffInitialMs;
  }

  start(): void {
    if (this.stopping || this.child) return;
    this.running = this.runOnce();
  }

  /** Resolves when the current process (if any) has exited. */
  get done(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async runOnce(): Promise<void> {
    const startedAt = Date.now();
    this.handlers.onStart();
    let attached = false;
    let stderr = '';
    const child = execa(this.opts.bpftrace, ['-e', this.program], {
      env: this.env,
      extendEnv: true,
      stdin: 'ignore',
      buffer: false,
      reject: false,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: this.opts.stopTimeoutMs,
      cleanup: true,
    });
    this.child = child;
    const splitter = new LineSplitter(
      (line) => {
        if (!attached && line.startsWith('Attaching ')) {
          attached = true;
          this.handlers.onAttached();
        }
        this.handlers.onLine(line);
      },
      (n) => this.handlers.onOverlong(n),
    );
    child.stdout?.setEncoding('latin1');
    child.stdout?.on('data', (chunk: string) => splitter.push(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8192);
    });
    const result = await child;
    splitter.end();
    this.child = undefined;
    const spawnError =
      result.failed && result.exitCode === undefined && !result.signal ? result.originalMessage : undefined;
    const description = result.signal
      ? `killed by ${result.signal}`
      : spawnError
        ? `failed to start: ${spawnError}`
        : `exit code ${result.exitCode}`;
    if (this.stopping) {
      this.handlers.onExit({ description, attached });
      return;
    }
    if (Date.now() - startedAt >= this.opts.stableAfterMs) this.backoff = this.opts.backoffInitialMs;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.backoffMaxMs);
    this.handlers.onExit({
      description,
      attached,
      diagnosis: attached ? undefined : diagnoseBpftraceFailure(this.id, stderr, spawnError, this.opts.bpftrace),
      restartInMs: delay,
    });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start();
    }, delay);
  }

  /** Kill the current process (tests: simulate a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  /** SIGTERM, then SIGKILL after stopTimeoutMs; no restart. Safe twice and before start. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.child?.kill('SIGTERM');
    await this.running;
    this.logger.debug({ probe: this.id }, 'probe stopped');
  }
}
