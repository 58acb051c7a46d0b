/**
 * `npm run bench`: netspan's throughput, overhead, latency and memory, every
 * figure measured side by side in this one run (the machine is shared and
 * noisy: compare rows of one table, not tables of different runs).
 *
 * 1. Replay throughput. A record file of N events (default 1M) cycled from the
 *    real captures (bench/record.ts) is replayed through netspan's own `run`
 *    command (bench/daemon.ts) to each exporter: null, null after k8s
 *    enrichment (500 pods), stdout JSON (into /dev/null), Kafka JSON (librdkafka
 *    mock cluster run by kcat), OTLP logs (the gRPC test collector in its own
 *    process). Baselines: a plain Node line reader, and `kcat -P` sending the
 *    raw lines to the same mock cluster (what `bpftrace | kcat` would cost).
 *    Every variant runs as its own process under bench/cputime.py (CPU of
 *    that process and its children). "startup" is a replay of 0 events: its
 *    CPU is subtracted for the "net" column. "steady" is the steady state:
 *    each netspan row is replayed again with N/5 events of the same mix, and
 *    (N − N/5) ÷ (CPU of N − CPU of N/5) leaves out every one-time cost
 *    (start-up, and V8 compiling the hot paths, ~0.9 CPU-s per process in
 *    perf). events_received / events_sent come from netspan's own summary
 *    and must equal N.
 * 2. Live overhead and latency. netspan runs live (soconnect, udpconnect and
 *    skbdrop probes, real bpftrace) to the `latency` exporter while
 *    bench/load.py makes loopback connects to a closed port at a fixed rate
 *    (each one a connect event and a drop event), and, in a third row, makes
 *    connects into a network namespace whose nftables drop half the SYNs
 *    (tcpretrans probe too: drops and the retransmits they cause), in two
 *    back-to-back windows each; CPU of the
 *    netspan process and of its bpftrace children is read from /proc/<pid>/stat
 *    after attach and after each window: the differences are what the events
 *    cost. The first window includes V8 compiling netspan's hot paths (a
 *    one-time cost of a fresh process); the second is the steady state.
 *    Latency = exporter time − kernel time the event was complete. RSS = VmHWM.
 * 3. Memory with 5,000 pods: replay to null after k8s enrichment with 5,000 pods.
 *
 * --before DIR: a second checkout (built, with these bench files) whose
 * netspan rows run at the same time as ours (one process per core, both
 * seeing the same machine), marked "(before)"; each of our rows notes its
 * CPU ÷ before's. --sequential runs them one after the other instead (the
 * second of two identical builds has come out slower that way).
 *
 * The output ends with the targets of issue 8, met / NOT MET / not run
 * (bench/targets.ts, the same judgement as the README's targets table).
 *
 * --readme: also rewrite the results section of README.md (between its
 * bench markers) from this run's figures (bench/readme.ts).
 *
 *   npm run bench -- [--events N] [--live-seconds S] [--no-live] [--no-steady] [--only a,b] [--before DIR [--sequential]] [--readme]
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../src/paths.js';
import { startMockCluster, type MockCluster } from '../test/helpers/kafka-mock.js';
import {
  checkNetlabPrerequisites,
  createNetPair,
  destroyNetPair,
  nftApply,
  nftRuleset,
  nsSysctl,
  type NetPair,
} from '../test/helpers/netlab.js';
import { replaceSection, resultsMarkdown } from './readme.js';
import { writeRecord } from './record.js';
import { cpuTimes, targetsText } from './targets.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'live-seconds': { type: 'string', default: '10' },
    'no-live': { type: 'boolean', default: false },
    'no-steady': { type: 'boolean', default: false },
    only: { type: 'string' },
    before: { type: 'string' },
    sequential: { type: 'boolean', default: false },
    readme: { type: 'boolean', default: false },
  },
});
const events = Math.min(Math.max(Number(values.events), 1000), 20_000_000);
const liveSeconds = Math.min(Math.max(Number(values['live-seconds']), 2), 60);
const only = values.only ? new Set(values.only.split(',')) : undefined;
const want = (k: string) => !only || only.has(k);
const root = repoRoot();
const dir = mkdtempSync(join(tmpdir(), 'netspan-bench-'));
const node = process.execPath;
const daemon = join(root, 'dist/bench/daemon.js');
/** The node flags bin/netspan starts with (its `#!/usr/bin/env -S node ...` line): the daemon runs with them here too. */
const daemonFlags = (
  /^#!\/usr\/bin\/env -S node (.*)$/m.exec(readFileSync(join(root, 'bin/netspan'), 'utf8'))?.[1] ?? ''
)
  .split(' ')
  .filter(Boolean);
