import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import { isHostPath, normalizePodUid, parseCgroupPath, type CgroupIdentity } from './cgroup-path.js';

const table = JSON.parse(readFileSync(join(repoRoot(), 'src/enrich/testdata/cgroup-paths.json'), 'utf8')) as Array<
  [string, string, CgroupIdentity]
>;

test('cgroup path table has every shape', () => {
  assert.equal(table.length, 22);
});

for (const [name, path, want] of table) {
  test(`parseCgroupPath: ${name}`, () => {
    assert.deepEqual(parseCgroupPath(path), want);
    assert.equal(isHostPath(parseCgroupPath(path)), want.containerId === undefined && want.podUid === undefined);
  });
}

test('normalizePodUid turns systemd underscores into dashes', () => {
  assert.equal(normalizePodUid('1b2c3d4e_5f60_4718_89ab_cdef01234567'), '1b2c3d4e-5f60-4718-89ab-cdef01234567');
  assert.equal(normalizePodUid('6a2c3b4d5e6f70819a0b1c2d3e4f5061'), '6a2c3b4d5e6f70819a0b1c2d3e4f5061');
});
