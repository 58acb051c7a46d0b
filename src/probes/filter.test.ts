import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { loadConfigText } from '../config/load.js';
import { formatError } from '../config/errors.js';
import { registry } from '../registry.js';
import { repoRoot } from '../paths.js';
import { applyFilter, FILTER_PLACEHOLDER, filterPredicate, probeFilterSchema } from './filter.js';
import { soconnectProbe } from './soconnect/index.js';
import { filterableProbeConfigSchema } from './config.js';
import { runProbeDuring } from '../../test/helpers/live.js';

test('filter predicates: lists ORed, kinds ANDed, empty filter leaves the program alone', () => {
  const f = probeFilterSchema.parse({ pids: [10, 20], comms: ['curl'], cgroup_ids: [4242] });
  assert.equal(filterPredicate(f), '(pid == 10 || pid == 20) && (comm == "curl") && (cgroup == 4242)');
  const prog = `tracepoint:x:y\n${FILTER_PLACEHOLDER}\n{ }`;
  assert.equal(
    applyFilter(prog, f),
    'tracepoint:x:y\n/(pid == 10 || pid == 20) && (comm == "curl") && (cgroup == 4242)/\n{ }',
  );
  assert.equal(applyFilter(prog, probeFilterSchema.parse({})), prog);
  assert.equal(applyFilter(prog, undefined), prog);
});

test('filter values that could inject program text are config errors with a position; retrans/drop probes have no filter', () => {
  const r = loadConfigText(
    `probes:
  soconnect:
    filter: { comms: ['x" || 1 == 1 || "'] }
  tcpretrans:
    filter: { pids: [1] }
exporters: { stdout: {} }
pipelines: { p: { probes: [soconnect, tcpretrans], exporters: [stdout] } }
`,
    'f.yaml',
    registry,
    {},
  );
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.errors.map(formatError), [
    'f.yaml:3:23: probes.soconnect.filter.comms[0]: must be 1-15 characters of A-Z a-z 0-9 . _ : @ + -',
    'f.yaml:5:5: probes.tcpretrans.filter: unknown key; valid keys: restart_backoff_max_ms, perf_rb_pages',
  ]);
});

test(
  'a comm filter is applied in the kernel: only the matching process produces events',
  { timeout: 60_000 },
  async () => {
    const connect = (comm: string) =>
      execa(process.execPath, [join(repoRoot(), 'test/fixtures/tcpconnect.mjs'), '127.0.0.1', '1', '--comm', comm], {
        reject: false,
        timeout: 15_000,
      });
    const pids: Record<string, number> = {};
    const live = await runProbeDuring(
      soconnectProbe,
      async () => {
        for (const comm of ['keep-me', 'drop-me', 'keep-me']) {
          const r = await connect(comm);
          pids[`${comm}-${Object.keys(pids).length}`] = (JSON.parse(String(r.stdout).trim()) as { pid: number }).pid;
        }
      },
      500,
      filterableProbeConfigSchema.parse({ filter: { comms: ['keep-me'] } }),
    );
    const ours = new Set(Object.values(pids));
    const seen = live.events.filter((e) => ours.has(e.pid));
    assert.deepEqual(
      seen.map((e) => [e.comm, e.type === 'soconnect' && e.result]),
      [
        ['keep-me', 'ECONNREFUSED'],
        ['keep-me', 'ECONNREFUSED'],
      ],
    );
    assert.ok(
      live.events.every((e) => e.comm === 'keep-me'),
      'nothing else passes the filter',
    );
  },
);
