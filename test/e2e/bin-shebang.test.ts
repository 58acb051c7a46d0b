/**
 * `bin/netspan` run as an executable (as the Quick start, the image's
 * entrypoint and the Helm chart run it), not through `node bin/netspan` as
 * the other CLI tests do: its `#!/usr/bin/env -S node <flags>` line must
 * start node with those V8 flags on this system.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../../src/paths.js';
import { until } from '../helpers/faults.js';
import { writeSoconnectRecord } from '../helpers/records.js';

const bin = join(repoRoot(), 'bin/netspan');

void test(
  'bin/netspan starts node with the V8 flags of its #! line and replays a record',
  { timeout: 60_000 },
  async () => {
    const flags = /^#!\/usr\/bin\/env -S node (.+)$/m.exec(readFileSync(bin, 'utf8'))?.[1];
    assert.equal(flags, '--max-semi-space-size=8 --single-threaded-gc --no-allocation-site-pretenuring');
    const dir = await mkdtemp(join(tmpdir(), 'netspan-bin-'));
    try {
      await writeSoconnectRecord(join(dir, 'rec.txt'), 200_000);
      await writeFile(
        join(dir, 'netspan.yaml'),
        'probes: { soconnect: {} }\nexporters: { "null": {} }\npipelines: { p: { probes: [soconnect], exporters: ["null"] } }\n',
      );
      const run = execa(bin, ['run', '--config', join(dir, 'netspan.yaml'), '--replay', join(dir, 'rec.txt')], {
        reject: false,
        stdin: 'ignore',
        timeout: 50_000,
      });
      // env execs node in the same process: its command line shows the flags while it runs
      let cmdline = '';
      await until(
        () => {
          try {
            cmdline = readFileSync(`/proc/${run.pid}/cmdline`, 'latin1').split('\0').join(' ');
          } catch {
            // not yet, or already gone
          }
          return cmdline.includes('--no-allocation-site-pretenuring') || run.exitCode !== undefined;
        },
        30_000,
        'node running with the flags',
      );
      const r = await run;
      assert.match(
        cmdline,
        /node --max-semi-space-size=8 --single-threaded-gc --no-allocation-site-pretenuring \S*bin\/netspan run/,
      );
      assert.equal(r.exitCode, 0, String(r.stderr).slice(-2000));
      const summary = String(r.stderr)
        .split('\n')
        .find((l) => l.includes('"netspan stopped"'));
      assert.ok(summary, 'a summary line');
      const s = JSON.parse(summary) as { events_received: number; events_sent: number };
      assert.deepEqual([s.events_received, s.events_sent], [200_000, 200_000]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
