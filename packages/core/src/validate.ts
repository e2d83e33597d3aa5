import * as v from 'valibot';
import { ConfigError, type ConfigIssue } from './errors.js';

/**
 * Formats a path made of keys and indexes the way Sluice reports it: `a.b[2].c`.
 * Keys that are not plain identifiers are quoted: `headers["x-api-key"]`.
 *
 * @example
 * ```ts
 * formatPath(['pipelines', 'daily', 'routes', 2, 'to', 0]); // "pipelines.daily.routes[2].to[0]"
 * ```
 */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * Converts valibot issues into Sluice config issues with paths, prefixed by `prefix`.
 *
 * @example
 * ```ts
 * const result = v.safeParse(schema, input);
 * if (!result.success) throw new ConfigError(issuesFromValibot(result.issues, ['destinations', 'db']));
 * ```
 */
export function issuesFromValibot(
  issues: readonly v.BaseIssue<unknown>[],
  prefix: readonly (string | number)[] = [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const segments: (string | number)[] = [...prefix];
    for (const item of issue.path ?? []) {
      const key = (item as { key: unknown }).key;
      if (typeof key === 'string' || typeof key === 'number') segments.push(key);
    }
    out.push({ path: formatPath(segments), message: issue.message });
  }
  return out;
}

/**
 * Validates `input` against a valibot schema and returns the typed output, or throws a
 * {@link ConfigError} listing every issue with its path (prefixed by `prefix`).
 *
 * @example
 * ```ts
 * const config = parseConfig(v.object({ url: v.string() }), raw, ['destinations', 'hook']);
 * ```
 */
export function parseConfig<const TSchema extends v.GenericSchema>(
  schema: TSchema,
  input: unknown,
  prefix: readonly (string | number)[] = [],
): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  throw new ConfigError(issuesFromValibot(result.issues, prefix));
}
