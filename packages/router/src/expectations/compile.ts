/**
 * Compiles a route's or a destination's `expect` list once per route table: field paths parsed, patterns checked
 * for backtracking safety (the `matches` operator's rules), predicates compiled with the
 * router's condition compiler, bounds and actions checked. Problems are collected with their
 * config paths, so `sluice validate` names the field (`routes[0].expect[2].pattern`, `destinations.warehouse.expect[1].action`).
 *
 * @packageDocumentation
 */
import {
  EXPECTATION_ACTIONS,
  EXPECTATION_CHECKS,
  EXPECTED_TYPES,
  ConfigError,
  compileFieldPath,
  isRecord,
  readField,
  type ConfigIssue,
  type ExpectationAction,
  type ExpectationCheck,
  type ExpectationSpec,
  type ExpectedType,
  type JsonValue,
  type SluiceRecord,
} from '@sluice/core';
import { compileCondition } from '../conditions.js';
import { jsonEqual } from '../json-equal.js';
import { compileSafeRegex } from '../safe-regex.js';

/** Checks that test the whole run once, at its end. */
export const RUN_CHECKS: ReadonlySet<ExpectationCheck> = new Set(['row-count', 'freshness']);

/** Why one record (or the run) violates an expectation: what was found, what was expected. */
export interface ExpectationProblem {
  /** The value found (`undefined` when the field is missing). */
  readonly value: JsonValue | undefined;
  /** What the expectation wanted, in words (`"a number"`, `"at most 100"`). */
  readonly expected: string;
}

/** One compiled expectation. */
export interface CompiledExpectation {
  readonly name: string;
  readonly check: ExpectationCheck;
  readonly action: ExpectationAction;
  /** The field's text as configured, when the check reads one. */
  readonly field: string | undefined;
  /** Record checks (except `unique`): the problem of a record, or `undefined` when it passes. */
  readonly test?: (record: SluiceRecord) => ExpectationProblem | undefined;
  /** `unique`: the key of a record (`undefined` when the field is missing). */
  readonly key?: (record: SluiceRecord) => string | undefined;
  /** `freshness`: the field's time in ms (`undefined` when missing or not a time). */
  readonly time?: (record: SluiceRecord) => number | undefined;
  /** `row-count` bounds. */
  readonly minRatio?: number;
  readonly maxRatio?: number;
  /** `freshness` bound. */
  readonly maxAgeMs?: number;
}

const KEYS_BY_CHECK: Record<ExpectationCheck, readonly string[]> = {
  required: ['field'],
  type: ['field', 'type'],
  range: ['field', 'min', 'max'],
  pattern: ['field', 'pattern', 'flags'],
  'one-of': ['field', 'values'],
  predicate: ['when'],
  unique: ['field'],
  'row-count': ['minRatio', 'maxRatio'],
  freshness: ['field', 'maxAgeMs'],
};
const COMMON_KEYS = ['check', 'name', 'action'];

/**
 * Compiles `expect` (at config path `at`, e.g. `pipelines.daily.routes[0].expect` or
 * `destinations.warehouse.expect`). Names are unique within one list. Adds every
 * problem to `issues` and returns the expectations that compiled.
 *
 * @example
 * ```ts
 * const issues: ConfigIssue[] = [];
 * const [amount] = compileExpectations([{ check: 'range', field: 'amount', min: 0 }], 'routes[0].expect', issues);
 * amount!.test!({ amount: -1 }); // { value: -1, expected: 'at least 0' }
 * ```
 */
export function compileExpectations(
  specs: readonly ExpectationSpec[] | undefined,
  at: string,
  issues: ConfigIssue[],
): CompiledExpectation[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) {
    issues.push({ path: at, message: 'must be a list of expectations' });
    return [];
  }
  const out: CompiledExpectation[] = [];
  const names = new Map<string, number>();
  specs.forEach((spec, i) => {
    const here = `${at}[${i}]`;
    const before = issues.length;
    const compiled = compileOne(spec, here, issues);
    if (!compiled || issues.length > before) return;
    const seen = names.get(compiled.name);
    if (seen !== undefined) {
      issues.push({
        path: `${here}.name`,
        message: `duplicate expectation name "${compiled.name}" (also ${at}[${seen}]); give one a "name"`,
      });
      return;
    }
    names.set(compiled.name, i);
    out.push(compiled);
  });
  return out;
}

