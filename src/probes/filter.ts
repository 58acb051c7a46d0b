/**
 * Probe-level filters pushed into bpftrace: a predicate on the probe's entry
 * points (connect(2) entry, resolver entry) so unwanted processes cost no
 * event at all. Only for probes whose events run in the task's own context
 * (soconnect, udpconnect, gethostlatency); retransmits and drops happen in
 * softirq context, where pid and comm are not the owner's — filter those with
 * the `filter` processor.
 *
 * Values end up in program text, so the schema admits only plain integers and
 * comm names of safe characters.
 */
import { z } from 'zod';

export const FILTER_PLACEHOLDER = '/* NETSPAN_FILTER */';

export const probeFilterSchema = z
  .strictObject({
    pids: z
      .array(z.int().min(1).max(4_194_304))
      .max(64)
      .default([])
      .describe('Only these process ids (thread-group ids)'),
    comms: z
      .array(z.string().regex(/^[A-Za-z0-9._:@+-]{1,15}$/, 'must be 1-15 characters of A-Z a-z 0-9 . _ : @ + -'))
      .max(64)
      .default([])
      .describe('Only tasks with these command names (comm, at most 15 characters)'),
    cgroup_ids: z
      .array(z.int().min(1))
      .max(64)
      .default([])
      .describe('Only tasks in these cgroup v2 ids (inode numbers of cgroup directories)'),
  })
  .prefault({})
  .describe('Filters evaluated inside the kernel before an event is produced; lists are ORed, kinds are ANDed');
export type ProbeFilter = z.infer<typeof probeFilterSchema>;

/** The bpftrace predicate for a filter, or '' when it filters nothing. */
export function filterPredicate(f: ProbeFilter): string {
  const terms: string[] = [];
  const any = (expr: string, values: readonly (string | number)[]) =>
    values.length
      ? `(${values.map((v) => `${expr} == ${typeof v === 'string' ? JSON.stringify(v) : v}`).join(' || ')})`
      : '';
  for (const t of [any('pid', f.pids), any('comm', f.comms), any('cgroup', f.cgroup_ids)]) if (t) terms.push(t);
  return terms.join(' && ');
}

/** Substitutes the filter into every placeholder of a program (left as a comment when empty). */
export function applyFilter(program: string, f: ProbeFilter | undefined): string {
  const pred = f ? filterPredicate(f) : '';
  return pred ? program.replaceAll(FILTER_PLACEHOLDER, `/${pred}/`) : program;
}
