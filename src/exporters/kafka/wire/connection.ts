/**
 * One TCP connection to one broker: size-prefixed frames,
 * pipelined requests matched to responses by correlation id, a timeout per
 * request (until its response, or until written when none is expected), TCP
 * keepalive. Any socket error, timeout, unparsable frame or response to no
 * request closes the connection and fails every pending request with
 * `ConnectionError`; the producer then reconnects. Requests encode into one buffer each, written
 * with a single socket write.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { ByteWriter } from './bytes.js';

export class ConnectionError extends Error {
  override name = 'ConnectionError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

interface Pending {
  resolve: (body: Buffer) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Largest response frame accepted (a produce/metadata response is tiny; this only guards against garbage). */
const MAX_FRAME = 64 * 1024 * 1024;
/** Idle time before TCP keepalive probes on a broker connection. */
const KEEPALIVE_DELAY_MS = 30_000;

export class BrokerConnection {
  private socket: Socket | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closedError: ConnectionError | undefined;
  readonly address: string;

  constructor(private readonly opts: ConnectionOptions) {
    this.address = `${opts.host}:${opts.port}`;
  }

  get closed(): boolean {
    return this.closedError !== undefined;
  }

  connect(): Promise<void> {
    const o = this.opts;
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (e?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (e) {
          this.close(e instanceof ConnectionError ? e : new ConnectionError(e.message));
          reject(e);
        } else resolve();
      };
      const timer = setTimeout(
        () =>
          finish(
            new ConnectionError(`connection to ${this.address} timed out after ${o.connectTimeoutMs} ms`, 'ETIMEDOUT'),
          ),
        o.connectTimeoutMs,
      );
      const onError = (e: NodeJS.ErrnoException) => {
        const err = new ConnectionError(`connection to ${this.address} failed: ${e.message}`, e.code);
        if (!done) finish(err);
        else this.close(err);
      };
      const s: Socket = netConnect({ host: o.host, port: o.port });
      s.once('connect', () => finish());
      s.setNoDelay(true);
      // a broker gone without a FIN or RST (host down, network partition) is noticed between requests too
      s.setKeepAlive(true, KEEPALIVE_DELAY_MS);
      s.on('error', onError);
      s.on('close', () => this.close(new ConnectionError(`connection to ${this.address} closed`, 'ECONNRESET')));
      s.on('data', (c: Buffer) => this.onData(c));
      this.socket = s;
    });
  }

  /**
   * Sends one request: `body` is a function that appends the request body,
   * or the body's bytes, whole or in chunks (sent as they are after the
   * header, in one writev, not copied; the
   * caller must not change them until the returned promise settles). Resolves
   * with the response body (after the correlation id), or when written if no
   * response is expected (Produce with acks=0). Fails the connection after
   * `timeoutMs` without one.
   */
  request(
    apiKey: number,
    apiVersion: number,
    body: ((w: ByteWriter) => void) | Uint8Array | readonly Uint8Array[],
    sizeHint = 256,
    expectResponse = true,
    timeoutMs = this.opts.requestTimeoutMs,
  ): Promise<Buffer> {
    if (this.closedError || !this.socket)
      return Promise.reject(this.closedError ?? new ConnectionError('not connected'));
    const id = this.nextId;
    this.nextId = this.nextId >= 0x7fffffff ? 1 : this.nextId + 1;
    const chunks = typeof body === 'function' ? [] : body instanceof Uint8Array ? [body] : body;
    let bodyBytes = 0;
    for (const c of chunks) bodyBytes += c.length;
    const w = new ByteWriter((chunks.length ? 0 : sizeHint) + 64 + this.opts.clientId.length);
    const sizeAt = w.reserve(4);
    w.int16(apiKey).int16(apiVersion).int32(id).nullableString(this.opts.clientId);
    if (typeof body === 'function') body(w);
    w.int32At(w.pos - sizeAt - 4 + bodyBytes, sizeAt);
    const head = w.view();
    const socket = this.socket;
    // header and body chunks in one writev
    const send = (cb?: (e?: Error | null) => void): void => {
      if (chunks.length === 0) {
        socket.write(head, cb);
        return;
      }
      socket.cork();
      socket.write(head);
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) socket.write(chunks[i]!);
      socket.write(chunks[last]!, cb);
      socket.uncork();
    };
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.close(new ConnectionError(`request to ${this.address} timed out after ${timeoutMs} ms`, 'ETIMEDOUT')),
        timeoutMs,
      );
      this.pending.set(id, { resolve, reject, timer });
      if (expectResponse) {
        send();
        return;
      }
      // no response (acks=0): the timer runs until the bytes are written, so that a broker that
      // stops reading fails the request instead of leaving it pending until TCP gives up
      send((e) => {
        if (!this.pending.delete(id)) return; // failed already: timed out, or the connection closed
        clearTimeout(timer);
        if (e) reject(new ConnectionError(`write to ${this.address} failed: ${e.message}`));
        else resolve(Buffer.alloc(0));
      });
    });
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      const head = this.chunks.length === 1 ? this.chunks[0]! : this.flatten();
      const size = head.readInt32BE(0);
      if (size < 4 || size > MAX_FRAME) {
        this.close(new ConnectionError(`bad response frame of ${size} bytes from ${this.address}`));
        return;
      }
      if (this.buffered < size + 4) return;
      const all = this.chunks.length === 1 ? head : this.flatten();
      const frame = all.subarray(4, size + 4);
      const rest = all.subarray(size + 4);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
      const id = frame.readInt32BE(0);
      const p = this.pending.get(id);
      if (!p) {
        // a response to no request: the stream is out of step (a request that timed out closed the
        // connection, so no late answer to it is ever read here)
        this.close(new ConnectionError(`response with unknown correlation id ${id} from ${this.address}`));
        return;
      }
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(frame.subarray(4));
    }
  }

  private flatten(): Buffer {
    const b = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [b];
    return b;
  }

  /** Closes the socket and fails pending requests with `reason`. Safe twice. */
  close(reason = new ConnectionError('connection closed')): void {
    if (this.closedError) return;
    this.closedError = reason;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(reason);
    }
    this.pending.clear();
    this.socket?.destroy();
  }
}