function compileOne(
  spec: ExpectationSpec,
  at: string,
  issues: ConfigIssue[],
): CompiledExpectation | undefined {
  const bad = (key: string, message: string) => {
    issues.push({ path: `${at}.${key}`, message });
  };
  if (!isRecord(spec)) {
    issues.push({ path: at, message: 'must be an expectation object { check, field?, action? }' });
    return undefined;
  }
  const check = spec.check;
  if (!EXPECTATION_CHECKS.includes(check)) {
    bad(
      'check',
      `unknown check ${JSON.stringify(check)} (known: ${EXPECTATION_CHECKS.join(', ')})`,
    );
    return undefined;
  }
  const allowed = new Set([...COMMON_KEYS, ...KEYS_BY_CHECK[check]]);
  for (const key of Object.keys(spec))
    if (!allowed.has(key))
      bad(key, `is not an option of check "${check}" (it takes ${[...allowed].join(', ')})`);
  const isRun = RUN_CHECKS.has(check);
  const action = spec.action ?? (isRun ? 'fail-run' : 'dead-letter');
  if (!EXPECTATION_ACTIONS.includes(action)) {
    bad(
      'action',
      `unknown action ${JSON.stringify(action)} (known: ${EXPECTATION_ACTIONS.join(', ')})`,
    );
  } else if (isRun && action !== 'warn' && action !== 'fail-run') {
    bad(
      'action',
      `check "${check}" tests the whole run, so its action is "warn" or "fail-run" (there is no one record to ${action})`,
    );
  }
  const needsField = KEYS_BY_CHECK[check].includes('field');
  let field: string | undefined;
  let read: ((record: SluiceRecord) => JsonValue | undefined) | undefined;
  if (needsField) {
    if (typeof spec.field !== 'string' || spec.field === '') {
      bad('field', `check "${check}" needs a "field" (a name or a singular JSONPath)`);
    } else {
      try {
        const path = compileFieldPath(spec.field, `${at}.field`);
        field = spec.field;
        read = (record) => readField(record, path);
      } catch (error) {
        collect(error, issues, `${at}.field`);
      }
    }
  }
  if (spec.name !== undefined && (typeof spec.name !== 'string' || spec.name.trim() === ''))
    bad('name', 'must be a non-empty string');
  const name =
    typeof spec.name === 'string' && spec.name.trim() !== ''
      ? spec.name
      : field === undefined
        ? check
        : `${check}:${field}`;
  const base = { name, check, action, field };
  const get = read ?? (() => undefined);
  switch (check) {
    case 'required':
      return {
        ...base,
        test: (r) =>
          get(r) === undefined || get(r) === null
            ? { value: get(r), expected: 'a value (the field is required)' }
            : undefined,
      };
    case 'type': {
      if (!EXPECTED_TYPES.includes(spec.type as ExpectedType)) {
        bad('type', `must be one of ${EXPECTED_TYPES.join(', ')}`);
        return undefined;
      }
      const type = spec.type as ExpectedType;
      return {
        ...base,
        test: (r) => {
          const value = get(r);
          // A missing field is the `required` check's business; the type check tests values.
          if (value === undefined || hasType(value, type)) return undefined;
          return {
            value,
            expected: `${type === 'integer' || type === 'array' || type === 'object' ? 'an' : 'a'} ${type}`,
          };
        },
      };
    }
    case 'range': {
      const { min, max } = spec;
      const bound = (key: 'min' | 'max', v: unknown) => {
        if (
          v !== undefined &&
          typeof v !== 'string' &&
          !(typeof v === 'number' && Number.isFinite(v))
        )
          bad(key, 'must be a number or a string (e.g. an ISO date)');
      };
      bound('min', min);
      bound('max', max);
      if (min === undefined && max === undefined)
        bad('min', 'check "range" needs "min", "max" or both');
      if (min !== undefined && max !== undefined) {
        if (typeof min !== typeof max)
          bad('max', `must be of the same type as "min" (${typeof min})`);
        else if (min > max)
          bad('max', `is below "min" (min ${JSON.stringify(min)} > max ${JSON.stringify(max)})`);
      }
      return {
        ...base,
        test: (r) => {
          const value = get(r);
          if (value === undefined) return undefined;
          const kind = typeof (min ?? max);
          if (typeof value !== kind)
            return { value, expected: `a ${kind} ${describeRange(min, max)}` };
          const v = value as number | string;
          if (min !== undefined && v < min) return { value, expected: describeRange(min, max) };
          if (max !== undefined && v > max) return { value, expected: describeRange(min, max) };
          return undefined;
        },
      };
    }
    case 'pattern': {
      if (typeof spec.pattern !== 'string' || spec.pattern === '') {
        bad('pattern', 'check "pattern" needs a regular expression string');
        return undefined;
      }
      if (spec.flags !== undefined && typeof spec.flags !== 'string') {
        bad('flags', 'must be a string such as "i"');
        return undefined;
      }
      let regex;
      try {
        regex = compileSafeRegex(spec.pattern, spec.flags ?? '');
      } catch (error) {
        bad(/flags/.test((error as Error).message) ? 'flags' : 'pattern', (error as Error).message);
        return undefined;
      }
      const expected = `a string matching /${spec.pattern}/${spec.flags ?? ''}`;
      return {
        ...base,
        test: (r) => {
          const value = get(r);
          if (value === undefined) return undefined;
          return typeof value === 'string' && regex.test(value) ? undefined : { value, expected };
        },
      };
    }
    case 'one-of': {
      if (!Array.isArray(spec.values) || spec.values.length === 0) {
        bad('values', 'check "one-of" needs a non-empty list of "values"');
        return undefined;
      }
      const values = spec.values;
      const expected = `one of ${JSON.stringify(values)}`;
      return {
        ...base,
        test: (r) => {
          const value = get(r);
          if (value === undefined) return undefined;
          return values.some((v) => jsonEqual(v, value)) ? undefined : { value, expected };
        },
      };
    }
    case 'predicate': {
      if (spec.when === undefined) {
        bad(
          'when',
          'check "predicate" needs a condition "when" (JSONPath, { filter } or { path, op, value })',
        );
        return undefined;
      }
      try {
        const matches = compileCondition(spec.when, `${at}.when`);
        const expected = `to match ${JSON.stringify(spec.when)}`;
        return { ...base, test: (r) => (matches(r) ? undefined : { value: r, expected }) };
      } catch (error) {
        collect(error, issues, `${at}.when`);
        return undefined;
      }
    }
    case 'unique':
      return {
        ...base,
        key: (r) => {
          const value = get(r);
          return value === undefined ? undefined : JSON.stringify(value);
        },
      };
    case 'row-count': {
      const { minRatio, maxRatio } = spec;
      for (const [key, v] of [
        ['minRatio', minRatio],
        ['maxRatio', maxRatio],
      ] as const)
        if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0))
          bad(key, 'must be a number >= 0 (records of this route or destination ÷ records read)');
      if (minRatio === undefined && maxRatio === undefined)
        bad('minRatio', 'check "row-count" needs "minRatio", "maxRatio" or both');
      if (typeof minRatio === 'number' && typeof maxRatio === 'number' && minRatio > maxRatio)
        bad('maxRatio', `is below "minRatio" (minRatio ${minRatio} > maxRatio ${maxRatio})`);
      return {
        ...base,
        ...(minRatio === undefined ? {} : { minRatio }),
        ...(maxRatio === undefined ? {} : { maxRatio }),
      };
    }
    case 'freshness': {
      const { maxAgeMs } = spec;
      if (!(typeof maxAgeMs === 'number' && Number.isSafeInteger(maxAgeMs) && maxAgeMs > 0)) {
        bad('maxAgeMs', 'check "freshness" needs "maxAgeMs", a positive integer of milliseconds');
        return undefined;
      }
      return { ...base, maxAgeMs, time: (r) => timeOf(get(r)) };
    }
  }
}

function hasType(value: JsonValue, type: ExpectedType): boolean {
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

function describeRange(min: unknown, max: unknown): string {
  if (min !== undefined && max !== undefined)
    return `between ${JSON.stringify(min)} and ${JSON.stringify(max)}`;
  return min !== undefined ? `at least ${JSON.stringify(min)}` : `at most ${JSON.stringify(max)}`;
}

/** A timestamp field as ms: an ISO 8601 string, or a number of ms since the epoch. */
function timeOf(value: JsonValue | undefined): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function collect(error: unknown, issues: ConfigIssue[], at: string): void {
  if (error instanceof ConfigError) issues.push(...error.issues);
  else issues.push({ path: at, message: (error as Error).message });
}
