/**
 * Compiles a route's `when` into a plain predicate, once per route table: JSONPath queries are
 * parsed, regexes checked and operator arguments validated up front, so evaluating a record
 * does no parsing and cannot fail on configuration.
 *
 * @packageDocumentation
 */
import {
  CONDITION_OPS,
  ConfigError,
  compileFieldPath,
  readField,
  type ConditionOp,
  type ConditionSpec,
  type ConfigIssue,
  type JsonValue,
  type SluiceRecord,
} from '@sluice/core';
import {
  compileJsonPath,
  compileJsonPathFilter,
  JsonPathSyntaxError,
  type CompiledJsonPath,
  type CompiledJsonPathFilter,
} from './jsonpath.js';
import { jsonEqual } from './json-equal.js';
import { compileSafeRegex } from './safe-regex.js';

/** A compiled condition: true when the record matches. */
export type RecordPredicate = (record: SluiceRecord) => boolean;

/**
 * Compiles a JSONPath for a config field, turning syntax errors into a `ConfigError` at `path`
 * that names the offending position.
 *
 * @example
 * ```ts
 * compileJsonPathAt('$.a[?@.b >', 'routes[2].when'); // ConfigError "routes[2].when: invalid JSONPath at position 10: ..."
 * ```
 */
export function compileJsonPathAt(query: unknown, path: string): CompiledJsonPath {
  if (typeof query !== 'string' || query === '') {
    throw new ConfigError([{ path, message: 'must be a JSONPath query string such as "$.field"' }]);
  }
  try {
    return compileJsonPath(query);
  } catch (error) {
    if (error instanceof JsonPathSyntaxError) {
      throw new ConfigError([{ path, message: `${error.message} (in ${JSON.stringify(query)})` }], {
        details: { position: error.position },
      });
    }
    throw error;
  }
}

/**
 * Compiles a record-level filter expression (`{ filter }`) for a config field, turning syntax
 * errors into a `ConfigError` at `path` that names the offending position.
 *
 * @example
 * ```ts
 * compileJsonPathFilterAt('@.sessions > 100', 'routes[0].when.filter').test({ sessions: 120 }); // true
 * ```
 */
export function compileJsonPathFilterAt(expression: unknown, path: string): CompiledJsonPathFilter {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new ConfigError([
      { path, message: 'must be a filter expression such as "@.sessions > 100"' },
    ]);
  }
  try {
    return compileJsonPathFilter(expression);
  } catch (error) {
    if (error instanceof JsonPathSyntaxError) {
      throw new ConfigError(
        [
          {
            path,
            message: `${error.message.replace('invalid JSONPath', 'invalid filter expression')} (in ${JSON.stringify(expression)})`,
          },
        ],
        {
          details: { position: error.position },
        },
      );
    }
    throw error;
  }
}

/**
 * Compiles a condition. Throws a `ConfigError` listing every problem, each with its path below
 * `path` (e.g. `routes[2].when.all[1].value`).
 *
 * @example
 * ```ts
 * const isPaid = compileCondition({ path: '$.channel', op: 'in', value: ['cpc', 'paid'] }, 'routes[0].when');
 * isPaid({ channel: 'cpc' }); // true
 * ```
 */
export function compileCondition(spec: ConditionSpec, path: string): RecordPredicate {
  const issues: ConfigIssue[] = [];
  const predicate = compileInto(spec, path, issues);
  if (issues.length > 0) throw new ConfigError(issues);
  return predicate;
}

const never: RecordPredicate = () => false;

function compileInto(spec: unknown, path: string, issues: ConfigIssue[]): RecordPredicate {
  const guard = (fn: () => RecordPredicate): RecordPredicate => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof ConfigError) issues.push(...error.issues);
      else throw error;
      return never;
    }
  };
  if (typeof spec === 'string') return guard(() => jsonPathCondition(spec, path));
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    issues.push({
      path,
      message:
        'must be a JSONPath string, { jsonpath }, { filter }, { path, op, value }, { all }, { any } or { not }',
    });
    return never;
  }
  const s = spec as Record<string, unknown>;
  const keys = Object.keys(s);
  const only = (allowed: string[]) => {
    for (const key of keys) {
      if (!allowed.includes(key)) issues.push({ path: `${path}.${key}`, message: 'unknown key' });
    }
  };
  if ('jsonpath' in s) {
    only(['jsonpath']);
    return guard(() => jsonPathCondition(s.jsonpath, `${path}.jsonpath`));
  }
  if ('filter' in s) {
    only(['filter']);
    return guard(() => {
      const filter = compileJsonPathFilterAt(s.filter, `${path}.filter`);
      return (record) => filter.test(record);
    });
  }
  if ('all' in s || 'any' in s) {
    const key = 'all' in s ? 'all' : 'any';
    only([key]);
    const list = s[key];
    if (!Array.isArray(list) || list.length === 0) {
      issues.push({ path: `${path}.${key}`, message: 'must be a non-empty list of conditions' });
      return never;
    }
    const parts = list.map((item, i) => compileInto(item, `${path}.${key}[${i}]`, issues));
    return key === 'all' ? allOf(parts) : anyOf(parts);
  }
  if ('not' in s) {
    only(['not']);
    const inner = compileInto(s.not, `${path}.not`, issues);
    return (record) => !inner(record);
  }
  if ('op' in s || 'path' in s) {
    only(['path', 'op', 'value']);
    return guard(() => structuredCondition(s, path));
  }
  issues.push({
    path,
    message:
      'must be a JSONPath string, { jsonpath }, { filter }, { path, op, value }, { all }, { any } or { not }',
  });
  return never;
}

function allOf(parts: RecordPredicate[]): RecordPredicate {
  if (parts.length === 1) return parts[0]!;
  return (record) => {
    for (const part of parts) if (!part(record)) return false;
    return true;
  };
}

