/**
 * The probe manifests (probes/<name>/manifest.yaml) are documentation that
 * nothing else reads; these checks keep them true to the program, the probe
 * definition, the parser and the OpenTelemetry mapping:
 *
 *   1. keys: the manifest parses, has the expected top-level keys, `name`,
 *      `event.type` and `program` (an existing file) fit the probe.
 *   2. output: every printf line of the .bt whose tag the manifest documents
 *      has as many tab-separated fields as the documented line (and, for a
 *      single-layout probe, as `output.fields`, whose `pos` are 0..n-1);
 *      every documented tag is printed, every printed tag documented.
 *   3. hooks: manifest `hooks` = prepare()'s hooks = the .bt's probe headers.
 *   4. placeholders/environment: every placeholder text is in the .bt and gone
 *      from prepare()'s program, every placeholder of the .bt is documented;
 *      `environment` = prepare()'s env.
 *   5. event.fields = the keys of the events the parser makes from the
 *      recorded testdata (a field some event lacks must be optional), with
 *      matching value types and optionality as in src/core/event.ts.
 *   6. every attribute-like `otel:` name is written by forEachEventAttribute, and every
 *      attribute it writes for the recorded events is named by a field
 *      for the recorded events (`name = value`: with that value).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EVENT_TYPES, type NetEvent } from '../core/event.js';
import type { Clock, ProbeParser } from '../core/parser.js';
import { forEachEventAttribute, type AttrValue } from '../otel/attributes.js';
import { repoRoot } from '../paths.js';
import { filterableProbeConfigSchema } from './config.js';
import type { Hook, HostContext, PreparedProbe, ProbeDefinition } from './types.js';
import { soconnectProbe } from './soconnect/index.js';
import { tcpretransProbe } from './tcpretrans/index.js';
import { gethostlatencyProbe } from './gethostlatency/index.js';
import { skbdropProbe } from './skbdrop/index.js';
import { udpconnectProbe } from './udpconnect/index.js';

const PROBES: ProbeDefinition[] = [soconnectProbe, tcpretransProbe, gethostlatencyProbe, skbdropProbe, udpconnectProbe];

const REQUIRED_KEYS = [
  'name',
  'description',
  'program',
  'placeholders',
  'environment',
  'hooks',
  'output',
  'event',
  'limitations',
];
/** gethostlatency documents the glibc struct offsets it reads. */
const OPTIONAL_KEYS = ['layouts'];

const OFFSET = 1_700_000_000_000_000_000n;
const clock: Clock = { toUnixNano: (ns) => ns + OFFSET };
const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

// ---------------------------------------------------------------------------
// A fake tracefs: the skb:kfree_skb format recorded on 6.18 (skbdrop's reason
// table and rx_sk) and a tcp_retransmit_skb format with an err field (so
// tcpretrans's filter placeholder is replaced by a predicate, not by nothing).

