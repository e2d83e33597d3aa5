// Fuzzing JSONPath queries and route conditions: compiling arbitrary text either succeeds or fails
// with a typed error (JsonPathSyntaxError with a position, ConfigError with paths), and evaluating
// a compiled query or condition over arbitrary JSON never throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConditionSpec, type JsonValue } from '@sluice/core';
import {
  compileCondition,
  compileJsonPath,
  compileJsonPathAt,
  JsonPathEvaluationError,
  JsonPathSyntaxError,
} from '@sluice/router';
import { deeplyNested, fieldName, jsonPathText, jsonValue, record, scalar } from './arbitraries.js';

const RUNS = 400;

/** Runs `read`: it returns, or throws the router's typed evaluation error with a message. */
function expectEvaluatesOrTypedError(read: () => unknown, what: string): void {
  try {
    read();
  } catch (error) {
    expect(error, what).toBeInstanceOf(JsonPathEvaluationError);
    expect((error as Error).message, what).toMatch(/^JSONPath ".*" cannot be evaluated: ./s);
  }
}

function expectConfigError(error: unknown, pathPrefix: string): void {
  expect(error).toBeInstanceOf(ConfigError);
  const issues = (error as ConfigError).issues;
  expect(issues.length).toBeGreaterThan(0);
  for (const issue of issues) {
    expect(issue.path.startsWith(pathPrefix), `${issue.path} is under ${pathPrefix}`).toBe(true);
    expect(issue.message.length).toBeGreaterThan(0);
  }
}

describe('JSONPath queries under fuzzing', () => {
  it('compile or fail with a JsonPathSyntaxError that has a position and a message', () => {
    fc.assert(
      fc.property(jsonPathText, (text) => {
        try {
          compileJsonPath(text);
        } catch (error) {
          expect(error).toBeInstanceOf(JsonPathSyntaxError);
          const syntax = error as JsonPathSyntaxError;
          expect(syntax.message).toMatch(/^invalid JSONPath at position \d+: ./);
          expect(syntax.position).toBeGreaterThanOrEqual(0);
          expect(syntax.position).toBeLessThanOrEqual(text.length);
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('never throw while evaluating a compiled query over arbitrary JSON', () => {
    fc.assert(
      fc.property(jsonPathText, jsonValue, (text, value) => {
        let query;
        try {
          query = compileJsonPath(text);
        } catch {
          return;
        }
        const values = query.values(value);
        expect(Array.isArray(values)).toBe(true);
        expect(query.matches(value)).toBe(values.length > 0);
        if (values.length > 0) expect(query.first(value)).toEqual(values[0]);
        else expect(query.first(value)).toBeUndefined();
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('evaluate deeply nested records or fail with a typed JsonPathEvaluationError', () => {
    const queries = [
      '$..leaf',
      '$..*',
      '$..[?@.leaf == 1]',
      '$.a.a[0].a',
      '$[?count(@..*) > 3]',
    ].map(compileJsonPath);
    for (const depth of [10, 63, 64, 65, 200, 2000]) {
      const value = deeplyNested(depth);
      for (const query of queries) {
        for (const read of [
          () => query.matches(value),
          () => query.values(value),
          () => query.first(value),
        ]) {
          expectEvaluatesOrTypedError(read, `${query.source} at depth ${depth}`);
        }
      }
    }
    // Shallow enough records always evaluate.
    expect(compileJsonPath('$..leaf').values(deeplyNested(20))).toEqual([1]);
  });

  it('turn anything given as a config value into a ConfigError at the field path', () => {
    fc.assert(
      fc.property(fc.oneof(jsonPathText, jsonValue, fc.constant(undefined)), (value) => {
        try {
          compileJsonPathAt(value, 'routes[3].when');
        } catch (error) {
          expectConfigError(error, 'routes[3].when');
        }
      }),
      { numRuns: RUNS },
    );
  });
});

/** Condition-shaped values: valid specs, near-misses (wrong operands, unknown keys) and junk. */
const condition: fc.Arbitrary<unknown> = fc.letrec<{ cond: unknown }>((tie) => ({
  cond: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    jsonPathText,
    fc.record({ jsonpath: fc.oneof(jsonPathText, scalar) }),
    fc.record(
      {
        path: fc.oneof(
          jsonPathText,
          fieldName.map((f) => `$.${f}`),
          scalar,
        ),
        op: fc.oneof(
          fc.constantFrom(
            'eq',
            'ne',
            'lt',
            'lte',
            'gt',
            'gte',
            'in',
            'nin',
            'exists',
            'contains',
            'startsWith',
            'endsWith',
            'matches',
          ),
          fc.string({ maxLength: 8 }),
        ),
        value: fc.oneof(
          jsonValue,
          fc.constantFrom<JsonValue>(
            '(a+)+$',
            '^(a|a)*$',
            '[',
            '\\',
            '.*',
            { pattern: '(x+x+)+y', flags: 'i' },
            { pattern: 'a', flags: 'zz' },
            { pattern: 'a', maxLength: 0 },
          ),
        ),
        extra: jsonValue,
      },
      { requiredKeys: ['path', 'op'] },
    ),
    fc.record({ all: fc.oneof(fc.array(tie('cond'), { maxLength: 3 }), jsonValue) }),
    fc.record({ any: fc.oneof(fc.array(tie('cond'), { maxLength: 3 }), jsonValue) }),
    fc.record({ not: tie('cond') }),
    jsonValue,
  ),
})).cond;

describe('route conditions under fuzzing', () => {
  it('compile or fail with a ConfigError whose every issue names a path under the condition', () => {
    fc.assert(
      fc.property(condition, (spec) => {
        try {
          compileCondition(spec as ConditionSpec, 'routes[0].when');
        } catch (error) {
          expectConfigError(error, 'routes[0].when');
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('never throw when a compiled condition meets an arbitrary record', () => {
    fc.assert(
      fc.property(condition, fc.array(record, { minLength: 1, maxLength: 5 }), (spec, records) => {
        let predicate;
        try {
          predicate = compileCondition(spec as ConditionSpec, 'when');
        } catch {
          return;
        }
        for (const r of records) expect(typeof predicate(r)).toBe('boolean');
        // Past the recursion limit a descendant query fails with a typed error (a per-record
        // failure in the router); anything else still answers.
        expectEvaluatesOrTypedError(
          () => expect(typeof predicate(deeplyNested(300))).toBe('boolean'),
          'deep record',
        );
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('refuses or safely runs backtracking-prone patterns on hostile input', () => {
    // A pattern that backtracks exponentially in a naive engine: either refused at compile time
    // (ConfigError naming the value) or evaluated without hanging (the test timeout would catch it).
    let predicate;
    try {
      predicate = compileCondition({ path: '$.s', op: 'matches', value: '^(a|aa)+$' }, 'when');
    } catch (error) {
      expectConfigError(error, 'when.value');
      return;
    }
    expect(predicate({ s: `${'a'.repeat(5000)}!` })).toBe(false);
  });
});
