/**
 * Built-in transforms that reshape a record without computing anything: pick, omit, rename,
 * set, flatten, unnest and drop.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import {
  ConfigError,
  compileFieldPath,
  defineTransform,
  deleteField,
  formatFieldPath,
  isRecord,
  readField,
  setField,
  type FieldPath,
  type JsonValue,
  type SluiceRecord,
} from '@sluice/core';
import { compileCondition, compileJsonPathAt } from '../conditions.js';

const fieldRef = v.pipe(v.string(), v.minLength(1, 'must be a field name or a singular JSONPath'));
const fieldList = (description: string) =>
  v.pipe(
    v.array(fieldRef),
    v.minLength(1, 'must list at least one field'),
    v.description(description),
    v.metadata({ examples: [['date', 'channel', '$.utm.source']] }),
  );

function compileFields(fields: readonly string[], at: string): FieldPath[] {
  return fields.map((field, i) => compileFieldPath(field, `${at}[${i}]`));
}

/**
 * `pick`: keeps only the listed fields (plain keys or singular JSONPaths; nested ones keep
 * their nesting). Absent fields are skipped.
 *
 * @example
 * ```ts
 * // { kind: 'pick', fields: ['date', '$.utm.source'] }
 * // { date: 'd', utm: { source: 's', medium: 'm' }, x: 1 } -> { date: 'd', utm: { source: 's' } }
 * ```
 */
export const pickTransform = defineTransform({
  kind: 'pick',
  version: '1.0.0',
  description: 'Keeps only the listed fields.',
  configSchema: v.strictObject({
    fields: fieldList(
      'Fields to keep: names or singular JSONPaths (nested ones keep their nesting).',
    ),
  }),
  create({ fields }) {
    const paths = compileFields(fields, 'fields');
    if (paths.every((p) => p.length === 1 && typeof p[0] === 'string')) {
      const keys = paths.map((p) => p[0] as string);
      return (record) => {
        const out: SluiceRecord = {};
        for (const key of keys) {
          if (Object.hasOwn(record, key)) {
            Object.defineProperty(out, key, {
              value: record[key],
              enumerable: true,
              writable: true,
              configurable: true,
            });
          }
        }
        return out;
      };
    }
    return (record) => {
      let out: SluiceRecord = {};
      for (const path of paths) {
        const value = readField(record, path);
        if (value !== undefined) out = setField(out, path, value);
      }
      return out;
    };
  },
});

/**
 * `omit`: removes the listed fields.
 *
 * @example
 * ```ts
 * // { kind: 'omit', fields: ['email', '$.user.phone'] }
 * ```
 */
export const omitTransform = defineTransform({
  kind: 'omit',
  version: '1.0.0',
  description: 'Removes the listed fields.',
  configSchema: v.strictObject({
    fields: fieldList('Fields to remove: names or singular JSONPaths.'),
  }),
  create({ fields }) {
    const paths = compileFields(fields, 'fields');
    if (paths.every((p) => p.length === 1 && typeof p[0] === 'string')) {
      // Top-level names: one copy of the kept members, in their order (deleting from a copy per
      // field made a copy each, and `delete` leaves V8 a slow dictionary-mode object).
      const omitted = new Set(paths.map((p) => p[0] as string));
      return (record) => {
        const out: SluiceRecord = {};
        for (const key of Object.keys(record)) {
          if (omitted.has(key)) continue;
          if (key === '__proto__')
            Object.defineProperty(out, key, {
              value: record[key],
              enumerable: true,
              writable: true,
              configurable: true,
            });
          else out[key] = record[key]!;
        }
        return out;
      };
    }
    return (record) => {
      let out = record;
      for (const path of paths) out = deleteField(out, path);
      return out === record ? { ...record } : out;
    };
  },
});

/**
 * `rename`: moves fields to new names (`{ from: to }`); absent source fields are skipped.
 *
 * @example
 * ```ts
 * // { kind: 'rename', fields: { sessions: 'visits', '$.utm.source': 'source' } }
 * ```
 */
