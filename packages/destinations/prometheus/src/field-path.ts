/**
 * Dot paths into a record (`sessions`, `totals.revenue`, `items.0.price`): the only way the
 * Prometheus mapping reads record data — a lookup, never an expression.
 *
 * @packageDocumentation
 */
import type { JsonValue, SluiceRecord } from '@sluice/core';

const SEGMENT = /^(?:[A-Za-z_$][\w$-]*|\d+)$/;

/**
 * Tells what is wrong with a field path, or `undefined` when it is valid.
 *
 * @example
 * ```ts
 * fieldPathProblem('totals.revenue'); // undefined
 * fieldPathProblem('a..b');           // "…"
 * ```
 */
export function fieldPathProblem(path: string): string | undefined {
  const segments = path.replace(/^\$\./, '').split('.');
  return segments.every((s) => SEGMENT.test(s))
    ? undefined
    : `"${path}" is not a field path; use dot-separated keys such as "sessions" or "totals.revenue"`;
}

/**
 * Compiles a field path into a getter; `undefined` when the field is absent. A leading `$.`
 * is accepted so JSONPath-minded users are not surprised.
 *
 * @example
 * ```ts
 * compileFieldPath('totals.revenue')({ totals: { revenue: 12.5 } }); // 12.5
 * ```
 */
export function compileFieldPath(path: string): (record: SluiceRecord) => JsonValue | undefined {
  const problem = fieldPathProblem(path);
  if (problem) throw new TypeError(problem);
  const segments = path.replace(/^\$\./, '').split('.');
  return (record) => {
    let value: JsonValue | undefined = record;
    for (const key of segments) {
      if (value === null || typeof value !== 'object') return undefined;
      value = Array.isArray(value)
        ? value[Number(key)]
        : Object.hasOwn(value, key)
          ? value[key]
          : undefined;
    }
    return value;
  };
}
