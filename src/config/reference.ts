/**
 * Markdown reference of the pipeline file, generated from the zod schemas
 * (top level and every registered component), so the docs cannot drift.
 */
import { z } from 'zod';
import type { Registry } from '../registry.js';
import { configFileSchema, pipelineSchema, runtimeSchema, telemetrySchema } from './schema.js';

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  default?: unknown;
  description?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  required?: string[];
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(' \\| ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && !s.properties) return 'map';
  const t = Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
  const range =
    s.minimum !== undefined || s.maximum !== undefined
      ? ` (${s.minimum ?? ''}..${s.maximum !== undefined && s.maximum < 1e15 ? s.maximum : ''})`
      : '';
  return t + range;
}

function rows(s: JsonSchema, prefix: string, out: string[]): void {
  for (const [key, prop] of Object.entries(s.properties ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    const dflt =
      prop.default === undefined ||
      (typeof prop.default === 'object' &&
        prop.default !== null &&
        !Array.isArray(prop.default) &&
        Object.keys(prop.default).length > 0)
        ? ''
        : `\`${JSON.stringify(prop.default)}\``;
    const required = s.required?.includes(key) && prop.default === undefined ? ' (required)' : '';
    out.push(
      `| \`${path}\` | ${typeOf(prop)} | ${dflt} | ${(prop.description ?? '').replace(/\n/g, ' ')}${required} |`,
    );
    if (prop.properties) rows(prop, path, out);
  }
}

function table(schema: z.ZodType): string {
  const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const out = ['| key | type | default | description |', '| --- | --- | --- | --- |'];
  rows(js, '', out);
  return out.length > 2 ? out.join('\n') : '_no options_';
}

export function configReference(registry: Registry): string {
  const parts: string[] = [
    '# Pipeline file reference',
    '',
    '_Generated from the schemas by `npm run reference`; do not edit by hand._',
    '',
    'A pipeline file has five top-level keys. Components are named `type` or `type/name` (as in the OpenTelemetry Collector), so one type can be configured several times. `${env:NAME}` and `${env:NAME:-default}` are replaced by environment variables in every string value; `$$` is a literal `$`. A value that is exactly one reference reads as a number or boolean when its text is one (a port), except where a string is expected (a header or password of digits keeps its text).',
    '',
    '```yaml',
    'probes:      { <probe id>: <probe options> }',
    'processors:  { <processor id>: <processor options> }',
    'exporters:   { <exporter id>: <exporter options> }',
    'pipelines:   { <name>: { probes: [ids], processors: [ids], exporters: [ids] } }',
    'telemetry:   { log_level: info, ... }',
    '```',
    '',
    '## Top level',
    '',
    table(configFileSchema),
    '',
    '## pipelines.&lt;name&gt;',
    '',
    table(pipelineSchema),
    '',
    '## telemetry',
    '',
    table(telemetrySchema),
    '',
    '## runtime',
    '',
    table(runtimeSchema),
    '',
  ];
  const section = (title: string, entries: ReadonlyMap<string, { configSchema: z.ZodType }>) => {
    parts.push(`## ${title}`, '');
    for (const [type, f] of [...entries].sort(([a], [b]) => a.localeCompare(b))) {
      parts.push(`### ${type}`, '', table(f.configSchema), '');
    }
  };
  section('Probes', registry.probes);
  section('Processors', registry.processors);
  section('Exporters', registry.exporters);
  return parts.join('\n');
}
