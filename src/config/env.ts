/**
 * `${env:NAME}` and `${env:NAME:-default}` substitution in string values,
 * like the OpenTelemetry Collector; `$$` stands for a literal `$`. A value
 * that is exactly one reference takes the type the text reads as (a port
 * number stays a number), unless the schema wants a string there (load.ts:
 * a token or password that happens to be all digits keeps its text).
 */
const REF = /\$\$|\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type Env = Readonly<Record<string, string | undefined>>;

export type Substituted = { ok: true; value: string | number | boolean } | { ok: false; error: string };

/** `typed`: a value that is exactly one reference may become a number or boolean (false: always a string). */
export function substituteEnv(text: string, env: Env, typed = true): Substituted {
  if (!text.includes('$')) return { ok: true, value: text };
  let missing: string | undefined;
  let refs = 0;
  const out = text.replace(REF, (m, name: string | undefined, dflt: string | undefined) => {
    if (m === '$$') return '$';
    refs++;
    const v = env[name!];
    if (v !== undefined && v !== '') return v;
    if (dflt !== undefined) return dflt;
    missing ??= name;
    return '';
  });
  if (missing !== undefined) {
    return {
      ok: false,
      error: `environment variable ${missing} is not set and has no default (write \${env:${missing}:-value})`,
    };
  }
  const whole = typed && refs === 1 && /^\$\{env:[^}]*\}$/.test(text);
  if (whole) {
    if (/^-?\d+(\.\d+)?$/.test(out)) return { ok: true, value: Number(out) };
    if (out === 'true' || out === 'false') return { ok: true, value: out === 'true' };
  }
  return { ok: true, value: out };
}