export const renameTransform = defineTransform({
  kind: 'rename',
  version: '1.0.0',
  description: 'Renames fields.',
  configSchema: v.strictObject({
    fields: v.pipe(
      v.record(v.string(), fieldRef),
      v.check((r) => Object.keys(r).length > 0, 'must map at least one field'),
      v.description(
        'Old name → new name (either may be a singular JSONPath); absent fields are skipped.',
      ),
      v.metadata({ examples: [{ sessionDefaultChannelGroup: 'channel' }] }),
    ),
  }),
  create({ fields }) {
    const pairs = Object.entries(fields).map(
      ([from, to]) =>
        [
          compileFieldPath(from, `fields[${JSON.stringify(from)}]`),
          compileFieldPath(to, `fields[${JSON.stringify(from)}]`),
        ] as const,
    );
    return (record) => {
      let out = record;
      for (const [from, to] of pairs) {
        const value = readField(out, from);
        if (value === undefined) continue;
        out = setField(deleteField(out, from), to, value);
      }
      return out === record ? { ...record } : out;
    };
  },
});

const jsonValue: v.GenericSchema<JsonValue> = v.lazy(() =>
  v.union([
    v.string(),
    v.number(),
    v.boolean(),
    v.null(),
    v.array(jsonValue),
    v.record(v.string(), jsonValue),
  ]),
);

/**
 * `set`: sets a field to a constant (`value`) or to what a JSONPath selects (`from`: a singular
 * query gives its value, or `null` when absent; any other query gives the list of values).
 *
 * @example
 * ```ts
 * // { kind: 'set', field: 'source', value: 'ga4' }
 * // { kind: 'set', field: 'skus', from: '$.items[*].sku' }
 * ```
 */
export const setTransform = defineTransform({
  kind: 'set',
  version: '1.0.0',
  description: 'Sets a field to a constant or to the result of a JSONPath.',
  configSchema: v.pipe(
    v.strictObject({
      field: v.pipe(
        fieldRef,
        v.description('Field (name or singular JSONPath) to set.'),
        v.metadata({ examples: ['source'] }),
      ),
      value: v.optional(
        v.pipe(
          jsonValue,
          v.description('A constant JSON value. Give exactly one of `value` and `from`.'),
        ),
      ),
      from: v.optional(
        v.pipe(
          v.string(),
          v.description(
            'A JSONPath: a singular query gives its value (null when absent), any other the list of values. Give exactly one of `value` and `from`.',
          ),
          v.metadata({ examples: ['$.items[*].sku'] }),
        ),
      ),
    }),
    v.check(
      (c) => (c.value === undefined) !== (c.from === undefined),
      'set needs exactly one of "value" or "from"',
    ),
  ),
  create({ field, value, from }) {
    const target = compileFieldPath(field, 'field');
    if (from === undefined) {
      const constant = value as JsonValue;
      // Each record gets its own copy of an object constant, so no two records share state.
      if (constant !== null && typeof constant === 'object') {
        return (record) => setField(record, target, structuredClone(constant));
      }
      return (record) => setField(record, target, constant);
    }
    const query = compileJsonPathAt(from, 'from');
    if (query.singular) return (record) => setField(record, target, query.first(record) ?? null);
    return (record) => setField(record, target, query.values(record));
  },
});

/**
 * `flatten`: turns nested objects into top-level keys joined by `separator` (default `.`);
 * arrays stay values unless `arrays: 'index'`. With `field`, only that field is flattened.
 *
 * @example
 * ```ts
 * // { kind: 'flatten' }: { utm: { source: 's' }, n: 1 } -> { 'utm.source': 's', n: 1 }
 * ```
 */
