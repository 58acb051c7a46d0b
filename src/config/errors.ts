/** Turning zod issues into messages a person can act on. */
import { closest, distance } from 'fastest-levenshtein';
import type { z } from 'zod';

export interface ConfigError {
  file: string;
  line: number;
  col: number;
  /** Key path, e.g. pipelines.net.processors[2] */
  path: string;
  message: string;
}

export function formatError(e: ConfigError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.path ? `${e.path}: ` : ''}${e.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** " (did you mean "x"?)" when a candidate is close enough, else "". */
export function suggest(word: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return '';
  const best = closest(word, candidates);
  const d = distance(word, best);
  return d <= Math.max(2, Math.floor(best.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

/** Keys an object schema at `path` below `schema` accepts (for suggestions). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  for (const p of [...path, undefined]) {
    s = unwrap(s);
    if (!s) return [];
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (p === undefined) {
      return def.type === 'object' ? Object.keys(def.shape as object) : [];
    }
    if (def.type === 'object') s = (def.shape as Record<string, z.ZodType>)[String(p)];
    else if (def.type === 'record') s = def.valueType as z.ZodType;
    else if (def.type === 'array') s = def.element as z.ZodType;
    else return [];
  }
  return [];
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  for (let i = 0; s && i < 10; i++) {
    const def = s._zod.def as unknown as Record<string, unknown>;
    if (
      ['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch'].includes(def.type as string)
    ) {
      s = def.innerType as z.ZodType;
    } else if (def.type === 'pipe') {
      s = def.in as z.ZodType;
    } else return s;
  }
  return s;
}

/** A human message for one zod issue (without the path). */
export function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${String(issue.minimum)} item(s)`;
      if (issue.origin === 'string') return `must be at least ${String(issue.minimum)} characters`;
      return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'array') return `may have at most ${String(issue.maximum)} item(s)`;
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters`;
      return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
    case 'invalid_type':
      return issue.input === undefined
        ? `is required (${issue.expected})`
        : `expected ${issue.expected}, got ${describe(issue.input)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(issue.input)}${
        typeof issue.input === 'string'
          ? suggest(
              issue.input,
              issue.values.filter((v): v is string => typeof v === 'string'),
            )
          : ''
      }`;
    default:
      return issue.message;
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : typeof v;
}
