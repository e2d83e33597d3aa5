/**
 * Field references used by transforms: a plain key (`sessions`, also `utm.source` as one key,
 * which is what `flatten` produces) or a singular JSONPath (`$.utm.source`, `$.items[0]`).
 * Updates copy only the objects along the path, so the input record is never mutated.
 *
 * @packageDocumentation
 */
import { ConfigError, type JsonValue, type SluiceRecord } from '@sluice/core';
import { compileJsonPathAt } from './conditions.js';
import { readKeys } from './jsonpath.js';

/** A compiled field reference: the keys from the record's root to the field. */
export type FieldPath = readonly (string | number)[];

/**
 * Compiles a field reference; a `ConfigError` at `at` when it is a non-singular JSONPath.
 *
 * @example
 * ```ts
 * compileFieldPath('sessions', 'x');       // ['sessions']
 * compileFieldPath('$.utm.source', 'x');   // ['utm', 'source']
 * ```
 */
export function compileFieldPath(ref: unknown, at: string): FieldPath {
  if (typeof ref !== 'string' || ref === '') {
    throw new ConfigError([{ path: at, message: 'must be a field name or a singular JSONPath' }]);
  }
  if (!ref.startsWith('$')) return [ref];
  const query = compileJsonPathAt(ref, at);
  if (!query.singular || !query.keys || query.keys.length === 0) {
    throw new ConfigError([
      {
        path: at,
        message: `must be a singular JSONPath naming one field (e.g. "$.a.b"), got ${JSON.stringify(ref)}`,
      },
    ]);
  }
  return query.keys;
}

/**
 * Reads a field; `undefined` when absent.
 *
 * @example
 * ```ts
 * getField({ a: { b: 1 } }, ['a', 'b']); // 1
 * ```
 */
export function getField(record: SluiceRecord, path: FieldPath): JsonValue | undefined {
  if (path.length === 1 && typeof path[0] === 'string') {
    return Object.hasOwn(record, path[0]) ? record[path[0]] : undefined;
  }
  return readKeys(record, path);
}

/**
 * Returns a copy of `record` with the field set, creating intermediate objects as needed.
 * Throws when the path runs through a value that is not an object or array.
 *
 * @example
 * ```ts
 * setField({ a: 1 }, ['b', 'c'], 2); // { a: 1, b: { c: 2 } }
 * ```
 */
export function setField(record: SluiceRecord, path: FieldPath, value: JsonValue): SluiceRecord {
  return setIn(record, path, 0, value) as SluiceRecord;
}

function setIn(container: JsonValue | undefined, path: FieldPath, i: number, value: JsonValue): JsonValue {
  const key = path[i]!;
  const last = i === path.length - 1;
  if (container === undefined) container = typeof key === 'number' ? [] : {};
  if (container === null || typeof container !== 'object') {
    throw new Error(`cannot set ${describe(path)}: ${describe(path.slice(0, i))} is not an object`);
  }
  if (Array.isArray(container)) {
    if (typeof key !== 'number') {
      throw new Error(`cannot set ${describe(path)}: ${describe(path.slice(0, i))} is an array`);
    }
    const index = key < 0 ? container.length + key : key;
    if (index < 0 || index > container.length) {
      throw new Error(`cannot set ${describe(path)}: index ${key} is out of range`);
    }
    const copy = container.slice();
    copy[index] = last ? value : setIn(copy[index], path, i + 1, value);
    return copy;
  }
  if (typeof key !== 'string') {
    throw new Error(`cannot set ${describe(path)}: ${describe(path.slice(0, i))} is an object`);
  }
  // Own, enumerable, writable data property even for "__proto__": never touches a prototype.
  const copy: SluiceRecord = { ...container };
  const next = last ? value : setIn(Object.hasOwn(copy, key) ? copy[key] : undefined, path, i + 1, value);
  Object.defineProperty(copy, key, { value: next, enumerable: true, writable: true, configurable: true });
  return copy;
}

/**
 * Returns a copy of `record` without the field (the same record when the field is absent).
 *
 * @example
 * ```ts
 * deleteField({ a: 1, b: 2 }, ['b']); // { a: 1 }
 * ```
 */
export function deleteField(record: SluiceRecord, path: FieldPath): SluiceRecord {
  return deleteIn(record, path, 0) as SluiceRecord;
}

function deleteIn(container: JsonValue, path: FieldPath, i: number): JsonValue {
  const key = path[i]!;
  const last = i === path.length - 1;
  if (container === null || typeof container !== 'object') return container;
  if (Array.isArray(container)) {
    if (typeof key !== 'number') return container;
    const index = key < 0 ? container.length + key : key;
    if (index < 0 || index >= container.length) return container;
    const copy = container.slice();
    if (last) copy.splice(index, 1);
    else copy[index] = deleteIn(copy[index]!, path, i + 1);
    return copy;
  }
  if (typeof key !== 'string' || !Object.hasOwn(container, key)) return container;
  const copy: SluiceRecord = { ...container };
  if (last) delete copy[key];
  else copy[key] = deleteIn(copy[key]!, path, i + 1);
  return copy;
}

/**
 * A readable form of a field path for error messages.
 *
 * @example
 * ```ts
 * describe(['items', 0, 'sku']); // "$.items[0].sku"
 * ```
 */
export function describe(path: FieldPath): string {
  let out = '$';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : /^[A-Za-z_]\w*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return out;
}
