/**
 * Loading a pipeline file: YAML (with positions) → ${env:} substitution →
 * the top-level schema → each component's own schema → cross-references.
 * Every problem is collected (not just the first) with file, line, column
 * and key path, and a "did you mean" where a typo is likely.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Scalar } from 'yaml';
import type { z } from 'zod';
import { formatPath, issueMessage, knownKeysAt, suggest, type ConfigError } from './errors.js';
import { substituteEnv, type Env } from './env.js';
import { componentType, configFileSchema, type Config } from './schema.js';

export interface SchemaOwner {
  configSchema: z.ZodType;
}

/** What the loader needs to know about the available components. */
export interface ComponentCatalog {
  probes: ReadonlyMap<string, SchemaOwner>;
  processors: ReadonlyMap<string, SchemaOwner>;
  exporters: ReadonlyMap<string, SchemaOwner>;
}

export type LoadResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

const SECTIONS = ['probes', 'processors', 'exporters'] as const;
const SECTION_NOUN = { probes: 'probe', processors: 'processor', exporters: 'exporter' } as const;

export async function loadConfigFile(file: string, catalog: ComponentCatalog, env: Env): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e: unknown) {
    const msg = e instanceof Error ? e.message : String(e);
    return { ok: false, errors: [{ file, line: 0, col: 0, path: '', message: `cannot read the file: ${msg}` }] };
  }
  return loadConfigText(text, file, catalog, env);
}

export function loadConfigText(text: string, file: string, catalog: ComponentCatalog, env: Env): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const errors: ConfigError[] = [];
  const at = (offset: number | undefined, path: readonly PropertyKey[], message: string): void => {
    const pos = offset === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset);
    errors.push({ file, line: pos.line, col: pos.col, path: formatPath(path), message });
  };

  for (const e of doc.errors) {
    at(e.pos[0], [], e.message.split('\n')[0] ?? e.message);
  }
  if (errors.length) return { ok: false, errors };
  if (!isMap(doc.contents)) {
    at(0, [], 'the file must be a YAML map with probes, processors, exporters and pipelines');
    return { ok: false, errors };
  }

  // ${env:...} substitution in place, so positions stay with the original text.
  /** Plain whole-value references that became a number or boolean, with their text (by path). */
  const typedRefs = new Map<string, { node: Scalar; text: string }>();
  visit(doc, {
    Scalar(_key, node, path) {
      if (typeof node.value !== 'string') return;
      const r = substituteEnv(node.value, env);
      if (r.ok) {
        if (typeof r.value !== 'string') {
          const text = substituteEnv(node.value, env, false);
          if (text.ok) typedRefs.set(formatPath(nodePath(path)), { node, text: String(text.value) });
        }
        node.value = r.value;
      } else at(node.range?.[0], nodePath(path), r.error);
    },
  });
  // Where the schema wants a string (a token of digits, a header), such a value stays the text it was.
  if (typedRefs.size > 0) {
    for (const path of stringsWanted(doc.toJS() as Record<string, unknown>, catalog)) {
      const ref = typedRefs.get(path);
      if (ref) ref.node.value = ref.text;
    }
  }

  const envErrorPaths = new Set(errors.map((e) => e.path));
  const raw = doc.toJS() as Record<string, unknown>;
  const top = configFileSchema.safeParse(raw, { reportInput: true });
  if (!top.success) {
    const issues = top.error.issues.filter((i) => !envErrorPaths.has(formatPath(i.path)));
    reportIssues(doc, issues, [], configFileSchema, at);
  }

  const config: Config = {
    probes: new Map(),
    processors: new Map(),
    exporters: new Map(),
    pipelines: new Map(Object.entries(top.data?.pipelines ?? {})),
    telemetry: top.data?.telemetry ?? configFileSchema.shape.telemetry.parse(undefined),
    runtime: top.data?.runtime ?? configFileSchema.shape.runtime.parse(undefined),
  };

  const sectionBodies = (section: (typeof SECTIONS)[number]): Record<string, unknown> => {
    const v = top.data?.[section] ?? raw[section];
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  };

  for (const section of SECTIONS) {
    const factories = catalog[section];
    for (const [id, body] of Object.entries(sectionBodies(section))) {
      const type = componentType(id);
      const factory = factories.get(type);
      if (!factory) {
        const keyNode = keyNodeOf(doc, [section], id);
        at(
          keyNode?.range?.[0],
          [section, id],
          `unknown ${SECTION_NOUN[section]} type "${type}"${suggest(type, [...factories.keys()])}; known: ${[...factories.keys()].join(', ')}`,
        );
        continue;
      }
      const parsed = factory.configSchema.safeParse(body ?? {}, { reportInput: true });
      if (!parsed.success) {
        const issues = parsed.error.issues.filter((i) => !envErrorPaths.has(formatPath([section, id, ...i.path])));
        reportIssues(doc, issues, [section, id], factory.configSchema, at);
        continue;
      }
      config[section].set(id, { type, config: parsed.data });
    }
  }

  for (const [name, p] of config.pipelines) {
    for (const section of SECTIONS) {
      const ids = p[section];
      const defined = Object.keys(sectionBodies(section));
      ids.forEach((id, i) => {
        if (!defined.includes(id)) {
          const node = doc.getIn(['pipelines', name, section, i], true) as Node | undefined;
          at(
            node?.range?.[0],
            ['pipelines', name, section, i],
            `${SECTION_NOUN[section]} "${id}" is not defined under ${section}:${suggest(id, defined)}`,
          );
        }
      });
      const seen = new Set<string>();
      ids.forEach((id, i) => {
        if (seen.has(id)) {
          const node = doc.getIn(['pipelines', name, section, i], true) as Node | undefined;
          at(node?.range?.[0], ['pipelines', name, section, i], `"${id}" is listed twice`);
        }
        seen.add(id);
      });
    }
  }

  errors.sort((a, b) => a.line - b.line || a.col - b.col);
  return errors.length ? { ok: false, errors } : { ok: true, config };
}