const log = (s: string) => process.stderr.write(`${s}\n`);

export interface Measured {
  wall: number;
  cpu: number;
  maxrssMb: number;
  stderr: string;
}

async function measure(name: string, cmd: string[], input?: string): Promise<Measured> {
  log(`running: ${name}`);
  const r = await execa('python3', [join(root, 'bench/cputime.py'), '--stdout-devnull', ...cmd], {
    reject: false,
    timeout: 900_000,
    ...(input ? { inputFile: input } : {}),
    stdout: 'ignore',
  });
  const stderr = String(r.stderr);
  const last = stderr.trim().split('\n').pop() ?? '{}';
  let m: { rc: number; wall: number; cpu: number; maxrss_kb: number };
  try {
    m = JSON.parse(last) as typeof m;
  } catch {
    throw new Error(`${name}: no measurement (${r.exitCode ?? r.signal}): ${stderr.slice(-2000)}`);
  }
  if (m.rc !== 0) throw new Error(`${name} failed (${m.rc}): ${stderr.slice(-2000)}`);
  return { wall: m.wall, cpu: m.cpu, maxrssMb: m.maxrss_kb / 1024, stderr };
}

interface Summary {
  events_received: number;
  events_sent: number;
  events_dropped: Record<string, number>;
  parse_errors: number;
  seconds: number;
  kernel_lost?: number;
}

function summaryOf(stderr: string): Summary {
  for (const line of stderr.split('\n').reverse()) {
    if (line.includes('"netspan stopped"')) return JSON.parse(line) as Summary;
  }
  throw new Error(`no summary in netspan's output: ${stderr.slice(-1500)}`);
}

function configFile(name: string, body: string): string {
  const f = join(dir, `${name}.yaml`);
  writeFileSync(f, body);
  return f;
}

const PROBES = 'soconnect, tcpretrans, gethostlatency, skbdrop, udpconnect';
function replayConfig(name: string, exporters: string, processors = ''): string {
  const ids = exporters.match(/"[^"]+"(?=:)/g)!.join(', ');
  return configFile(
    name,
    `probes: { soconnect: {}, tcpretrans: {}, gethostlatency: {}, skbdrop: {}, udpconnect: {} }
${processors ? `processors: { ${processors} }\n` : ''}exporters: { ${exporters} }
telemetry: { log_level: info }
pipelines:
  bench: { probes: [${PROBES}], ${processors ? `processors: [${processors.split(':')[0]}], ` : ''}exporters: [${ids}] }
`,
  );
}

export interface Row {
  name: string;
  events: number;
  m: Measured;
  /** Processing seconds from netspan's summary (replay + flush, without process start). */
  seconds?: number;
  /**
   * Steady state: events per CPU-second of the events past the first W,
   * (N − W) ÷ (CPU of N − CPU of W), from a second replay of W = N/5 events
   * of the same mix. Leaves out every one-time cost: start-up, and V8
   * compiling the hot paths (~0.9 CPU-s per process in perf).
   */
  steady?: number;
  note?: string;
}

