import { checkBpftrace, checkBtf, checkHook, checkPrivileges, checkTracefs, type Check } from '../doctor/checks.js';
import type { Env } from '../config/env.js';
import { hostContext, findTracefs } from '../host/context.js';
import type { Registry } from '../registry.js';

function line(c: Check): string {
  return `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}${c.ok || !c.fix ? '' : `\n       fix: ${c.fix}`}`;
}

async function probeChecks(registry: Registry, bpftrace: string): Promise<Map<string, Check[]>> {
  const host = await hostContext();
  const tracefs = await findTracefs();
  const out = new Map<string, Check[]>();
  for (const [name, f] of registry.probes) {
    try {
      const prepared = await f.definition.prepare(host);
      out.set(name, await Promise.all(prepared.hooks.map((h) => checkHook(h, tracefs, bpftrace))));
    } catch (e: unknown) {
      out.set(name, [{ name: 'prepare', ok: false, detail: e instanceof Error ? e.message : String(e) }]);
    }
  }
  return out;
}

export async function doctorCommand(registry: Registry, env: Env): Promise<number> {
  const bpftrace = env.NETSPAN_BPFTRACE ?? 'bpftrace';
  const host = [await checkBpftrace(bpftrace), await checkPrivileges(), await checkTracefs(), await checkBtf()];
  let failed = false;
  process.stdout.write('Host\n');
  for (const c of host) {
    process.stdout.write(`  ${line(c)}\n`);
    failed ||= !c.ok;
  }
  for (const [name, checks] of await probeChecks(registry, bpftrace)) {
    const ok = checks.every((c) => c.ok);
    failed ||= !ok;
    process.stdout.write(`Probe ${name}: ${ok ? 'can run' : 'CANNOT RUN'}\n`);
    for (const c of checks) process.stdout.write(`  ${line(c)}\n`);
  }
  process.stdout.write(
    failed ? 'netspan doctor: problems found (see fix: lines)\n' : 'netspan doctor: all probes can run here\n',
  );
  return failed ? 1 : 0;
}

export async function probesCommand(registry: Registry, env: Env): Promise<number> {
  const bpftrace = env.NETSPAN_BPFTRACE ?? 'bpftrace';
  const checks = await probeChecks(registry, bpftrace);
  for (const [name, f] of registry.probes) {
    const cs = checks.get(name) ?? [];
    const ok = cs.every((c) => c.ok);
    process.stdout.write(`${name.padEnd(16)} ${ok ? 'can run' : 'CANNOT RUN'}  ${f.definition.description}\n`);
    for (const c of cs)
      process.stdout.write(`  ${c.ok ? '' : 'missing '}${c.name === 'prepare' ? c.detail : c.name}\n`);
  }
  return 0;
}
