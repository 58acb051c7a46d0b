/**
 * Fault: bpftrace prints garbage. A stand-in (test/fixtures/scripted-bpftrace.mjs)
 * prints real soconnect lines mixed with garbage, truncated lines, bad
 * numbers, non-UTF-8 bytes, a 1 MB line and "Lost N events" lines, in uneven
 * chunks, through the real soconnect probe's parser in a Service. Every line
 * is accounted for by kind and error type; valid events arrive intact; the
 * probe keeps running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostContext } from '../../src/host/context.js';
import { MonotonicClock } from '../../src/host/clock.js';
import { repoRoot } from '../../src/paths.js';
import { Service } from '../../src/service/service.js';
import { Telemetry } from '../../src/telemetry/internal-events.js';
import { captureConfig, captureRegistry, delivered } from '../helpers/capture-registry.js';
import { capturingLogger, sleep, until } from '../helpers/faults.js';

const fixture = join(repoRoot(), 'test/fixtures/scripted-bpftrace.mjs');

void test(
  'garbage from bpftrace: every line counted by kind and error type, valid events delivered, probe keeps running',
  { timeout: 60_000 },
  async () => {
    const real = (await readFile(join(repoRoot(), 'src/probes/soconnect/testdata/live-netns.txt'), 'latin1'))
      .split('\n')
      .filter((l) => l.startsWith('connect\t'));
    assert.equal(real.length, 12);
    const valid = real[0]!;
    const f = valid.split('\t');
    const withField = (i: number, v: string) => f.map((x, j) => (j === i ? v : x)).join('\t');
    const body: string[] = [];
    const expectErrors = { unknown_tag: 0, field_count: 0, bad_number: 0, bad_value: 0, too_long: 0 };
    const bad = (kind: keyof typeof expectErrors, line: string) => {
      expectErrors[kind]++;
      body.push(line);
    };
    for (let i = 0; i < real.length; i++) {
      body.push(real[i]!);
      switch (i % 6) {
        case 0:
          bad('unknown_tag', 'hello world, this is not bpftrace output');
          bad('field_count', real[i]!.slice(0, Math.floor(real[i]!.length / 2))); // truncated mid-line
          break;
        case 1:
          bad('unknown_tag', '\x00\xff\xfe\x80\xc3(\x9f garbage bytes');
          body.push('Lost 17 events');
          break;
        case 2:
          bad('bad_number', withField(2, 'abc'));
          bad('bad_value', withField(6, '3')); // address family 3
          body.push('');
          break;
        case 3:
          bad('bad_number', withField(12, '-5')); // negative latency
          bad('bad_value', `${valid}\r`); // CRLF: the nonblocking flag is "1\r"
          break;
        case 4:
          bad('too_long', `connect\t${'9'.repeat(1 << 20)}`); // 1 MB line
          bad('field_count', `${valid}\textra`);
          break;
        case 5:
          bad('bad_number', withField(8, '1e400'));
          body.push('Lost 17 events');
          bad('unknown_tag', 'connect'.slice(0, 4));
          break;
      }
    }
    const lostLines = body.filter((l) => l === 'Lost 17 events').length;
    const errorTotal = Object.values(expectErrors).reduce((a, b) => a + b, 0);
    assert.deepEqual(expectErrors, { unknown_tag: 6, field_count: 4, bad_number: 6, bad_value: 4, too_long: 2 });
    assert.equal(lostLines, 4);

    const dir = await mkdtemp(join(tmpdir(), 'netspan-garbage-'));
    const out = join(dir, 'out.txt');
    await writeFile(out, body.join('\n') + '\n', 'latin1');
    process.env.NETSPAN_FAKE_OUTPUT = out;
    process.env.NETSPAN_FAKE_REPEAT = '1';

    delivered.clear();
    const { logger, lines } = capturingLogger();
    const t = new Telemetry(logger, undefined, 60_000);
    const cfg = `
probes: { soconnect: {} }
exporters: { capture/g: { queue: { scheduled_delay_ms: 10 } } }
pipelines: { p: { probes: [soconnect], exporters: [capture/g] } }
`;
    const svc = new Service({ config: captureConfig(cfg), registry: captureRegistry, telemetry: t, logger, env: {} });
    const host = { ...(await hostContext()), clock: new MonotonicClock(0n) };
    const totalLines = 1 + body.length; // banner + script
    try {
      const report = await svc.startLive(host, { supervisor: { bpftrace: fixture } });
      assert.deepEqual(report, { attached: ['soconnect'], failed: [] });
      await until(() => t.linesReceived.get({ probe: 'soconnect' }) >= totalLines, 30_000, 'every scripted line');
      await until(() => (delivered.get('capture/g') ?? []).length >= real.length, 5_000, 'the valid events');
      await sleep(300);
      // Still running: attached, never restarted.
      assert.equal(t.probeUp.get({ probe: 'soconnect' }), 1);
      assert.equal(t.probeRestarts.sum(), 0);
    } finally {
      await svc.stop();
      delete process.env.NETSPAN_FAKE_OUTPUT;
      delete process.env.NETSPAN_FAKE_REPEAT;
      await rm(dir, { recursive: true, force: true });
    }

    assert.equal(t.linesReceived.get({ probe: 'soconnect' }), totalLines);
    for (const [errorType, n] of Object.entries(expectErrors)) {
      assert.equal(t.parseErrors.get({ probe: 'soconnect', error_type: errorType }), n, `parse errors ${errorType}`);
    }
    assert.equal(t.parseErrors.sum(), errorTotal);
    assert.equal(t.eventsLost.get({ probe: 'soconnect' }), 17 * lostLines);
    assert.equal(t.eventsReceived.get({ probe: 'soconnect' }), real.length);
    // Every line read is an event, a parse error, a lost report or a line that carries nothing
    // (the banner, blanks): the exact counts above check each kind (a line counted as the wrong
    // kind, twice or not at all changes one of them), so there is no separate sum to check.

    const got = delivered.get('capture/g')!;
    assert.deepEqual(
      got.map((e) => (e.type === 'soconnect' ? [e.pid, e.sport, e.dport, e.result] : [])),
      real.map((l) => {
        const x = l.split('\t');
        return [
          Number(x[2]),
          Number(x[8]),
          Number(x[10]),
          x[11] === '0'
            ? 'ESTABLISHED'
            : x[11] === '111'
              ? 'ECONNREFUSED'
              : x[11] === '110'
                ? 'ETIMEDOUT'
                : 'ENETUNREACH',
        ];
      }),
    );
    assert.equal(t.eventsAccepted.sum(), real.length);
    assert.equal(t.eventsSent.sum(), real.length);
    assert.equal(t.eventsDropped.sum(), 0);

    // Logs: one warning per error type (rate-limited), one for lost events; never one per line.
    const parseWarnings = lines.filter((l) => l.msg === 'Probe output line rejected');
    assert.deepEqual(parseWarnings.map((l) => l.error_type).sort(), Object.keys(expectErrors).sort());
    assert.equal(lines.filter((l) => l.msg?.toString().startsWith('Kernel lost events')).length, 1);
    const tooLong = parseWarnings.find((l) => l.error_type === 'too_long')!;
    assert.ok(String(tooLong.detail).length <= 200);
  },
);