// ---------------------------------------------------------------- replay
const rec = join(dir, 'bench.rec');
const empty = join(dir, 'empty.rec');
writeFileSync(empty, '#netspan-record v1 clock_offset_ns=0\n');
log(`writing ${events} events to ${rec}...`);
const info = await writeRecord(rec, events);
log(
  `mix: ${JSON.stringify(info.events)}; ${info.lines} lines; distinct sample records: ${JSON.stringify(info.samples)}`,
);

// The warm-up part for the steady-state column: a fifth of the events, same mix.
const warm = values['no-steady'] || values.before || events < 50_000 ? 0 : Math.round(events / 5);
const recWarm = join(dir, 'warm.rec');
if (warm > 0) await writeRecord(recWarm, warm);

const rows: Row[] = [];
const problems: string[] = [];
const beforeDaemon = values.before ? join(values.before, 'dist/bench/daemon.js') : undefined;
const keep = (row: Row): Row => {
  rows.push(row);
  return row;
};
const netspanRun = async (name: string, cfg: string, file = rec, n = events, note?: string): Promise<Row> => {
  if (!beforeDaemon || n === 0) {
    const row = await netspanRunWith(daemon, name, cfg, file, n, note);
    if (warm > 0 && n === events && file === rec) {
      const w = await netspanRunWith(daemon, `${name} (${warm} events)`, cfg, recWarm, warm);
      row.steady = (n - warm) / Math.max(row.m.cpu - w.m.cpu, 1e-3);
    }
    return keep(row);
  }
  if (values.sequential) {
    keep(await netspanRunWith(beforeDaemon, `(before) ${name}`, cfg, file, n, note));
    return keep(await netspanRunWith(daemon, name, cfg, file, n, note));
  }
  // Side by side: both builds at once, so both see the same machine (one run after the
  // other, the second has come out slower even with identical code).
  const [b, a] = await Promise.all([
    netspanRunWith(beforeDaemon, `(before) ${name}`, cfg, file, n, note),
    netspanRunWith(daemon, name, cfg, file, n, note),
  ]);
  keep(b);
  a.note = `${a.note ? `${a.note}; ` : ''}cpu ÷ before, side by side: ${(a.m.cpu / b.m.cpu).toFixed(3)}`;
  return keep(a);
};
const netspanRunWith = async (
  bin: string,
  name: string,
  cfg: string,
  file: string,
  n: number,
  note?: string,
): Promise<Row> => {
  const m = await measure(name, [node, ...daemonFlags, bin, 'run', '--config', cfg, '--replay', file]);
  const s = summaryOf(m.stderr);
  const dropped = Object.values(s.events_dropped).reduce((a, b) => a + b, 0);
  if (s.events_received !== n) problems.push(`${name}: events_received ${s.events_received} != ${n}`);
  if (s.events_sent !== n) problems.push(`${name}: events_sent ${s.events_sent} != ${n}`);
  if (dropped) problems.push(`${name}: ${dropped} dropped ${JSON.stringify(s.events_dropped)}`);
  if (s.parse_errors) problems.push(`${name}: ${s.parse_errors} parse errors`);
  return { name, events: n, m, seconds: s.seconds, ...(note ? { note } : {}) };
};

if (want('reader')) {
  const m = await measure('line reader', [node, join(root, 'dist/bench/linereader.js'), rec]);
  rows.push({ name: 'baseline: node line reader', events, m, note: `${info.lines} lines` });
}
const startup = await netspanRun('netspan startup (0 events)', replayConfig('startup', '"null": {}'), empty, 0);
if (want('null')) await netspanRun('netspan → null', replayConfig('null', '"null": {}'));
if (want('k8s'))
  await netspanRun('netspan → k8s(500 pods) → null', replayConfig('k8s', '"null": {}', 'bench_k8s: { pods: 500 }'));
if (want('stdout')) await netspanRun('netspan → stdout json', replayConfig('stdout', '"stdout": { format: json }'));