export const flattenTransform = defineTransform({
  kind: 'flatten',
  version: '1.0.0',
  description: 'Flattens nested objects into dotted top-level keys.',
  configSchema: v.strictObject({
    separator: v.optional(
      v.pipe(v.string(), v.description('Text joining the keys of nested levels.')),
      '.',
    ),
    field: v.optional(
      v.pipe(
        fieldRef,
        v.description(
          'Flatten only this field (name or singular JSONPath). Absent: the whole record.',
        ),
      ),
    ),
    arrays: v.optional(
      v.pipe(
        v.picklist(['keep', 'index']),
        v.description('`keep` arrays as values, or flatten them by `index` (`items.0.sku`).'),
      ),
      'keep',
    ),
    maxDepth: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1),
        v.description('Levels flattened; deeper values stay as they are.'),
      ),
      32,
    ),
  }),
  create({ separator, field, arrays, maxDepth }) {
    const only = field === undefined ? undefined : compileFieldPath(field, 'field');
    const walk = (out: SluiceRecord, prefix: string, value: JsonValue, depth: number) => {
      const nested =
        value !== null &&
        typeof value === 'object' &&
        (arrays === 'index' || !Array.isArray(value));
      if (
        !nested ||
        depth > maxDepth ||
        (Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0)
      ) {
        Object.defineProperty(out, prefix, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        return;
      }
      const entries: [string, JsonValue][] = Array.isArray(value)
        ? value.map((item, i) => [String(i), item])
        : Object.entries(value);
      for (const [key, item] of entries)
        walk(out, prefix === '' ? key : `${prefix}${separator}${key}`, item, depth + 1);
    };
    return (record) => {
      if (only === undefined) {
        const out: SluiceRecord = {};
        for (const [key, value] of Object.entries(record)) walk(out, key, value, 1);
        return out;
      }
      const value = readField(record, only);
      if (value === undefined) return { ...record };
      const out = deleteField(record, only);
      const flat: SluiceRecord = {};
      walk(flat, only.map(String).join(separator), value, 1);
      return { ...out, ...flat };
    };
  },
});

/**
 * `unnest`: one record per element of the array at `field`; each output record carries the
 * element in place of the array (or under `as`). An empty or absent array yields no record.
 *
 * @example
 * ```ts
 * // { kind: 'unnest', field: 'items', as: 'item' }
 * // { order: 1, items: [{ sku: 'a' }, { sku: 'b' }] } -> { order: 1, item: { sku: 'a' } }, { order: 1, item: { sku: 'b' } }
 * ```
 */
export const unnestTransform = defineTransform({
  kind: 'unnest',
  version: '1.0.0',
  description: 'Emits one record per element of an array field.',
  configSchema: v.strictObject({
    field: v.pipe(
      fieldRef,
      v.description('The array field (name or singular JSONPath); one record per element.'),
      v.metadata({ examples: ['items'] }),
    ),
    as: v.optional(
      v.pipe(
        fieldRef,
        v.description('Where each element goes. Absent: in place of the array.'),
        v.metadata({ examples: ['item'] }),
      ),
    ),
    /** Elements that are objects are merged into the record instead of nested. */
    merge: v.optional(
      v.pipe(
        v.boolean(),
        v.description('Merge each element (an object) into the record instead of nesting it.'),
      ),
      false,
    ),
    maxElements: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1),
        v.description('Largest array accepted; a longer one fails the record.'),
      ),
      100_000,
    ),
  }),
  create({ field, as, merge, maxElements }) {
    const source = compileFieldPath(field, 'field');
    const target = as === undefined ? source : compileFieldPath(as, 'as');
    return (record) => {
      const list = readField(record, source);
      if (list === undefined || list === null) return [];
      if (!Array.isArray(list))
        throw new TypeError(`unnest: field ${formatFieldPath(source)} is not an array`);
      if (list.length > maxElements) {
        throw new RangeError(
          `unnest: field ${formatFieldPath(source)} has ${list.length} elements, more than maxElements (${maxElements})`,
        );
      }
      const base = deleteField(record, source);
      return list.map((item) => {
        if (merge) {
          if (!isRecord(item))
            throw new TypeError(
              `unnest: an element of ${formatFieldPath(source)} is not an object, cannot merge`,
            );
          return { ...base, ...item };
        }
        return setField(base, target, item);
      });
    };
  },
});

/**
 * `drop`: drops the record (counted as dropped), or only when `when` matches.
 *
 * @example
 * ```ts
 * // { kind: 'drop', when: { path: '$.sessions', op: 'eq', value: 0 } }
 * ```
 */
export const dropTransform = defineTransform({
  kind: 'drop',
  version: '1.0.0',
  description: 'Drops the record, optionally only when a condition matches.',
  configSchema: v.strictObject({
    when: v.optional(
      v.pipe(
        v.unknown(),
        v.description(
          "Drop only the records this condition matches (same forms as a route's `when`). Absent: drop every record.",
        ),
        v.metadata({ examples: [{ path: '$.sessions', op: 'eq', value: 0 }] }),
      ),
    ),
  }),
  create({ when }) {
    if (when === undefined) return () => null;
    let predicate;
    try {
      predicate = compileCondition(when as never, 'when');
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConfigError([{ path: 'when', message: (error as Error).message }]);
    }
    return (record) => (predicate(record) ? null : record);
  },
});