function anyOf(parts: RecordPredicate[]): RecordPredicate {
  if (parts.length === 1) return parts[0]!;
  return (record) => {
    for (const part of parts) if (part(record)) return true;
    return false;
  };
}

function jsonPathCondition(query: unknown, path: string): RecordPredicate {
  const compiled = compileJsonPathAt(query, path);
  return (record) => compiled.matches(record);
}

function structuredCondition(s: Record<string, unknown>, at: string): RecordPredicate {
  const op = s.op as ConditionOp;
  if (typeof op !== 'string' || !CONDITION_OPS.includes(op)) {
    throw new ConfigError([
      { path: `${at}.op`, message: `must be one of ${CONDITION_OPS.join(', ')}` },
    ]);
  }
  // The compared value is a field: core's one field-path syntax (a name or a singular JSONPath;
  // `$` alone compares the whole record). Filters and wildcards are JSONPath conditions.
  const path = compileFieldPath(s.path, `${at}.path`, { root: true });
  const compare = compileOperator(op, s.value, `${at}.value`, 'value' in s);
  // A plain top-level name (the common case) is one own-property read.
  if (path.length === 1 && typeof path[0] === 'string') {
    const key = path[0];
    return (record) => compare(Object.hasOwn(record, key) ? record[key] : undefined);
  }
  return (record) => compare(readField(record, path));
}

type ValueTest = (actual: JsonValue | undefined) => boolean;

/**
 * Compiles one operator with its configured operand into a test of the value found at the
 * condition's path (`undefined` when the path selects nothing). Exported for the `drop`
 * transform and for tests.
 *
 * @example
 * ```ts
 * compileOperator('gte', 10, 'when.value', true)(12); // true
 * ```
 */
export function compileOperator(
  op: ConditionOp,
  value: unknown,
  at: string,
  hasValue: boolean,
): ValueTest {
  const bad = (message: string): never => {
    throw new ConfigError([{ path: at, message }]);
  };
  const need = () => {
    if (!hasValue || value === undefined) bad(`is required by operator "${op}"`);
  };
  switch (op) {
    case 'eq':
      need();
      // A primitive equals only itself (jsonEqual's first test), so === is the whole comparison.
      if (value === null || typeof value !== 'object') return (actual) => actual === value;
      return (actual) => jsonEqual(actual, value as JsonValue);
    case 'ne':
      need();
      if (value === null || typeof value !== 'object') return (actual) => actual !== value;
      return (actual) => !jsonEqual(actual, value as JsonValue);
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte': {
      need();
      if (typeof value !== 'number' && typeof value !== 'string') {
        bad(`must be a number or a string for operator "${op}"`);
      }
      const limit = value as number | string;
      const ok =
        op === 'lt'
          ? (c: number) => c < 0
          : op === 'lte'
            ? (c: number) => c <= 0
            : op === 'gt'
              ? (c: number) => c > 0
              : (c: number) => c >= 0;
      // Only like compares with like: numbers with numbers, strings (e.g. ISO dates) with strings.
      return (actual) =>
        typeof actual === typeof limit &&
        ok((actual as number | string) < limit ? -1 : (actual as number | string) > limit ? 1 : 0);
    }
    case 'in':
    case 'nin': {
      need();
      if (!Array.isArray(value)) bad(`must be a list for operator "${op}"`);
      const list = value as JsonValue[];
      const primitives = new Set(list.filter((x) => x === null || typeof x !== 'object'));
      const objects = list.filter((x) => x !== null && typeof x === 'object');
      const member =
        objects.length === 0
          ? (actual: JsonValue | undefined) =>
              actual !== undefined && primitives.has(actual as never)
          : (actual: JsonValue | undefined) =>
              actual !== undefined &&
              (primitives.has(actual as never) || objects.some((o) => jsonEqual(o, actual)));
      return op === 'in' ? member : (actual) => !member(actual);
    }
    case 'exists': {
      const expected = hasValue && value !== undefined ? value : true;
      if (typeof expected !== 'boolean') bad('must be true or false for operator "exists"');
      return (actual) => (actual !== undefined) === expected;
    }
    case 'contains':
      need();
      return (actual) => {
        if (typeof actual === 'string') return typeof value === 'string' && actual.includes(value);
        if (Array.isArray(actual))
          return actual.some((item) => jsonEqual(item, value as JsonValue));
        return false;
      };
    case 'startsWith':
    case 'endsWith': {
      need();
      if (typeof value !== 'string') bad(`must be a string for operator "${op}"`);
      const affix = value as string;
      return op === 'startsWith'
        ? (actual) => typeof actual === 'string' && actual.startsWith(affix)
        : (actual) => typeof actual === 'string' && actual.endsWith(affix);
    }
    case 'matches': {
      need();
      let pattern: unknown = value;
      let flags: unknown = '';
      let maxLength: unknown;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        ({ pattern, flags = '', maxLength } = value as Record<string, unknown>);
      }
      if (typeof pattern !== 'string') {
        bad('must be a pattern string or { pattern, flags?, maxLength? } for operator "matches"');
      }
      if (typeof flags !== 'string') bad('flags must be a string such as "i"');
      if (maxLength !== undefined && (!Number.isInteger(maxLength) || (maxLength as number) < 1)) {
        bad('maxLength must be a positive integer');
      }
      let regex;
      try {
        regex = compileSafeRegex(
          pattern as string,
          flags as string,
          maxLength as number | undefined,
        );
      } catch (error) {
        return bad((error as Error).message);
      }
      return (actual) => typeof actual === 'string' && regex.test(actual);
    }
    default:
      return bad(`unknown operator "${String(op)}"`);
  }
}