let cluster: MockCluster | undefined;
if (want('kafka') || want('kcat')) {
  cluster = await startMockCluster(1);
  try {
    if (want('kafka'))
      await netspanRun(
        'netspan → kafka json',
        replayConfig('kafka', `"kafka": { brokers: "${cluster.bootstrap}", encoding: json, topic: "bench.{type}" }`),
      );
    // the whole path the issue asks for: parse → enrich (500 pods cached) → exporter
    if (want('kafka'))
      await netspanRun(
        'netspan → k8s(500 pods) → kafka json',
        replayConfig(
          'kafka-k8s',
          `"kafka": { brokers: "${cluster.bootstrap}", encoding: json, topic: "bench.{type}" }`,
          'bench_k8s: { pods: 500 }',
        ),
      );
    if (want('kafkajs'))
      await netspanRun(
        'netspan → kafka json (kafkajs)',
        replayConfig(
          'kafkajs',
          `"kafka": { brokers: "${cluster.bootstrap}", encoding: json, topic: "bench.{type}", client: kafkajs }`,
        ),
      );
    if (want('kcat')) {
      const m = await measure('kcat -P', ['kcat', '-P', '-b', cluster.bootstrap, '-t', 'bench.raw', '-l', rec]);
      rows.push({
        name: 'baseline: kcat -P raw lines',
        events,
        m,
        note: `${info.lines} lines as ${info.lines} records`,
      });
    }
  } finally {
    await cluster.stop();
  }
}

if (want('otlp')) {
  const sink = await startSink();
  const otlpLogs = `"otlp": { endpoint: "http://127.0.0.1:${sink.port}", signals: { traces: false, metrics: false, logs: true } }`;
  try {
    await netspanRun('netspan → otlp logs', replayConfig('otlp', otlpLogs));
    await netspanRun(
      'netspan → k8s(500 pods) → otlp logs',
      replayConfig('otlp-k8s', otlpLogs, 'bench_k8s: { pods: 500 }'),
    );
  } finally {
    const got = (await sink.stop()).logs;
    const expected = 2 * (events * (beforeDaemon ? 2 : 1) + warm);
    if (got !== expected) problems.push(`otlp sink received ${got} log records, expected ${expected}`);
  }
}

let mem5000: Row | undefined;
if (want('k8s5000')) {
  mem5000 = await netspanRun(
    'netspan → k8s(5000 pods) → null',
    replayConfig('k8s5000', '"null": {}', 'bench_k8s: { pods: 5000 }'),
  );
}

// ---------------------------------------------------------------- live
/** CPU seconds of netspan and of its bpftrace children over one load window. */
export interface LiveCpu {
  netspan: number;
  bpftrace: number;
}

export interface LiveResult {
  rate: number;
  /** Where events went: the latency-recording exporter, or OTLP (every signal, after enrichment) to the test sink. */
  exporter: 'latency' | 'otlp';
  /**
   * The load (bench/load.py): loopback connects and the drops they cause, or
   * connects into a network namespace whose nftables drop half the SYNs
   * (drops, and the retransmits they cause).
   */
  load: 'loopback' | 'netns';
  /** Operations over both windows. */
  ops: number;
  delivered: number;
  /** The first window after attach: includes V8 compiling netspan's hot paths (a one-time cost). */
  first: LiveCpu;
  /** The second window, same rate, same processes: the steady state of a long-running daemon. */
  steady: LiveCpu;
  bpftraceStartCpu: number;
  /** Latency, ms: kernel → the latency exporter, or kernel timestamp → the OTLP collector's receipt of the log record. */
  p50: number;
  p99: number;
  max: number;
  hwmMb: number;
}

/**
 * The benchmark's OTLP/gRPC collector in its own process; resolves once it
 * listens. `count`: one that counts log records without decoding (see
 * bench/otlp-sink.ts), for live load, where decoding would take a core.
 */
