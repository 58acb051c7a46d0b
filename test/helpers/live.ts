/**
 * Test helper: run one probe's bpftrace program for real, do something that
 * makes the kernel produce events, and return what the probe's parser made of
 * the output. Used by every probe's live test.
 */
import { execa } from 'execa';
import type { NetEvent } from '../../src/core/event.js';
import type { ProbeDefinition } from '../../src/probes/types.js';
import type { ProbeConfig } from '../../src/probes/config.js';
import { hostContext } from '../../src/host/context.js';
import { LineSplitter } from '../../src/runner/line-splitter.js';

export interface LiveResult {
  events: NetEvent[];
  errors: string[];
  lost: number;
  stderr: string;
}

/**
 * An event the test makes before its real action, again and again until the
 * probe reports it: bpftrace prints "Attaching N probes..." before it
 * attaches them, so an event made right after the banner can go unseen
 * (skbdrop's test saw none, three runs in a row, on one VM).
 */
export interface Canary {
  send(): Promise<void>;
  seen(e: NetEvent): boolean;
}

export async function runProbeDuring(
  def: ProbeDefinition,
  action: () => Promise<void>,
  settleMs = 500,
  options?: ProbeConfig,
  canary?: Canary,
): Promise<LiveResult> {
  const prepared = await def.prepare(await hostContext(), options);
  const child = execa('bpftrace', ['-e', prepared.program], {
    env: prepared.env,
    buffer: false,
    reject: false,
    stdin: 'ignore',
  });
  const parser = prepared.createParser();
  const result: LiveResult = { events: [], errors: [], lost: 0, stderr: '' };
  let attached!: () => void;
  const ready = new Promise<void>((resolve) => (attached = resolve));
  const onLine = (line: string): void => {
    if (line.startsWith('Attaching ')) attached();
    const r = parser.push(line);
    if (r.kind === 'event') result.events.push(r.event);
    else if (r.kind === 'lost') result.lost += r.count;
    else if (r.kind === 'error') result.errors.push(`${r.errorType}: ${r.message}`);
  };
  child.stdout.setEncoding('latin1');
  const splitter = new LineSplitter(onLine, (n) => result.errors.push(`too_long: line of ${n} characters`));
  child.stdout.on('data', (chunk: string) => splitter.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => (result.stderr += chunk.toString()));
  const exited = child.then((r) => {
    attached();
    return r;
  });
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([ready, new Promise((r) => (timer = setTimeout(r, 30_000)))]);
  clearTimeout(timer);
  if (child.exitCode !== null) throw new Error(`bpftrace exited before attaching:\n${result.stderr}`);
  try {
    if (canary) {
      const until = Date.now() + 30_000;
      while (!result.events.some((e) => canary.seen(e))) {
        if (Date.now() > until || child.exitCode !== null)
          throw new Error(`no canary event within 30 s of bpftrace's "Attaching" banner:\n${result.stderr}`);
        await canary.send();
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await action();
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    child.kill('SIGINT');
    await exited;
  }
  splitter.end();
  const last = parser.flush();
  if (last.kind === 'event') result.events.push(last.event);
  return result;
}