let tracefsDir: Promise<string> | undefined;
function tracefs(): Promise<string> {
  tracefsDir ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netspan-manifest-'));
    await mkdir(join(dir, 'events/skb/kfree_skb'), { recursive: true });
    await mkdir(join(dir, 'events/tcp/tcp_retransmit_skb'), { recursive: true });
    await writeFile(
      join(dir, 'events/skb/kfree_skb/format'),
      await readFile(join(repoRoot(), 'src/probes/skbdrop/testdata/kfree_skb.format.6.18')),
    );
    await writeFile(
      join(dir, 'events/tcp/tcp_retransmit_skb/format'),
      'name: tcp_retransmit_skb\nformat:\n\tfield:const void * skbaddr;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:int err;\toffset:72;\tsize:4;\tsigned:1;\n',
    );
    return dir;
  })();
  return tracefsDir;
}
after(async () => {
  if (tracefsDir) await rm(await tracefsDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// bpftrace source: comments, printf formats, probe headers.

/** The source with comments blanked (newlines kept, so offsets and line numbers stay); strings untouched. */
function blankComments(src: string): string {
  let out = '';
  for (let i = 0; i < src.length;) {
    const c = src[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      const j = end < 0 ? src.length : end + 2;
      out += src.slice(i, j).replace(/[^\n]/g, ' ');
      i = j;
    } else if (src.startsWith('//', i)) {
      const end = src.indexOf('\n', i);
      const j = end < 0 ? src.length : end;
      out += ' '.repeat(j - i);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const lineOf = (src: string, offset: number): number => src.slice(0, offset).split('\n').length;

interface Printf {
  /** 1-based line of the .bt. */
  line: number;
  /** Decoded format string. */
  format: string;
}

function printfs(code: string): Printf[] {
  const found: Printf[] = [];
  const re = /\bprintf\s*\(\s*"/g;
  for (let m = re.exec(code); m !== null; m = re.exec(code)) {
    let format = '';
    let i = m.index + m[0].length;
    for (; i < code.length && code[i] !== '"'; i++) {
      if (code[i] === '\\') {
        const e = code[++i]!;
        format += e === 't' ? '\t' : e === 'n' ? '\n' : e;
      } else format += code[i];
    }
    found.push({ line: lineOf(code, m.index), format });
  }
  return found;
}

/** Probe headers (text outside braces that is not a predicate), comma lists split; BEGIN/END are not kernel hooks. */
function probeHeaders(code: string): string[] {
  let top = '';
  let depth = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < code.length && code[j] !== '"') j += code[j] === '\\' ? 2 : 1;
      if (depth === 0) top += code.slice(i, j + 1);
      i = j;
    } else if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      top += '\n';
    } else if (depth === 0) top += c;
  }
  return top
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('/'))
    .flatMap((l) => l.split(',').map((h) => h.trim()))
    .filter((h) => h !== 'BEGIN' && h !== 'END');
}

/** Placeholder-looking texts in the raw source: the comment placeholders and __NAME__ tokens. */
function sourcePlaceholders(src: string): Set<string> {
  return new Set(src.match(/\/\* NETSPAN_[A-Z_]+ \*\/|\b__[A-Z][A-Z0-9_]*__\b/g) ?? []);
}

// ---------------------------------------------------------------------------
// src/core/event.ts: which fields are optional (`name?:`) per event type.

async function eventTsFields(type: string): Promise<Map<string, boolean> | undefined> {
  const text = await readFile(join(repoRoot(), 'src/core/event.ts'), 'utf8');
  const interfaces = new Map<string, { base?: string; body: string }>();
  const re = /export interface (\w+)(?: extends (\w+))? \{([\s\S]*?)\n\}/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    interfaces.set(m[1]!, { ...(m[2] ? { base: m[2] } : {}), body: m[3]! });
  }
  const fields = (body: string, into: Map<string, boolean>) => {
    for (const m of body.matchAll(/^\s*(\w+)(\??):[^\n]*;\s*$/gm)) into.set(m[1]!, m[2] === '?');
  };
  for (const { base, body } of interfaces.values()) {
    if (!new RegExp(`^\\s*type: '${type}';`, 'm').test(body)) continue;
    const out = new Map<string, boolean>();
    if (base) fields(interfaces.get(base)?.body ?? '', out);
    fields(body, out);
    return out;
  }
  return undefined;
}

// ---------------------------------------------------------------------------

interface ProbeContext {
  name: string;
  manifest: Obj;
  source: string;
  code: string;
  prepared: PreparedProbe;
  host: HostContext;
  events: NetEvent[];
}

const contexts = new Map<string, Promise<ProbeContext>>();
function load(def: ProbeDefinition): Promise<ProbeContext> {
  let c = contexts.get(def.name);
  if (!c) {
    c = (async () => {
      const name = def.name;
      const dir = join(repoRoot(), 'probes', name);
      const manifest: unknown = parseYaml(await readFile(join(dir, 'manifest.yaml'), 'utf8'));
      assert.ok(isObj(manifest), `${name}: manifest.yaml is not a mapping`);
      const source = await readFile(join(dir, `${name}.bt`), 'utf8');
      const host: HostContext = { tracefs: await tracefs(), libcPath: LIBC, clock };
      // A filter, so that the filter placeholder of filterable probes is replaced too.
      const options = def.filterable ? filterableProbeConfigSchema.parse({ filter: { pids: [4242] } }) : undefined;
      const prepared = await def.prepare(host, options);
      const events: NetEvent[] = [];
      const testdata = join(repoRoot(), 'src/probes', name, 'testdata');
      for (const file of (await readdir(testdata)).filter((f) => f.endsWith('.txt')).sort()) {
        const parser: ProbeParser = prepared.createParser();
        const text = await readFile(join(testdata, file), 'latin1');
        const results = text.split('\n').map((l) => parser.push(l));
        for (let r = parser.flush(); r.kind !== 'none'; r = parser.flush()) results.push(r);
        for (const r of results) if (r.kind === 'event') events.push(r.event);
      }
      assert.ok(events.length > 0, `${name}: no events parsed from ${testdata}/*.txt`);
      return { name, manifest, source, code: blankComments(source), prepared, host, events };
    })();
    contexts.set(def.name, c);
  }
  return c;
}

function expectNone(problems: string[]): void {
  if (problems.length > 0) assert.fail(`${problems.length} mismatch(es):\n  ${problems.join('\n  ')}`);
}

function setDiff(
  name: string,
  key: string,
  left: Iterable<string>,
  leftName: string,
  right: Iterable<string>,
  rightName: string,
): string[] {
  const l = new Set(left);
  const r = new Set(right);
  const out: string[] = [];
  for (const x of l)
    if (!r.has(x)) out.push(`${name}: manifest ${key}: ${show(x)} in ${leftName}, not in ${rightName}`);
  for (const x of r)
    if (!l.has(x)) out.push(`${name}: manifest ${key}: ${show(x)} in ${rightName}, not in ${leftName}`);
  return out;
}

// 1 -------------------------------------------------------------------------

async function checkKeys(c: ProbeContext): Promise<string[]> {
  const p: string[] = [];
  const m = c.manifest;
  for (const k of REQUIRED_KEYS) if (!(k in m)) p.push(`${c.name}: manifest: top-level key ${k} missing`);
  for (const k of Object.keys(m)) {
    if (!REQUIRED_KEYS.includes(k) && !OPTIONAL_KEYS.includes(k)) {
      p.push(`${c.name}: manifest: unexpected top-level key ${k} (expected ${REQUIRED_KEYS.join(', ')})`);
    }
  }
  if (m.name !== c.name) p.push(`${c.name}: manifest name: ${show(m.name)}, expected ${show(c.name)}`);
  if (m.program !== `${c.name}.bt`) p.push(`${c.name}: manifest program: ${show(m.program)}, expected "${c.name}.bt"`);
  if (typeof m.program === 'string' && !existsSync(join(repoRoot(), 'probes', c.name, m.program))) {
    p.push(`${c.name}: manifest program: probes/${c.name}/${m.program} does not exist`);
  }
  const event = m.event;
  if (!isObj(event)) p.push(`${c.name}: manifest event: not a mapping`);
  else {
    if (event.type !== c.name) p.push(`${c.name}: manifest event.type: ${show(event.type)}, expected ${show(c.name)}`);
    if (!Array.isArray(event.fields)) p.push(`${c.name}: manifest event.fields: not a list`);
  }
  if (!isObj(m.output)) p.push(`${c.name}: manifest output: not a mapping`);
  if (!Array.isArray(m.hooks)) p.push(`${c.name}: manifest hooks: not a list`);
  if (!Array.isArray(m.placeholders)) p.push(`${c.name}: manifest placeholders: not a list`);
  if (!isObj(m.environment)) p.push(`${c.name}: manifest environment: not a mapping`);
  if (!EVENT_TYPES.includes(c.name as (typeof EVENT_TYPES)[number])) p.push(`${c.name}: not an EVENT_TYPES entry`);
  return p;
}

// 2 -------------------------------------------------------------------------

interface Layout {
  /** Manifest key, for messages. */
  key: string;
  tags: string[];
  fields: string[];
  /** Multi-layout manifests: fields other than <...> are literal text the printf must have at that position. */
  literals: boolean;
}

/** Documented lines split on tabs (a real tab in a double-quoted YAML string, or a literal \t in a single-quoted one). */
const splitLine = (line: string): string[] => line.split(/\t|\\t/);

function checkOutput(c: ProbeContext): string[] {
  const p: string[] = [];
  const out = c.manifest.output;
  if (!isObj(out)) return [`${c.name}: manifest output: not a mapping`];
  const layouts: Layout[] = [];
  if (typeof out.line === 'string') {
    // One layout; the tag field may list alternatives (tcpretrans: retrans|synack).
    const fields = splitLine(out.line);
    layouts.push({ key: 'output.line', tags: fields[0]!.split('|'), fields, literals: false });
    const entries = out.fields;
    if (!Array.isArray(entries)) p.push(`${c.name}: manifest output.fields: not a list`);
    else {
      const positions = entries.map((f) => (isObj(f) ? f.pos : undefined));
      const expected = entries.map((_f, i) => i);
      const sorted = [...positions].sort((a, b) => Number(a) - Number(b));
      if (show(sorted) !== show(expected)) {
        p.push(`${c.name}: manifest output.fields: pos values ${show(positions)} are not 0..${entries.length - 1}`);
      }
      if (entries.length !== fields.length) {
        p.push(
          `${c.name}: manifest output.fields: ${entries.length} entries, output.line documents ${fields.length} fields`,
        );
      }
      for (const f of entries) {
        if (!isObj(f) || typeof f.pos !== 'number') continue;
        const want = f.pos === 0 ? 'tag' : fields[f.pos];
        if (f.name !== want) {
          p.push(
            `${c.name}: manifest output.fields pos ${f.pos}: name ${show(f.name)}, output.line says ${show(want)}`,
          );
        }
      }
    }
  } else if (Array.isArray(out.lines)) {
    // Several line kinds: each entry that starts with a tag is one layout; others (blank, stack frames) are not.
    out.lines.forEach((l, i) => {
      if (typeof l !== 'string') return p.push(`${c.name}: manifest output.lines[${i}]: not a string`);
      const fields = splitLine(l);
      if (/^[A-Za-z]\w*$/.test(fields[0]!)) {
        layouts.push({ key: `output.lines[${i}]`, tags: [fields[0]!], fields, literals: true });
      }
    });
  } else {
    return [`${c.name}: manifest output: neither line nor lines`];
  }

  const printed = new Set<Layout>();
  for (const pf of printfs(c.code)) {
    const lines = pf.format.split('\n');
    if (pf.format.endsWith('\n')) lines.pop();
    for (const line of lines) {
      const fields = line.split('\t');
      const tag = fields[0]!;
      if (tag === '' || tag.includes('%')) continue; // not a tagged line (e.g. the %s of kstack)
      const where = `printf at ${c.name}.bt:${pf.line} (${show(line)})`;
      const sameTag = layouts.filter((l) => l.tags.includes(tag));
      if (sameTag.length === 0) {
        p.push(`${c.name}: manifest output: ${where} prints tag ${show(tag)}, not documented`);
        continue;
      }
      const matching = sameTag.filter(
        (l) => !l.literals || l.fields.every((f, i) => i === 0 || f.trim().startsWith('<') || fields[i] === f.trim()),
      );
      if (matching.length === 0) {
        p.push(
          `${c.name}: manifest ${sameTag.map((l) => l.key).join(', ')}: no layout with tag ${show(tag)} fits ${where}` +
            ` (${sameTag.map((l) => `${l.fields.length} fields`).join(', ')}; printf has ${fields.length})`,
        );
        continue;
      }
      for (const l of matching) {
        printed.add(l);
        if (l.fields.length !== fields.length) {
          p.push(`${c.name}: manifest ${l.key}: ${l.fields.length} fields, ${where} prints ${fields.length}`);
        }
      }
    }
  }
  for (const l of layouts) {
    if (!printed.has(l)) p.push(`${c.name}: manifest ${l.key}: tag ${l.tags.join('|')} is printed by no printf`);
    else if (!l.literals) {
      for (const tag of l.tags) {
        if (!printfs(c.code).some((pf) => pf.format.startsWith(`${tag}\t`))) {
          p.push(`${c.name}: manifest ${l.key}: tag ${show(tag)} is printed by no printf`);
        }
      }
    }
  }
  return p;
}

// 3 -------------------------------------------------------------------------

const HOOK_KINDS = ['tracepoint', 'uprobe', 'uretprobe'];

function manifestHooks(c: ProbeContext, p: string[]): string[] {
  const hooks = c.manifest.hooks;
  if (!Array.isArray(hooks)) return [];
  return hooks.flatMap((h, i) => {
    const kinds = isObj(h) ? HOOK_KINDS.filter((k) => typeof h[k] === 'string') : [];
    if (!isObj(h) || kinds.length !== 1) {
      p.push(`${c.name}: manifest hooks[${i}]: needs exactly one of ${HOOK_KINDS.join(', ')}: ${show(h)}`);
      return [];
    }
    return [`${kinds[0]}:${h[kinds[0]!] as string}`];
  });
}

const hookText = (h: Hook): string =>
  h.kind === 'tracepoint' ? `tracepoint:${h.category}:${h.name}` : `${h.kind}:${h.binary}:${h.symbol}`;

function checkHooks(c: ProbeContext): string[] {
  const p: string[] = [];
  const documented = manifestHooks(c, p);
  // prepare() puts the host's libc path where the program has __LIBC__.
  const resolved = documented.map((h) => h.replaceAll('__LIBC__', c.host.libcPath));
  p.push(...setDiff(c.name, 'hooks', resolved, 'the manifest', c.prepared.hooks.map(hookText), "prepare()'s hooks"));
  p.push(...setDiff(c.name, 'hooks', documented, 'the manifest', probeHeaders(c.code), `${c.name}.bt's probe headers`));
  return p;
}

// 4 -------------------------------------------------------------------------

function checkPlaceholders(c: ProbeContext): string[] {
  const p: string[] = [];
  const list = c.manifest.placeholders;
  const texts: string[] = [];
  if (Array.isArray(list)) {
    list.forEach((ph, i) => {
      if (!isObj(ph) || typeof ph.text !== 'string' || typeof ph.replaced_by !== 'string') {
        return p.push(`${c.name}: manifest placeholders[${i}]: needs text and replaced_by strings: ${show(ph)}`);
      }
      texts.push(ph.text);
      if (!c.source.includes(ph.text)) {
        p.push(`${c.name}: manifest placeholders[${i}].text ${show(ph.text)}: not in ${c.name}.bt`);
      }
      if (c.prepared.program.includes(ph.text)) {
        p.push(`${c.name}: manifest placeholders[${i}].text ${show(ph.text)}: still in prepare()'s program`);
      }
    });
  }
  for (const t of sourcePlaceholders(c.source)) {
    if (!texts.includes(t)) p.push(`${c.name}: manifest placeholders: ${c.name}.bt has ${show(t)}, not documented`);
  }
  const env = c.manifest.environment;
  if (!isObj(env)) p.push(`${c.name}: manifest environment: not a mapping`);
  else {
    p.push(
      ...setDiff(c.name, 'environment', Object.keys(env), 'the manifest', Object.keys(c.prepared.env), 'prepare()'),
    );
    for (const [k, v] of Object.entries(c.prepared.env)) {
      if (k in env && String(env[k]) !== v) {
        p.push(`${c.name}: manifest environment.${k}: ${show(env[k])}, prepare() sets ${show(v)}`);
      }
    }
  }
  return p;
}

// 5 -------------------------------------------------------------------------

/** Named event.fields entries; '(implicit)' ones describe no event key. */
function eventFields(c: ProbeContext): Obj[] {
  const event = c.manifest.event;
  const fields = isObj(event) && Array.isArray(event.fields) ? event.fields : [];
  return fields.filter((f): f is Obj => isObj(f) && typeof f.name === 'string' && !f.name.startsWith('('));
}

function typeProblem(type: unknown, v: unknown): string | undefined {
  const ok = (() => {
    if (type === 'bigint') return typeof v === 'bigint';
    if (type === 'number') return typeof v === 'number' && Number.isFinite(v);
    if (type === 'integer') return Number.isInteger(v);
    if (type === 'string') return typeof v === 'string';
    if (type === 'boolean') return typeof v === 'boolean';
    if (type === 'string[]') return Array.isArray(v) && v.every((x) => typeof x === 'string');
    if (typeof type === 'string' && /^'[^']*'(\s*\|\s*'[^']*')*$/.test(type)) {
      return type.split('|').some((alt) => alt.trim().slice(1, -1) === v);
    }
    return undefined;
  })();
  if (ok === undefined) return `unknown type ${show(type)}`;
  return ok ? undefined : `value ${show(v)} is not ${type as string}`;
}

