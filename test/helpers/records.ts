/** Record files (`netspan run --record` format) for CLI tests. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../../src/paths.js';

/** The soconnect lines of a live capture (src/probes/soconnect/testdata). */
export async function soconnectLines(): Promise<string[]> {
  return (await readFile(join(repoRoot(), 'src/probes/soconnect/testdata/live-netns.txt'), 'latin1'))
    .split('\n')
    .filter((l) => l.startsWith('connect\t'));
}

/** A record file of `n` soconnect lines (the live capture's, cycled, kernel times made increasing). */
export async function writeSoconnectRecord(file: string, n: number): Promise<void> {
  const base = await soconnectLines();
  const rec: string[] = ['#netspan-record v1 clock_offset_ns=0'];
  for (let i = 0; i < n; i++) {
    const f = base[i % base.length]!.split('\t');
    f[1] = String(600_000_000_000 + i);
    rec.push(`soconnect\t${f.join('\t')}`);
  }
  await writeFile(file, rec.join('\n') + '\n', 'latin1');
}
