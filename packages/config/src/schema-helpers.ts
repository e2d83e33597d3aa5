/**
 * Small building blocks shared by the schemas: objects that report unknown keys with a
 * suggestion, picklists that suggest the closest option, and name/kind patterns.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { describeValue, didYouMean } from './suggest.js';

/**
 * Pattern of pipeline, destination, connection, route and API key names.
 *
 * @example
 * ```ts
 * NAME_PATTERN.test('ga4-daily'); // true
 * ```
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/**
 * Pattern of plugin kinds (same rule as `@sluice/core`'s define functions).
 *
 * @example
 * ```ts
 * KIND_PATTERN.test('http-json'); // true
 * ```
 */
export const KIND_PATTERN = /^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*$/;

function objectMessage(keys: readonly string[], what: string) {
  return (issue: v.BaseIssue<unknown>): string => {
    if (issue.expected === 'never') {
      const key = String(issue.input);
      const hint = didYouMean(key, keys);
      return `unknown key "${key}"${hint || (keys.length > 0 ? ` (allowed: ${keys.join(', ')})` : '')}`;
    }
    if (issue.input === undefined && issue.expected?.startsWith('"')) return 'required';
    return `expected ${what}, got ${describeValue(issue.input)}`;
  };
}

/**
 * Wraps an object or record schema so an array is rejected: valibot treats arrays as objects,
 * which would let `server: []` pass as an empty server section.
 */
function rejectArrays<const TSchema extends v.GenericSchema>(
  schema: TSchema,
  what: string,
): TSchema {
  const run = schema['~run'].bind(schema);
  return {
    ...schema,
    '~run'(dataset, config) {
      if (!Array.isArray(dataset.value)) return run(dataset, config);
      const issue: v.BaseIssue<unknown> = {
        kind: 'schema',
        type: schema.type,
        input: dataset.value,
        expected: schema.expects,
        received: 'Array',
        message: `expected ${what}, got an array`,
        lang: config.lang,
        abortEarly: config.abortEarly,
        abortPipeEarly: config.abortPipeEarly,
      };
      const failed = dataset as unknown as {
        typed: false;
        value: unknown;
        issues: v.BaseIssue<unknown>[];
      };
      failed.typed = false;
      failed.issues = [...((dataset as { issues?: v.BaseIssue<unknown>[] }).issues ?? []), issue];
      return failed as ReturnType<TSchema['~run']>;
    },
  };
}

/**
 * An object whose keys the engine owns: unknown keys are reported (with a did-you-mean), not
 * silently dropped.
 *
 * @example
 * ```ts
 * const Rate = strictObject({ perMinute: v.number() }, 'a rate limit object');
 * ```
 */
export function strictObject<const TEntries extends v.ObjectEntries>(
  entries: TEntries,
  what: string,
) {
  return rejectArrays(v.strictObject(entries, objectMessage(Object.keys(entries), what)), what);
}

/**
 * An object with engine-owned keys plus plugin options (kept as they are; a plugin schema
 * checks them when a registry is available).
 *
 * @example
 * ```ts
 * const Connection = looseObject({ kind: KindSchema }, 'a connection object');
 * ```
 */
export function looseObject<const TEntries extends v.ObjectEntries>(
  entries: TEntries,
  what: string,
) {
  return rejectArrays(v.looseObject(entries, objectMessage([], what)), what);
}

/**
 * A picklist whose error names the allowed values and suggests the closest one.
 *
 * @example
 * ```ts
 * const Mode = picklist(['stop', 'continue']);
 * ```
 */
export function picklist<const TOptions extends readonly string[]>(options: TOptions) {
  return v.picklist(options, (issue) => {
    const got = typeof issue.input === 'string' ? issue.input : undefined;
    const hint = got === undefined ? '' : didYouMean(got, options);
    return `expected one of ${options.map((o) => `"${o}"`).join(', ')}, got ${describeValue(issue.input)}${hint}`;
  });
}

/**
 * A map from names to sections (`pipelines`, `destinations`, ...).
 *
 * @example
 * ```ts
 * const Pipelines = namedRecord(PipelineSchema, 'a map of pipeline names to pipelines');
 * ```
 */
export function namedRecord<const TValue extends v.GenericSchema>(value: TValue, what: string) {
  return rejectArrays(
    v.record(NameSchema, value, (issue) => `expected ${what}, got ${describeValue(issue.input)}`),
    what,
  );
}

/** A whole number, at least `min`. */
export function integer(min: number) {
  return v.pipe(v.number(), v.integer(), v.minValue(min));
}

/**
 * A name: letters, digits, `_`, `.`, `-`, starting with a letter or digit, at most 100 characters.
 *
 * @example
 * ```ts
 * v.parse(NameSchema, 'ga4-daily');
 * ```
 */
export const NameSchema = v.pipe(
  v.string(),
  v.regex(
    NAME_PATTERN,
    (issue) =>
      `invalid name ${describeValue(issue.input)}: use letters, digits, "_", "." and "-", starting with a letter or digit (at most 100 characters)`,
  ),
);

/** A reference to a named thing (existence is checked across the whole config). */
export const NameRefSchema = v.pipe(v.string(), v.minLength(1));

/**
 * A plugin kind, e.g. `database`, `ga4`, `http-json`.
 *
 * @example
 * ```ts
 * v.parse(KindSchema, 'database');
 * ```
 */
export const KindSchema = v.pipe(
  v.string(),
  v.regex(
    KIND_PATTERN,
    (issue) =>
      `invalid kind ${describeValue(issue.input)}: lower-case letters, digits and "-", "_", "." (e.g. "http-json")`,
  ),
  v.description('The plugin kind that handles this section, e.g. `database`, `ga4`, `slack`.'),
);
