/**
 * Host checks behind `netspan doctor` and `netspan probes`: each says what is
 * wrong and how to fix it.
 */
import { access, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { findTracefs } from '../host/context.js';
import type { Hook } from '../probes/types.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export async function checkBpftrace(bin: string): Promise<Check> {
  const r = await execa(bin, ['--version'], { reject: false, timeout: 10_000 });
  if (r.failed || r.exitCode !== 0) {
    return {
      name: 'bpftrace',
      ok: false,
      detail: `${bin} not found or not runnable`,
      fix: "run `bash scripts/setup.sh` (installs Debian's bpftrace) or set NETSPAN_BPFTRACE",
    };
  }
  return { name: 'bpftrace', ok: true, detail: String(r.stdout).trim() };
}

const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

export async function checkPrivileges(): Promise<Check> {
  if (process.getuid?.() === 0) return { name: 'privileges', ok: true, detail: 'running as root' };
  const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  const eff = m?.[1] ? BigInt(`0x${m[1]}`) : 0n;
  const has = (bit: bigint) => (eff >> bit) & 1n;
  if (has(CAP_BPF) && has(CAP_PERFMON))
    return { name: 'privileges', ok: true, detail: 'CAP_BPF and CAP_PERFMON present' };
  return {
    name: 'privileges',
    ok: false,
    detail: 'not root and missing CAP_BPF/CAP_PERFMON',
    fix: "run as root, or grant CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE (setcap or the Helm chart's securityContext)",
  };
}

export async function checkTracefs(): Promise<Check> {
  const dir = await findTracefs();
  if (dir) return { name: 'tracefs', ok: true, detail: `mounted at ${dir}` };
  return {
    name: 'tracefs',
    ok: false,
    detail: 'tracefs is not mounted',
    fix: 'mount -t tracefs nodev /sys/kernel/tracing',
  };
}

export async function checkBtf(): Promise<Check> {
  try {
    await access('/sys/kernel/btf/vmlinux');
    return { name: 'BTF', ok: true, detail: '/sys/kernel/btf/vmlinux present' };
  } catch {
    return {
      name: 'BTF',
      ok: false,
      detail: '/sys/kernel/btf/vmlinux missing',
      fix: 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y (probes read kernel structs through BTF)',
    };
  }
}

export function hookName(h: Hook): string {
  return h.kind === 'tracepoint' ? `tracepoint:${h.category}:${h.name}` : `${h.kind}:${h.binary}:${h.symbol}`;
}

/** Whether one kernel hook exists on this host. */
export async function checkHook(h: Hook, tracefs: string | undefined, bpftrace: string): Promise<Check> {
  const name = hookName(h);
  if (h.kind === 'tracepoint') {
    if (!tracefs)
      return { name, ok: false, detail: 'tracefs not mounted', fix: 'mount -t tracefs nodev /sys/kernel/tracing' };
    try {
      await access(`${tracefs}/events/${h.category}/${h.name}`);
      return { name, ok: true, detail: 'present' };
    } catch {
      return {
        name,
        ok: false,
        detail: 'tracepoint not found in this kernel',
        fix: 'needs a newer kernel (see the probe manifest for the minimum)',
      };
    }
  }
  try {
    await access(h.binary);
  } catch {
    return { name, ok: false, detail: `${h.binary} not found`, fix: 'install the library or point the probe at it' };
  }
  const r = await execa(bpftrace, ['-l', `uprobe:${h.binary}:${h.symbol}`], { reject: false, timeout: 20_000 });
  if (String(r.stdout).includes(h.symbol)) return { name, ok: true, detail: 'symbol present' };
  return {
    name,
    ok: false,
    detail: `symbol ${h.symbol} not found in ${h.binary}`,
    fix: 'the probe cannot see this resolver (static or musl binaries are not covered)',
  };
}