interface SinkResult {
  logs: number;
  /** Kernel timestamp → receipt, ms (--count only; NaN otherwise). */
  p50: number;
  p99: number;
  max: number;
}

async function startSink(count = false): Promise<{ port: number; stop(): Promise<SinkResult> }> {
  const sink: ResultPromise = execa(node, [join(root, 'dist/bench/otlp-sink.js'), ...(count ? ['--count'] : [])], {
    reject: false,
    stdin: 'ignore',
    buffer: true,
    timeout: 900_000,
  });
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => {
      sink.kill('SIGKILL');
      reject(new Error('otlp sink did not start'));
    }, 20_000);
    sink.stdout!.on('data', (c: Buffer) => {
      const m = /port (\d+)/.exec(c.toString());
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
  });
  return {
    port,
    /** Stop (safe twice); the log records it received and their latency. */
    stop: async () => {
      sink.kill('SIGTERM');
      const out = String((await sink).stdout);
      const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
      return {
        logs: num(/logs (\d+)/),
        p50: num(/p50 ([\d.]+)/),
        p99: num(/p99 ([\d.]+)/),
        max: num(/max ([\d.]+)/),
      };
    },
  };
}

const TICK = 100; // USER_HZ
function cpuOf(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK; // utime, stime (fields 14, 15)
  } catch {
    return 0;
  }
}
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'latin1');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === pid) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}
function hwmMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Events per load.py operation: a connect and the drop of its packet; in netns, see load.py. */
const EVENTS_PER_OP = { loopback: 2, netns: 3 } as const;

/** The netns load's lab: a client and a server namespace, half the SYNs to port 9000 dropped at the server. */
async function netnsLab(): Promise<NetPair> {
  await checkNetlabPrerequisites();
  const pair = await createNetPair();
  try {
    await nsSysctl(pair.clientNs, 'net.ipv4.tcp_syn_retries', '1');
    await nftApply(
      pair.serverNs,
      nftRuleset('netspan_bench', 'input', [
        'tcp dport 9000 tcp flags & (syn | ack) == syn numgen random mod 2 == 0 drop',
      ]),
    );
    return pair;
  } catch (e: unknown) {
    await destroyNetPair(pair);
    throw e;
  }
}

async function live(
  rate: number,
  seconds: number,
  exporter: LiveResult['exporter'] = 'latency',
  loadKind: LiveResult['load'] = 'loopback',
): Promise<LiveResult> {
  log(`live: ${rate}/s for ${seconds} s to ${exporter}, ${loadKind} load`);
  const out = join(dir, `latency-${rate}-${loadKind}.json`);
  const lab = loadKind === 'netns' ? await netnsLab() : undefined;
  try {
    return await liveWith({ rate, seconds, exporter, loadKind, out, lab });
  } finally {
    if (lab) await destroyNetPair(lab);
  }
}

/** One live row: its rate, window length, exporter and load; `out`: the latency exporter's file; `lab`: the netns load's namespaces. */
interface LiveRow {
  rate: number;
  seconds: number;
  exporter: LiveResult['exporter'];
  loadKind: LiveResult['load'];
  out: string;
  lab: NetPair | undefined;
}

