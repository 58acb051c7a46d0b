import { test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import type { NetEvent } from '../core/event.js';
import type { EventSink } from './probe-input.js';
import { Reorderer } from './reorder.js';

const MS = 1_000_000n;
const ev = (t: bigint, pid: number): NetEvent =>
  ({ type: 'soconnect', timeUnixNano: t, pid, tid: pid, comm: 'x', cgroupId: 0 }) as unknown as NetEvent;

function sink() {
  const got: { probe: string; pid: number }[] = [];
  return { got, target: { ingest: (probe: string, e: NetEvent) => got.push({ probe, pid: e.pid }) } };
}

/** A Reorderer into `target` whose wall clock stands at 0 (only event times release). */
const reorderer = (target: EventSink, windowMs: number, maxHeld: number) =>
  new Reorderer(
    () => target,
    windowMs,
    () => maxHeld,
    () => 0,
  );

void test('reorder: events of different probes come out in kernel-time order, equal times in arrival order', () => {
  const { got, target } = sink();
  const r = reorderer(target, 25, 1000);
  const base = 1_000_000n * MS;
  r.ingest('soconnect', ev(base + 2n * MS, 2)); // the connect's line arrives first
  r.ingest('gethostlatency', ev(base + 1n * MS, 1)); // the lookup it used, 1 ms earlier
  r.ingest('udpconnect', ev(base + 2n * MS, 3)); // same time as pid 2: after it
  assert.equal(got.length, 0, 'held within the window');
  r.ingest('soconnect', ev(base + 30n * MS, 4)); // the watermark moves 28 ms on: the first three go
  assert.deepEqual(
    got.map((g) => g.pid),
    [1, 2, 3],
  );
  assert.equal(got[0]!.probe, 'gethostlatency');
  assert.equal(r.size, 1);
  r.close();
  r.close();
  assert.deepEqual(
    got.map((g) => g.pid),
    [1, 2, 3, 4],
  );
});

void test('reorder: a quiet node releases by the wall clock', async () => {
  const { got, target } = sink();
  const t0 = 5_000_000n * MS;
  const r = new Reorderer(
    () => target,
    20,
    () => 1000,
    () => Number((t0 + 100n * MS) / MS), // the wall clock, in ms
  );
  r.ingest('p', ev(t0, 1));
  assert.equal(got.length, 0);
  await new Promise((res) => setTimeout(res, 80));
  assert.deepEqual(
    got.map((g) => g.pid),
    [1],
  );
  r.close();
});

void test('reorder: bounded — beyond maxHeld the oldest goes on at once; nothing is lost; window 0 passes through', () => {
  const { got, target } = sink();
  const r = reorderer(target, 1_000, 10);
  for (let i = 0; i < 100; i++) r.ingest('p', ev(BigInt(100 - i) * 1000n, i)); // reversed times, all within the window
  assert.equal(r.size, 10);
  assert.equal(got.length, 90);
  r.flush();
  assert.equal(got.length, 100);
  assert.deepEqual(new Set(got.map((g) => g.pid)).size, 100);
  // each newcomer was the earliest, so it went on at once; the ten held (the first in) come out sorted
  assert.deepEqual(
    got.slice(0, 3).map((g) => g.pid),
    [10, 11, 12],
  );
  assert.deepEqual(
    got.slice(90).map((g) => g.pid),
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
  );
  r.close();

  const pass = sink();
  const off = new Reorderer(() => pass.target, 0);
  off.ingest('p', ev(5n, 1));
  assert.equal(pass.got.length, 1);
});

void test('reorder: long streams with jitter below the window come out sorted, each event once (property, fixed seed)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 9_000 })), {
        minLength: 1,
        maxLength: 6_000,
        size: 'max', // long streams: the held ones are moved to the front after 1,024 released
      }),
      (steps) => {
        const { got, target } = sink();
        // window 10 ms, every event at most 9 ms behind its predecessors' newest: none may come out early
        const r = reorderer(target, 10, 100_000);
        let clock = 1_000_000n * MS;
        const sent: { t: bigint; pid: number }[] = [];
        steps.forEach(([advance, behind], pid) => {
          clock += BigInt(advance) * 1_000_000n;
          const t = clock - BigInt(behind) * 1000n; // whole µs: apart by more than the doubles' resolution
          sent.push({ t, pid });
          r.ingest('p', ev(t, pid));
        });
        r.flush();
        const want = [...sent].sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.pid - b.pid)).map((s) => s.pid);
        assert.deepEqual(
          got.map((g) => g.pid),
          want,
        );
        assert.equal(r.size, 0);
      },
    ),
    { seed: 20261122, numRuns: 40 },
  );
});
