/**
 * Turns bpftrace's stderr into a one-paragraph explanation with a fix.
 */
export function diagnoseBpftraceFailure(probe: string, stderr: string, spawnError?: string, bpftrace?: string): string {
  const s = `${spawnError ?? ''}\n${stderr}`;
  const tail = stderr
    .split('\n')
    .filter((l) => l.trim() && !l.includes('RLIMIT_MEMLOCK'))
    .slice(-4)
    .join(' | ');
  let why: string;
  if (/ENOENT/.test(spawnError ?? '')) {
    const tried = bpftrace ? ` (tried ${JSON.stringify(bpftrace)})` : '';
    why = `bpftrace is not installed or not on PATH${tried}. Fix: run \`bash scripts/setup.sh\` (installs Debian's bpftrace), or set NETSPAN_BPFTRACE to its path.`;
  } else if (/EACCES|Operation not permitted|permission|must be run as root/i.test(s)) {
    why =
      "bpftrace lacks privileges to load BPF programs. Fix: run netspan as root, or grant CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE (in Kubernetes: the chart's securityContext).";
  } else if (
    /tracefs|debugfs|No such file or directory.*tracing|Could not read symbols|tracepoint not found|Could not find tracepoint|No probes to attach/i.test(
      s,
    )
  ) {
    why =
      'a kernel hook this probe needs is missing. Fix: mount tracefs (`mount -t tracefs nodev /sys/kernel/tracing`) and check the hook exists with `netspan doctor`.';
  } else if (/Could not resolve symbol|uprobe|No such file/i.test(s)) {
    why =
      'a user-space symbol or library this probe attaches to was not found. Fix: check the library path with `netspan doctor`.';
  } else if (/BTF|kernel headers/i.test(s)) {
    why =
      'bpftrace needs kernel type information (BTF at /sys/kernel/btf/vmlinux) that this kernel does not provide. Fix: use a kernel built with CONFIG_DEBUG_INFO_BTF=y.';
  } else {
    why = 'bpftrace failed to start the program.';
  }
  return `Probe ${probe} could not run: ${why}${tail ? ` bpftrace said: ${tail}` : ''}`;
}