async function liveWith(row: LiveRow): Promise<LiveResult> {
  const { rate, seconds, exporter, loadKind, out, lab } = row;
  const probes = lab ? 'soconnect: {}, tcpretrans: {}, skbdrop: {}' : 'soconnect: {}, udpconnect: {}, skbdrop: {}';
  const probeList = lab ? 'soconnect, tcpretrans, skbdrop' : 'soconnect, udpconnect, skbdrop';
  const sink = exporter === 'otlp' ? await startSink(true) : undefined;
  const cfg = configFile(
    `live-${rate}-${exporter}-${loadKind}`,
    sink
      ? `probes: { soconnect: {}, udpconnect: {}, skbdrop: {} }
processors: { process: {}, container: {}, peer: {} }
exporters: { otlp: { endpoint: "http://127.0.0.1:${sink.port}", signals: { traces: true, logs: true, metrics: true } } }
telemetry: { log_level: info }
pipelines: { live: { probes: [soconnect, udpconnect, skbdrop], processors: [process, container, peer], exporters: [otlp] } }
`
      : `probes: { ${probes} }
exporters: { latency: { out: "${out}" } }
telemetry: { log_level: info }
pipelines: { live: { probes: [${probeList}], exporters: [latency] } }
`,
  );
  const child = execa(node, [...daemonFlags, daemon, 'run', '--config', cfg], {
    reject: false,
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'pipe',
    buffer: false,
    timeout: (seconds + 120) * 1000,
  });
  try {
    return await measureLive(row, child, sink);
  } finally {
    // on success both are stopped already; on a failure they must not outlive the row
    if (child.exitCode === null) await stopDaemon(child);
    if (sink) await sink.stop();
  }
}

/**
 * SIGTERM, so netspan stops its bpftrace children itself; SIGKILL after 10 s,
 * and then its children too (a killed netspan cannot stop them, and they
 * would keep their probes attached and use CPU during the next rows).
 */
async function stopDaemon(child: ResultPromise): Promise<void> {
  const kids = child.pid ? childrenOf(child.pid) : [];
  child.kill('SIGTERM');
  const stopped = await Promise.race([
    child.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
  ]);
  if (stopped) return;
  child.kill('SIGKILL');
  for (const k of kids) {
    try {
      process.kill(k, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await child;
}

async function measureLive(
  row: LiveRow,
  child: ResultPromise,
  sink: Awaited<ReturnType<typeof startSink>> | undefined,
): Promise<LiveResult> {
  const { rate, seconds, exporter, loadKind, out, lab } = row;
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`netspan did not attach within 90 s: ${stderr.slice(-2000)}`)), 90_000);
    child.stderr!.on('data', (c: Buffer) => {
      if (stderr.length < 1 << 20) stderr += c.toString();
      if (stderr.includes('"netspan running"')) {
        clearTimeout(t);
        resolve();
      }
    });
    void child.then(() => {
      clearTimeout(t);
      reject(new Error(`netspan exited early: ${stderr.slice(-2000)}`));
    });
  });
  const pid = child.pid!;
  await new Promise((r) => setTimeout(r, 1000));
  const kids = childrenOf(pid);
  const snap = (): LiveCpu => ({ netspan: cpuOf(pid), bpftrace: kids.reduce((a, k) => a + cpuOf(k), 0) });
  const diff = (a: LiveCpu, b: LiveCpu): LiveCpu => ({
    netspan: b.netspan - a.netspan,
    bpftrace: b.bpftrace - a.bpftrace,
  });
  // Two windows of the same load: the first pays for V8 compiling the hot paths, the second is
  // what a daemon that has been up for a while costs.
  const window = async (): Promise<number> => {
    const ops = String(Math.round(rate / EVENTS_PER_OP[loadKind]));
    const script = join(root, 'bench/load.py');
    const load = lab
      ? await execa(
          'ip',
          ['netns', 'exec', lab.clientNs, 'python3', script, ops, String(seconds), 'netns', lab.server4, '9000'],
          { timeout: (seconds + 10) * 1000 },
        )
      : await execa('python3', [script, ops, String(seconds)], { timeout: (seconds + 10) * 1000 });
    await new Promise((r) => setTimeout(r, 1500)); // bpftrace's poll + batch delay
    return Number(String(load.stdout).trim());
  };
  const c0 = snap();
  const ops1 = await window();
  const c1 = snap();
  const ops2 = await window();
  const c2 = snap();
  const hwm = hwmMb(pid);
  child.kill('SIGTERM');
  await child;
  const sum = summaryOf(stderr);
  const dropped = Object.values(sum.events_dropped).reduce((a, b) => a + b, 0);
  if (sum.kernel_lost || dropped || sum.parse_errors)
    problems.push(
      `live ${rate}/s ${exporter} ${loadKind}: kernel lost ${sum.kernel_lost ?? 0}, dropped ${dropped}, parse errors ${sum.parse_errors}`,
    );
  const got = sink ? await sink.stop() : undefined;
  const lat = got
    ? { events: got.logs, p50_ms: got.p50, p99_ms: got.p99, max_ms: got.max }
    : (JSON.parse(readFileSync(out, 'utf8')) as { events: number; p50_ms: number; p99_ms: number; max_ms: number });
  return {
    rate,
    exporter,
    load: loadKind,
    ops: ops1 + ops2,
    delivered: lat.events,
    first: diff(c0, c1),
    steady: diff(c1, c2),
    bpftraceStartCpu: c0.bpftrace,
    p50: lat.p50_ms,
    p99: lat.p99_ms,
    max: lat.max_ms,
    hwmMb: hwm,
  };
}