async function checkEventFields(c: ProbeContext): Promise<string[]> {
  const p: string[] = [];
  const fields = eventFields(c);
  const documented = new Map(fields.map((f) => [f.name as string, f]));
  // `attributes` is filled by enrichment, never by a parser; the manifests describe what the probe makes.
  const ts = await eventTsFields(c.name);
  if (!ts) return [`${c.name}: src/core/event.ts has no interface with type: '${c.name}'`];
  ts.delete('attributes');
  ts.delete('type'); // documented as event.type

  const seen = new Map<string, number>();
  const undocumented = new Set<string>();
  const typeErrors = new Set<string>();
  for (const e of c.events) {
    if (e.type !== c.name) p.push(`${c.name}: manifest event.type: an event has type ${show(e.type)}`);
    for (const [k, v] of Object.entries(e)) {
      if (k === 'type') continue;
      seen.set(k, (seen.get(k) ?? 0) + 1);
      const f = documented.get(k);
      if (!f) undocumented.add(k);
      else {
        const t = typeProblem(f.type, v);
        if (t) typeErrors.add(`${c.name}: manifest event.fields ${k}: type ${show(f.type)}: ${t}`);
      }
    }
  }
  p.push(...[...undocumented].map((k) => `${c.name}: manifest event.fields: parsed events have ${k}, not documented`));
  p.push(...typeErrors);
  for (const [name, f] of documented) {
    const n = seen.get(name) ?? 0;
    const optional = f.optional === true || ts.get(name) === true;
    if (n === 0) {
      p.push(`${c.name}: manifest event.fields ${name}: no event parsed from the recorded testdata has it`);
    } else if (n < c.events.length && !optional) {
      p.push(
        `${c.name}: manifest event.fields ${name}: missing in ${c.events.length - n} of ${c.events.length} recorded events, not marked optional`,
      );
    }
    if (!ts.has(name)) p.push(`${c.name}: manifest event.fields ${name}: not a field of the event type in event.ts`);
    else if ((f.optional === true) !== ts.get(name)) {
      p.push(
        `${c.name}: manifest event.fields ${name}: optional is ${show(f.optional ?? false)}, event.ts says ${ts.get(name) ? 'optional' : 'required'}`,
      );
    }
  }
  for (const name of ts.keys()) {
    if (!documented.has(name)) p.push(`${c.name}: manifest event.fields: event.ts field ${name} not documented`);
  }
  return p;
}

