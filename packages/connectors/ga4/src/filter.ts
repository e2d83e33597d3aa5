import type { ConfigIssue } from '@sluice/core';
import { formatPath } from '@sluice/core';

/** A GA4 `FilterExpression` in the API's JSON shape. */
export type FilterExpression =
  | { andGroup: { expressions: FilterExpression[] } }
  | { orGroup: { expressions: FilterExpression[] } }
  | { notExpression: FilterExpression }
  | { filter: Filter };

/** One GA4 `Filter`: a field and exactly one of the filter kinds. */
export interface Filter {
  fieldName: string;
  stringFilter?: { matchType?: StringMatchType; value: string; caseSensitive?: boolean };
  inListFilter?: { values: string[]; caseSensitive?: boolean };
  numericFilter?: { operation: NumericOperation; value: NumericValue };
  betweenFilter?: { fromValue: NumericValue; toValue: NumericValue };
  emptyFilter?: Record<string, never>;
}

/** `{ int64Value: '10' }` or `{ doubleValue: 0.5 }`. */
export type NumericValue = { int64Value: string | number } | { doubleValue: number };

const MATCH_TYPES = [
  'EXACT',
  'BEGINS_WITH',
  'ENDS_WITH',
  'CONTAINS',
  'FULL_REGEXP',
  'PARTIAL_REGEXP',
] as const;
const OPERATIONS = [
  'EQUAL',
  'LESS_THAN',
  'LESS_THAN_OR_EQUAL',
  'GREATER_THAN',
  'GREATER_THAN_OR_EQUAL',
] as const;
type StringMatchType = (typeof MATCH_TYPES)[number];
type NumericOperation = (typeof OPERATIONS)[number];
const KINDS = [
  'stringFilter',
  'inListFilter',
  'numericFilter',
  'betweenFilter',
  'emptyFilter',
] as const;

const isObject = (x: unknown): x is Record<string, unknown> =>
  x !== null && typeof x === 'object' && !Array.isArray(x);

/**
 * Checks a `dimensionFilter` / `metricFilter` against the API's shape before any request: every
 * node sets exactly one of `andGroup`/`orGroup`/`notExpression`/`filter`, each filter names a
 * field of the report (`fields`) and has exactly one well-formed filter kind. Returns issues
 * with paths such as `dimensionFilter.andGroup.expressions[1].filter.fieldName`.
 *
 * @example
 * ```ts
 * filterIssues({ filter: { fieldName: 'country', stringFilter: { value: 'Germany' } } }, ['dimensionFilter'], ['country'], 'dimension');
 * // []
 * ```
 */
export function filterIssues(
  expression: unknown,
  path: (string | number)[],
  fields: readonly string[],
  kind: 'dimension' | 'metric',
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const issue = (at: (string | number)[], message: string): void =>
    void issues.push({ path: formatPath(at), message });
  const walk = (node: unknown, at: (string | number)[]): void => {
    if (!isObject(node)) return issue(at, 'must be a FilterExpression object');
    const keys = Object.keys(node);
    if (
      keys.length !== 1 ||
      !['andGroup', 'orGroup', 'notExpression', 'filter'].includes(keys[0]!)
    ) {
      return issue(
        at,
        `must have exactly one of andGroup, orGroup, notExpression, filter (got ${keys.join(', ') || 'none'})`,
      );
    }
    const key = keys[0]!;
    const value = node[key];
    if (key === 'andGroup' || key === 'orGroup') {
      const list = isObject(value) ? value.expressions : undefined;
      if (!Array.isArray(list) || list.length === 0)
        return issue([...at, key, 'expressions'], 'must be a non-empty list of FilterExpressions');
      list.forEach((item, i) => walk(item, [...at, key, 'expressions', i]));
      return;
    }
    if (key === 'notExpression') return walk(value, [...at, key]);
    const f = value;
    const fp = [...at, 'filter'];
    if (!isObject(f)) return issue(fp, 'must be a Filter object');
    if (typeof f.fieldName !== 'string' || !fields.includes(f.fieldName)) {
      issue(
        [...fp, 'fieldName'],
        `must be one of the report's ${kind}s (${fields.join(', ') || 'none'}), got ${JSON.stringify(f.fieldName)}`,
      );
    }
    const set = KINDS.filter((k) => f[k] !== undefined);
    const unknown = Object.keys(f).filter(
      (k) => k !== 'fieldName' && !(KINDS as readonly string[]).includes(k),
    );
    for (const k of unknown)
      issue([...fp, k], `is not a filter kind (use one of ${KINDS.join(', ')})`);
    if (set.length !== 1) return issue(fp, `must have exactly one of ${KINDS.join(', ')}`);
    const k = set[0]!;
    const body = f[k];
    const bp = [...fp, k];
    if (!isObject(body)) return issue(bp, 'must be an object');
    if (k === 'stringFilter') {
      if (typeof body.value !== 'string') issue([...bp, 'value'], 'must be a string');
      if (
        body.matchType !== undefined &&
        !(MATCH_TYPES as readonly unknown[]).includes(body.matchType)
      )
        issue([...bp, 'matchType'], `must be one of ${MATCH_TYPES.join(', ')}`);
      if (
        (body.matchType === 'FULL_REGEXP' || body.matchType === 'PARTIAL_REGEXP') &&
        typeof body.value === 'string'
      ) {
        try {
          new RegExp(body.value);
        } catch {
          issue([...bp, 'value'], 'is not a valid regular expression');
        }
      }
    } else if (k === 'inListFilter') {
      if (
        !Array.isArray(body.values) ||
        body.values.length === 0 ||
        !body.values.every((x) => typeof x === 'string')
      )
        issue([...bp, 'values'], 'must be a non-empty list of strings');
    } else if (k === 'numericFilter') {
      if (!(OPERATIONS as readonly unknown[]).includes(body.operation))
        issue([...bp, 'operation'], `must be one of ${OPERATIONS.join(', ')}`);
      numeric(body.value, [...bp, 'value']);
    } else if (k === 'betweenFilter') {
      numeric(body.fromValue, [...bp, 'fromValue']);
      numeric(body.toValue, [...bp, 'toValue']);
    } else if (Object.keys(body).length > 0) issue(bp, 'must be an empty object');
    if (kind === 'metric' && (k === 'stringFilter' || k === 'inListFilter'))
      issue(bp, 'metric filters compare numbers: use numericFilter or betweenFilter');
  };
  const numeric = (value: unknown, at: (string | number)[]) => {
    if (!isObject(value)) return issue(at, 'must be { int64Value } or { doubleValue }');
    if ('int64Value' in value) {
      if (!/^-?\d+$/.test(String(value.int64Value)))
        issue([...at, 'int64Value'], 'must be an integer');
    } else if ('doubleValue' in value) {
      if (typeof value.doubleValue !== 'number' || !Number.isFinite(value.doubleValue))
        issue([...at, 'doubleValue'], 'must be a finite number');
    } else issue(at, 'must be { int64Value } or { doubleValue }');
  };
  walk(expression, path);
  return issues;
}