/** Paths (formatted) where the file's schemas expect a string and got something else. */
function stringsWanted(raw: Record<string, unknown>, catalog: ComponentCatalog): Set<string> {
  const out = new Set<string>();
  const collect = (issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): void => {
    for (const i of issues) {
      const wantsString =
        (i.code === 'invalid_type' && i.expected === 'string') ||
        (i.code === 'invalid_union' &&
          i.errors.some((branch) => branch.some((b) => b.code === 'invalid_type' && b.expected === 'string')));
      if (wantsString) out.add(formatPath([...prefix, ...i.path]));
    }
  };
  const top = configFileSchema.safeParse(raw);
  if (!top.success) collect(top.error.issues, []);
  for (const section of SECTIONS) {
    const bodies = raw[section];
    if (!bodies || typeof bodies !== 'object') continue;
    for (const [id, body] of Object.entries(bodies)) {
      const parsed = catalog[section].get(componentType(id))?.configSchema.safeParse(body ?? {});
      if (parsed && !parsed.success) collect(parsed.error.issues, [section, id]);
    }
  }
  return out;
}

function reportIssues(
  doc: Document,
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[],
  schema: z.ZodType,
  at: (offset: number | undefined, path: readonly PropertyKey[], message: string) => void,
): void {
  for (const issue of issues) {
    const rel = issue.path;
    const full = [...prefix, ...rel];
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, rel);
      for (const key of issue.keys) {
        const k = keyNodeOf(doc, full, key);
        at(
          k?.range?.[0],
          [...full, key],
          `unknown key${suggest(key, known)}${known.length ? `; valid keys: ${known.join(', ')}` : ''}`,
        );
      }
      continue;
    }
    at(nearestNode(doc, full)?.range?.[0], full, issueMessage(issue));
  }
}

/** The node at `path`, or the closest ancestor that exists (for missing keys). */
function nearestNode(doc: Document, path: readonly PropertyKey[]): Node | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as Node | undefined;
    // For a missing key this is the map that should hold it.
    if (node && (isScalar(node) || isMap(node) || isSeq(node))) return node;
  }
  return doc.contents ?? undefined;
}

function keyNodeOf(doc: Document, mapPath: readonly PropertyKey[], key: string): Node | undefined {
  const map = doc.getIn(mapPath as unknown[], true);
  if (!isMap(map)) return undefined;
  for (const pair of map.items) {
    if (isScalar(pair.key) && String(pair.key.value) === key) return pair.key;
  }
  return undefined;
}

function nodePath(ancestors: readonly unknown[]): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (let i = 0; i < ancestors.length; i++) {
    const a = ancestors[i];
    const next = ancestors[i + 1];
    if (isMap(a) && next && typeof next === 'object' && 'key' in next) {
      const k = next.key;
      if (isScalar(k)) out.push(String(k.value));
    } else if (isSeq(a) && next) {
      out.push(a.items.indexOf(next));
    }
  }
  return out;
}