// 6 -------------------------------------------------------------------------

function checkOtel(c: ProbeContext): string[] {
  const p: string[] = [];
  const written = new Map<string, Set<string>>();
  const put = (k: string, v: AttrValue) => {
    let s = written.get(k);
    if (!s) written.set(k, (s = new Set()));
    s.add(show(v));
  };
  for (const e of c.events) forEachEventAttribute(e, { attr: put, str: put, num: put });
  const event = c.manifest.event;
  const fields = isObj(event) && Array.isArray(event.fields) ? event.fields : [];
  const named = new Set<string>();
  for (const f of fields) {
    if (!isObj(f) || typeof f.otel !== 'string') continue;
    // attribute names before any parenthesised description, several separated by ';' ('timestamp' and other
    // undotted words describe, they do not name an attribute)
    for (const part of f.otel.split('(')[0]!.split(';')) {
      const m = /^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)(?:\s*=\s*(\S+))?/.exec(part.trim());
      if (!m) continue;
      const [, attr, value] = m;
      named.add(attr!);
      const where = `${c.name}: manifest event.fields ${show(f.name)} otel ${show(f.otel)}`;
      const values = written.get(attr!);
      if (!values) {
        p.push(
          `${where}: forEachEventAttribute writes no ${attr} for the recorded events (writes ${[...written.keys()].join(', ')})`,
        );
      } else if (value !== undefined && (values.size !== 1 || !values.has(show(value)))) {
        p.push(`${where}: ${attr} has values ${[...values].join(', ')}`);
      }
    }
  }
  // and the other way: every attribute written for the recorded events is named by some field
  for (const attr of written.keys())
    if (!named.has(attr)) p.push(`${c.name}: manifest event.fields: no field names the attribute ${attr} it gets`);
  return p;
}

// ---------------------------------------------------------------------------

void test('every probe directory has a definition here and an event type', async () => {
  const dirs = (await readdir(join(repoRoot(), 'probes'), { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  assert.deepEqual(dirs, PROBES.map((d) => d.name).sort());
  assert.deepEqual([...EVENT_TYPES].sort(), dirs);
});

for (const def of PROBES) {
  void test(`${def.name}: manifest.yaml is true to the program, definition, parser and OTel mapping`, async (t) => {
    const c = await load(def);
    await t.test('1. top-level keys, name, program', async () => expectNone(await checkKeys(c)));
    await t.test('2. output lines vs printf formats', () => expectNone(checkOutput(c)));
    await t.test('3. hooks vs prepare() and probe headers', () => expectNone(checkHooks(c)));
    await t.test('4. placeholders and environment vs prepare()', () => expectNone(checkPlaceholders(c)));
    await t.test('5. event.fields vs parsed recorded events and event.ts', async () =>
      expectNone(await checkEventFields(c)),
    );
    await t.test('6. otel attribute names vs forEachEventAttribute', () => expectNone(checkOtel(c)));
  });
}
