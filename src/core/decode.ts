/**
 * Decoding helpers shared by the probe parsers.
 *
 * Strings that come from the kernel or from user memory (comm, host names) are
 * printed by the probes with bpftrace's `%r` format of a `buf()`: printable
 * ASCII bytes as themselves, every other byte as `\xHH`. That keeps tabs and
 * newlines out of the line (fields are tab-separated, records newline-ended)
 * and survives any byte. `decodeBpfBuf` turns it back into a string: bytes up
 * to the first NUL, decoded as UTF-8 (invalid sequences become U+FFFD).
 * Limitation of `%r`: a name that literally contains the four characters
 * `\x0a` is indistinguishable from one containing a newline byte.
 */
const utf8 = new TextDecoder('utf-8', { fatal: false });

export function decodeBpfBuf(text: string): string {
  if (!text.includes('\\x')) {
    // Fast path: plain printable ASCII (the common case for comm).
    return text;
  }
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c && text.charCodeAt(i + 1) === 0x78 && i + 3 < text.length) {
      const hex = text.slice(i + 2, i + 4);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        const b = parseInt(hex, 16);
        if (b === 0) break;
        bytes.push(b);
        i += 3;
        continue;
      }
    }
    bytes.push(c & 0xff);
  }
  return utf8.decode(Uint8Array.from(bytes));
}

/** Strict unsigned decimal integer; returns NaN for anything else. */
export function parseUint(text: string): number {
  if (text.length === 0 || text.length > 16) return NaN;
  // Accumulated while checking: exact up to 15 digits (< 2^53); Number() rounds 16-digit values correctly.
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return NaN;
    n = n * 10 + (c - 48);
  }
  return text.length < 16 ? n : Number(text);
}

/** Strict signed decimal integer; returns NaN for anything else. */
export function parseInt32(text: string): number {
  if (text.startsWith('-')) {
    const n = parseUint(text.slice(1));
    return Number.isNaN(n) ? NaN : -n;
  }
  return parseUint(text);
}

/** Strict unsigned 64-bit decimal integer as bigint, or undefined. */
export function parseU64(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 20) return undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return BigInt(text);
}

/** Linux errno numbers → names, for the errors network syscalls return. */
const ERRNO: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  4: 'EINTR',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  22: 'EINVAL',
  24: 'EMFILE',
  88: 'ENOTSOCK',
  89: 'EDESTADDRREQ',
  91: 'EPROTOTYPE',
  93: 'EPROTONOSUPPORT',
  95: 'EOPNOTSUPP',
  97: 'EAFNOSUPPORT',
  98: 'EADDRINUSE',
  99: 'EADDRNOTAVAIL',
  100: 'ENETDOWN',
  101: 'ENETUNREACH',
  103: 'ECONNABORTED',
  104: 'ECONNRESET',
  105: 'ENOBUFS',
  106: 'EISCONN',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  112: 'EHOSTDOWN',
  113: 'EHOSTUNREACH',
  114: 'EALREADY',
  115: 'EINPROGRESS',
  125: 'ECANCELED',
};

/** errno number (positive or negative) → name, e.g. 111 → "ECONNREFUSED"; unknown → "E<n>". */
export function errnoName(n: number): string {
  const abs = Math.abs(n);
  return ERRNO[abs] ?? `E${abs}`;
}

/** getaddrinfo(3) return codes (glibc values) → names. */
const EAI: Record<number, string> = {
  [-1]: 'EAI_BADFLAGS',
  [-2]: 'EAI_NONAME',
  [-3]: 'EAI_AGAIN',
  [-4]: 'EAI_FAIL',
  [-6]: 'EAI_FAMILY',
  [-7]: 'EAI_SOCKTYPE',
  [-8]: 'EAI_SERVICE',
  [-10]: 'EAI_MEMORY',
  [-11]: 'EAI_SYSTEM',
  [-12]: 'EAI_OVERFLOW',
  [-5]: 'EAI_NODATA',
  [-9]: 'EAI_ADDRFAMILY',
};

export function eaiName(n: number): string {
  return n === 0 ? 'OK' : (EAI[n] ?? `EAI_${n}`);
}

/** Kernel TCP states (include/net/tcp_states.h) → names without the TCP_ prefix. */
const TCP_STATES = [
  'UNKNOWN',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
  'BOUND_INACTIVE',
];

export function tcpStateName(n: number): string | undefined {
  return n >= 1 && n < TCP_STATES.length ? TCP_STATES[n] : undefined;
}

export function familyName(af: number): 'ipv4' | 'ipv6' | undefined {
  return af === 2 ? 'ipv4' : af === 10 ? 'ipv6' : undefined;
}

/** `%r` of bpftrace's 16-byte comm buffer is at most 64 characters (every byte as \xHH). */
export const MAX_COMM_TEXT = 64;

/**
 * Decodes a comm printed as `%r` of `buf(comm, 16)`: fast path for plain
 * names followed by NUL padding. Returns undefined when the text is longer
 * than such a buffer can print (the line is not what the probe wrote).
 */
export function decodeComm(text: string): string | undefined {
  if (text.length > MAX_COMM_TEXT) return undefined;
  const i = text.indexOf('\\x');
  if (i < 0) return text;
  if (text.startsWith('\\x00', i)) return text.slice(0, i);
  return decodeBpfBuf(text);
}
