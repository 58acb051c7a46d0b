/**
 * Runs `bin/netspan` as a child process (execa, argument array) for
 * end-to-end fault tests, collecting stdout lines and pino log lines.
 */
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { repoRoot } from '../../src/paths.js';

export interface CliRun {
  child: ResultPromise;
  /** Number of complete stdout lines so far. */
  stdoutLines(): number;
  /** The first `keep` stdout lines, for checks. */
  firstLines: string[];
  /** Parsed pino lines from stderr; plain text lines are kept as {text}. */
  logs: Record<string, unknown>[];
  stderrText(): string;
  /** Resolves with exit code (or signal) when the process ends. */
  done: Promise<{ exitCode: number | undefined; signal: string | undefined }>;
}

export function runNetspan(args: string[], env: Record<string, string> = {}, keep = 50, timeoutMs = 90_000): CliRun {
  const child = execa('node', [join(repoRoot(), 'bin/netspan'), ...args], {
    env,
    extendEnv: true,
    stdin: 'ignore',
    buffer: false,
    reject: false,
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  let lines = 0;
  const firstLines: string[] = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
      lines++;
      if (firstLines.length < keep) firstLines.push(partial + chunk.slice(start, nl));
      partial = '';
      start = nl + 1;
    }
    if (firstLines.length < keep) partial += chunk.slice(start);
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let pending = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const l = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try {
        logs.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        logs.push({ text: l });
      }
    }
  });
  const done = child.then((r) => ({ exitCode: r.exitCode, signal: r.signal }));
  return { child, stdoutLines: () => lines, firstLines, logs, stderrText: () => stderr, done };
}
