import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The daemon's logger. Logs go to stderr: stdout belongs to the stdout
 * exporter's event stream.
 */
export function createLogger(level = 'info'): Logger {
  return pino({ level, base: { service: 'netspan' } }, pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
