import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { StdoutExporter } from './exporter.js';
import { stdoutConfigSchema } from './config.js';
import { connectEvent } from '../../../test/helpers/events.js';

function capture(isTTY: boolean) {
  const out = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  return { out, text: () => text };
}

test('json lines when not a terminal', async () => {
  const c = capture(false);
  const exp = new StdoutExporter(stdoutConfigSchema.parse({}), c.out);
  const r = await exp.export([connectEvent({ dport: 443 }), connectEvent({ result: 'ECONNREFUSED' })]);
  assert.deepEqual(r, { code: 'success' });
  const lines = c
    .text()
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => [l.type, l.dport, l.result]),
    [
      ['soconnect', 443, 'ESTABLISHED'],
      ['soconnect', 8080, 'ECONNREFUSED'],
    ],
  );
});

test('aligned columns with a header on a terminal; control characters escaped', async () => {
  const c = capture(true);
  const exp = new StdoutExporter(stdoutConfigSchema.parse({ format: 'auto' }), c.out);
  await exp.export([
    connectEvent({ comm: 'evil\x1b[2J', timeUnixNano: 1_763_766_123_456_789_012n, saddr: '127.0.0.1', sport: 40001 }),
  ]);
  await exp.export([
    connectEvent({
      family: 'ipv6',
      saddr: '::1',
      daddr: '::1',
      sport: 1,
      dport: 2,
      timeUnixNano: 1_763_766_123_456_789_012n,
    }),
  ]);
  const lines = c.text().split('\n');
  assert.equal(lines[0], 'TIME         TYPE               PID COMM             DETAILS');
  assert.equal(
    lines[1],
    '23:02:03.456 soconnect         4711 evil\\x1b[2J      127.0.0.1:40001 -> 127.0.0.1:8080 ESTABLISHED 0.12ms (non-blocking)',
  );
  assert.equal(
    lines[2],
    '23:02:03.456 soconnect         4711 curl             [::1]:1 -> [::1]:2 ESTABLISHED 0.12ms (non-blocking)',
  );
  assert.equal(lines.filter((l) => l.startsWith('TIME')).length, 1);
});