const lives: LiveResult[] = [];
if (!values['no-live'] && want('live')) {
  /** One live row; a row that fails is reported with the problems, and the others still run. */
  const row = async (...args: Parameters<typeof live>): Promise<LiveResult | undefined> => {
    try {
      const l = await live(...args);
      lives.push(l);
      return l;
    } catch (e: unknown) {
      const [rate, , exporter = 'latency', load = 'loopback'] = args;
      problems.push(`live ${rate}/s ${exporter} ${load} failed: ${String(e).slice(0, 500)}`);
      return undefined;
    }
  };
  for (const rate of [1000, 10_000]) await row(rate, liveSeconds);
  const n = await row(1000, liveSeconds, 'latency', 'netns');
  // about 3 per connect (load.py); far fewer means the namespace dropped nothing, so nothing was retransmitted
  if (n && n.delivered < 2.5 * n.ops)
    problems.push(`live netns: ${n.delivered} events for ${n.ops} connects, expected about 3 per connect`);
  const o = await row(10_000, liveSeconds, 'otlp');
  if (o && o.delivered < 2 * o.ops) problems.push(`live otlp: ${o.delivered} of ${o.ops} events reached the collector`);
}

// ---------------------------------------------------------------- table
const fmt = (n: number) => Math.round(n).toLocaleString('en');
const ms1 = (n: number) => (Number.isNaN(n) ? '-' : n.toFixed(1));
const pad = (s: string, n: number) => s.padEnd(n);
const padl = (s: string, n: number) => s.padStart(n);
const base = rows.find((r) => r.name.startsWith('baseline: node'));
const kcat = rows.find((r) => r.name.startsWith('baseline: kcat'));
let o = `\nnetspan bench ${new Date().toISOString()} — ${events.toLocaleString('en')} events (${Object.entries(
  info.events,
)
  .map(([k, v]) => `${k} ${v}`)
  .join(', ')}; ${info.lines.toLocaleString('en')} lines)\n\n`;
