/**
 * Test helper: a real Kafka protocol endpoint without Apache Kafka.
 *
 * `startMockCluster()` runs `kcat` with librdkafka's mock cluster
 * (`-X test.mock.num.brokers=N`): a consumer whose bootstrap servers are
 * replaced by N in-process mock brokers on 127.0.0.1 ephemeral ports, printed
 * on stderr ("Mock cluster enabled: ... replaced with 127.0.0.1:P1,..."). The
 * brokers live as long as that kcat process; topics are auto-created with 4
 * partitions. `consumeAll()` reads a topic back with a separate kcat consumer
 * (a client that is not ours), in a length-prefixed format so keys, headers
 * and binary payloads come back byte-exact. `startProxy()` is a TCP forwarder
 * on a fixed port whose upstream can be switched on and off: a stable
 * bootstrap address for "broker not there yet / gone / back" tests (the mock
 * cluster itself always takes new ports).
 *
 * Everything is on 127.0.0.1; every command has a timeout; kcat runs from an
 * argument array (no shell).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { execa, type ResultPromise } from 'execa';

export interface MockCluster {
  /** Comma-separated host:port list of the mock brokers. */
  readonly bootstrap: string;
  readonly brokers: string[];
  /** Stop the brokers. signal SIGKILL simulates a crash. Safe twice. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `rttMs`: every broker answers this much later (librdkafka's test.mock.broker.rtt): a slow cluster. */
export async function startMockCluster(numBrokers = 3, timeoutMs = 10_000, rttMs = 0): Promise<MockCluster> {
  const rtt = rttMs > 0 ? ['-X', `test.mock.broker.rtt=${rttMs}`] : [];
  const child: ResultPromise = execa(
    'kcat',
    ['-b', '127.0.0.1:1', '-X', `test.mock.num.brokers=${numBrokers}`, ...rtt, '-C', '-t', '__netspan_mock_idle'],
    { buffer: false, reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' },
  );
  let stderr = '';
  const bootstrap = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`kcat mock cluster did not start within ${timeoutMs} ms:\n${stderr}`)),
      timeoutMs,
    );
    child.stderr!.on('data', (chunk: Buffer) => {
      if (stderr.length < 64_000) stderr += chunk.toString();
      const m = /replaced with ([0-9.:,]+)/.exec(stderr);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void child.then((r) => {
      clearTimeout(timer);
      reject(new Error(`kcat exited (${r.exitCode ?? r.signal}) before the mock cluster started:\n${stderr}`));
    });
  });
  let stopped: Promise<void> | undefined;
  return {
    bootstrap,
    brokers: bootstrap.split(','),
    stop(signal: NodeJS.Signals = 'SIGTERM') {
      stopped ??= (async () => {
        child.kill(signal);
        const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await child;
        clearTimeout(t);
      })();
      return stopped;
    },
  };
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  timestampMs: number;
  /** null when the record has no key. */
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
}

// One header line with lengths, then exactly K key bytes and S payload bytes, then "\n".
const FORMAT = '%t\t%p\t%o\t%T\t%K\t%S\t%h\n%k%s\n';

/** Every record of a topic from the beginning, read with kcat (which exits at the end of each partition). */
export async function consumeAll(bootstrap: string, topic: string, timeoutMs = 15_000): Promise<ConsumedRecord[]> {
  const r = await execa('kcat', ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', FORMAT], {
    encoding: 'buffer',
    stripFinalNewline: false,
    timeout: timeoutMs,
    stdin: 'ignore',
    reject: false,
  });
  if (r.exitCode !== 0)
    throw new Error(`kcat consumer failed (${r.exitCode ?? r.signal}): ${Buffer.from(r.stderr).toString()}`);
  const buf = Buffer.from(r.stdout);
  const out: ConsumedRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) throw new Error(`truncated kcat output at byte ${pos}`);
    const fields = buf.subarray(pos, nl).toString('utf8').split('\t');
    if (fields.length !== 7) throw new Error(`unexpected kcat header line: ${JSON.stringify(fields)}`);
    const [t, p, o, ts, kl, sl, h] = fields as [string, string, string, string, string, string, string];
    pos = nl + 1;
    const keyLen = Number(kl);
    const valLen = Number(sl);
    const key = keyLen < 0 ? null : buf.subarray(pos, pos + keyLen);
    pos += Math.max(keyLen, 0);
    const value = buf.subarray(pos, pos + Math.max(valLen, 0));
    pos += Math.max(valLen, 0);
    if (buf[pos] !== 0x0a)
      throw new Error(
        `kcat output out of step at byte ${pos}: ${JSON.stringify(buf.subarray(Math.max(0, pos - 300), pos + 80).toString('latin1'))}`,
      );
    pos++;
    const headers: Record<string, string> = {};
    if (h !== '') {
      for (const kv of h.split(',')) {
        const eq = kv.indexOf('=');
        headers[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
    }
    out.push({ topic: t, partition: Number(p), offset: Number(o), timestampMs: Number(ts), key, value, headers });
  }
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

export interface Proxy {
  readonly port: number;
  readonly address: string;
  /** Forward new connections to host:port, or refuse them (close at once) when undefined. Existing connections are cut. */
  setTarget(target: string | undefined): void;
  close(): Promise<void>;
}

/** A TCP forwarder on 127.0.0.1 with a fixed port for its whole life. */
export async function startProxy(): Promise<Proxy> {
  let target: { host: string; port: number } | undefined;
  const sockets = new Set<Socket>();
  const cut = (): void => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  const server: Server = createServer((client) => {
    if (!target) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const done = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('proxy has no port');
  return {
    port: addr.port,
    address: `127.0.0.1:${addr.port}`,
    setTarget(t) {
      cut();
      if (t === undefined) target = undefined;
      else {
        const i = t.lastIndexOf(':');
        target = { host: t.slice(0, i), port: Number(t.slice(i + 1)) };
      }
    },
    close() {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
