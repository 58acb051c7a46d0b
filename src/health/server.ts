/**
 * The health endpoint: a small node:http server (no framework) for
 * Kubernetes liveness/readiness probes and Prometheus scrapes.
 *
 *   GET /healthz  200 while the event loop answers (liveness)
 *   GET /readyz   200 when at least one probe is attached and no exporter has
 *                 been failing for longer than the threshold; else 503. The
 *                 JSON body says which probe or exporter is the reason.
 *   GET /metrics  the Telemetry registry in Prometheus text format
 *
 * HEAD is answered like GET without a body; other methods get 405.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Telemetry } from '../telemetry/internal-events.js';
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from './prometheus.js';

export interface HealthServerOptions {
  host: string;
  port: number;
  telemetry: Telemetry;
  failingThresholdMs: number;
  /** Clock for readiness (tests); default Date.now. */
  now?: () => number;
}

export interface HealthServer {
  /** The port actually bound (the ephemeral one when opts.port was 0). */
  port: number;
  /** Stops listening and closes open connections; safe to call more than once. */
  close(): Promise<void>;
}

export interface Readiness {
  ready: boolean;
  /** Probe name → attached (netspan_probe_up == 1). */
  probes: Record<string, 'up' | 'down'>;
  /** Exporter name → its state; failing_for_ms only while failing. */
  exporters: Record<string, { status: 'ok' | 'failing'; failing_for_ms?: number }>;
  /** Why not ready, one sentence each; empty when ready. */
  reasons: string[];
}

/** Readiness from the telemetry state at `nowMs`. Names are sorted for a stable body. */
export function readiness(telemetry: Telemetry, failingThresholdMs: number, nowMs: number): Readiness {
  const probes: Readiness['probes'] = {};
  for (const s of [...telemetry.probeUp.snapshot()].sort((a, b) => cmp(a.labels.probe, b.labels.probe))) {
    const name = s.labels.probe ?? '';
    probes[name] = s.value === 1 ? 'up' : 'down';
  }
  const reasons: string[] = [];
  const up = Object.values(probes).filter((v) => v === 'up').length;
  if (up === 0) {
    const down = Object.keys(probes);
    reasons.push(down.length === 0 ? 'no probe has started yet' : `no probe is attached (down: ${down.join(', ')})`);
  }
  const exporters: Readiness['exporters'] = {};
  for (const name of [...telemetry.exporterHealth.keys()].sort(cmp)) {
    const h = telemetry.exporterHealth.get(name)!;
    if (h.failingSinceMs === undefined) {
      exporters[name] = { status: 'ok' };
      continue;
    }
    const forMs = Math.max(0, nowMs - h.failingSinceMs);
    exporters[name] = { status: 'failing', failing_for_ms: forMs };
    if (forMs > failingThresholdMs)
      reasons.push(`exporter ${name} has been failing for ${forMs} ms (threshold ${failingThresholdMs} ms)`);
  }
  return { ready: reasons.length === 0, probes, exporters, reasons };
}

function cmp(a: string | undefined, b: string | undefined): number {
  return (a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0;
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const now = opts.now ?? Date.now;
  const server = createServer((req, res) => {
    try {
      handle(req, res, opts, now);
    } catch (e: unknown) {
      send(
        req,
        res,
        500,
        'text/plain; charset=utf-8',
        `internal error: ${e instanceof Error ? e.message : String(e)}\n`,
      );
    }
  });
  // A scrape or probe must never hold the process open or pile up.
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once('error', onError);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function handle(req: IncomingMessage, res: ServerResponse, opts: HealthServerOptions, now: () => number): void {
  const path = (req.url ?? '/').split('?', 1)[0];
  const known = path === '/healthz' || path === '/readyz' || path === '/metrics';
  if (!known) {
    send(req, res, 404, 'text/plain; charset=utf-8', 'not found: try /healthz, /readyz or /metrics\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(req, res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  switch (path) {
    case '/healthz':
      send(req, res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    case '/readyz': {
      const r = readiness(opts.telemetry, opts.failingThresholdMs, now());
      const body = { status: r.ready ? 'ready' : 'not ready', ...r };
      send(req, res, r.ready ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify(body) + '\n');
      return;
    }
    default:
      send(req, res, 200, PROMETHEUS_CONTENT_TYPE, formatPrometheus(opts.telemetry.metrics.collect()));
  }
}

function send(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}