o += `${pad('replay variant', 40)} ${padl('wall s', 7)} ${padl('cpu s', 7)} ${padl('events/s', 10)} ${padl('ev/cpu-s', 10)} ${padl('net ev/cpu-s', 12)} ${padl('steady', 9)} ${padl('RSS MB', 7)} ${padl('cpu÷reader', 10)} ${padl('cpu÷kcat', 9)}\n`;
for (const r of rows) {
  const net = r.events && r !== startup ? r.events / Math.max(r.m.cpu - startup.m.cpu, 1e-3) : NaN;
  const wall = r.seconds ?? r.m.wall;
  o += `${pad(r.name, 40)} ${padl(r.m.wall.toFixed(2), 7)} ${padl(r.m.cpu.toFixed(2), 7)} ${padl(r.events ? fmt(r.events / wall) : '-', 10)} ${padl(r.events ? fmt(r.events / r.m.cpu) : '-', 10)} ${padl(Number.isNaN(net) || !r.name.startsWith('netspan') ? '-' : fmt(net), 12)} ${padl(r.steady ? fmt(r.steady) : '-', 9)} ${padl(r.m.maxrssMb.toFixed(0), 7)} ${padl(cpuTimes(r, base, '-'), 10)} ${padl(cpuTimes(r, kcat, '-'), 9)}${r.note ? `  (${r.note})` : ''}\n`;
}
o += `events/s: events ÷ netspan's own processing seconds (summary; wall of the process for baselines). net: CPU minus the startup row. steady: N − N/5 events ÷ the CPU they added over a replay of N/5 events, which leaves out start-up and V8 compiling the hot paths.\n`;
if (lives.length) {
  o += `\n${pad('live (connects + drops)', 26)} ${padl('ops', 7)} ${padl('events', 7)} ${padl('first: netspan / bpftrace cpu s', 32)} ${padl('steady: netspan / bpftrace cpu s', 33)} ${padl('p50 ms', 7)} ${padl('p99 ms', 7)} ${padl('max ms', 7)} ${padl('RSS MB', 7)}\n`;
  const cpuCell = (c: LiveCpu, w: number): string =>
    padl(
      `${c.netspan.toFixed(2)} / ${c.bpftrace.toFixed(2)} = ${(c.netspan / Math.max(c.bpftrace, 0.01)).toFixed(2)}x`,
      w,
    );
  for (const l of lives) {
    o += `${pad(`${fmt(l.rate)}/s × 2 × ${liveSeconds} s${l.exporter === 'otlp' ? ' otlp' : ''}${l.load === 'netns' ? ' netns' : ''}`, 26)} ${padl(fmt(l.ops), 7)} ${padl(fmt(l.delivered), 7)} ${cpuCell(l.first, 32)} ${cpuCell(l.steady, 33)} ${padl(ms1(l.p50), 7)} ${padl(ms1(l.p99), 7)} ${padl(ms1(l.max), 7)} ${padl(l.hwmMb.toFixed(0), 7)}\n`;
  }
  o += `cpu: /proc/<pid>/stat utime+stime, two back-to-back ${liveSeconds} s windows of the same load after attach: "first" includes V8 compiling the hot paths, "steady" is the same daemon afterwards (bpftrace start-up, ${lives.map((l) => l.bpftraceStartCpu.toFixed(2)).join(' / ')} s, not included); events: delivered to the exporter over both windows (includes other connects on the machine); latency: exporter time − kernel time the event was complete (timestamp + latency for connects and lookups); RSS: VmHWM. otlp: process, container and peer enrichment, then traces, logs and metrics over gRPC to a collector that counts log records without decoding them (otlp-sink.ts --count); events: log records it received; latency: log record timestamp → its receipt at the collector.\n`;
}
if (mem5000) o += `\nmemory: peak RSS with 5,000 pods cached: ${mem5000.m.maxrssMb.toFixed(0)} MB (replay to null)\n`;
o += problems.length
  ? `\nPROBLEMS:\n  ${problems.join('\n  ')}\n`
  : `\nchecks: every netspan row received and sent exactly its events, 0 dropped, 0 parse errors\n`;
o += targetsText({ rows, startup, lives, mem5000, problems });
process.stdout.write(o);
if (values.readme) {
  const readme = join(root, 'README.md');
  writeFileSync(
    readme,
    replaceSection(
      readFileSync(readme, 'utf8'),
      resultsMarkdown({ events, lines: info.lines, rows, startup, lives, liveSeconds, mem5000, problems }),
    ),
  );
  log('README.md: results section rewritten');
}
rmSync(dir, { recursive: true, force: true });
process.exitCode = problems.length ? 1 : 0;
