/**
 * Small helpers for the fault tests (test/faults): bounded waiting, loopback
 * TCP connects the soconnect probe sees, a logger whose lines can be read.
 */
import net from 'node:net';
import { pino } from 'pino';
import type { Logger } from '../../src/telemetry/log.js';
import type { Telemetry } from '../../src/telemetry/internal-events.js';

/** Polls `cond` every 20 ms; throws (with `what`) after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A TCP server on 127.0.0.1 (random port) that accepts and closes. */
export interface LoopbackServer {
  port: number;
  close(): Promise<void>;
}

export async function loopbackServer(): Promise<LoopbackServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return {
    port: addr.port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** One connect to 127.0.0.1:port; resolves when established (rejects on error, 5 s cap). */
export async function connectOnce(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('connect timed out'));
    }, 5000);
    sock.on('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve();
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** `n` connects, `parallel` at a time. */
export async function connects(port: number, n: number, parallel = 10): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      await connectOnce(port);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
}

/** A pino logger at `level` whose output lines are kept (parsed) in `lines`. */
export function capturingLogger(level = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level },
    {
      write: (s: string) => {
        for (const l of s.split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines };
}

/** Whether every event `exporter` accepted was sent or dropped: its queue is empty and no batch is still in flight. */
export function exporterIdle(t: Telemetry, exporter: string, queue: { size(): number }): boolean {
  return (
    queue.size() === 0 &&
    t.eventsSent.get({ exporter }) + t.eventsDropped.sum({ component: exporter }) === t.eventsAccepted.get({ exporter })
  );
}
