// Fuzzing transform specs and route tables: compiling arbitrary routes either succeeds or fails with
// one ConfigError listing issues under `pipelines.p.routes[i]`; evaluating a compiled table over
// arbitrary records never throws — a record that breaks a transform comes back as a per-record
// RouteEvaluationError naming the route and the step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, createNoopLogger, createPluginContext, type RouteSpec } from '@sluice/core';
import { compileRouteTable, dryRun, evaluateRecord, RouteEvaluationError } from '@sluice/router';
import { deeplyNested, fieldName, jsonPathText, jsonValue, record, scalar } from './arbitraries.js';

const RUNS = 300;
const ctx = createPluginContext({ logger: createNoopLogger() });
const DESTINATIONS = ['warehouse', 'archive'];

const fieldRef = fc.oneof(
  fieldName,
  fieldName.map((f) => `$.${f}`),
  jsonPathText,
);
const expressionText = fc.oneof(
  fc.constantFrom(
    'sessions * 2',
    'round((sessions - previous) / previous * 100, 1)',
    'a + b',
    'abs(amount)',
    'min(a, b, 3)',
    '1 / 0',
    'sessions ^ 400',
    '((((a))))',
    'a +',
    'unknown(1)',
    '$.a + 1',
    'constructor',
    '__proto__.x + 1',
    'a ? b : c',
    '-(-(-a))',
  ),
  fc
    .array(
      fc.constantFrom(
        'a',
        'b',
        'sessions',
        '1',
        '0',
        '1e308',
        '+',
        '-',
        '*',
        '/',
        '%',
        '(',
        ')',
        ',',
        'round',
        'abs',
        'min',
        ' ',
      ),
      { minLength: 1, maxLength: 10 },
    )
    .map((t) => t.join('')),
  fc.string({ maxLength: 20 }),
);
const liquidText = fc.oneof(
  fc.constantFrom(
    '{{ channel }} fell {{ change | round: 1 }} %',
    '{{ a.b.c }}',
    '{% for i in items %}{{ i.sku }}{% endfor %}',
    '{{ "x" | append: name }}',
    '{% if a %}',
    '{{',
    '{% include "x" %}',
    '{% render "/etc/passwd" %}',
    '{{ a | date: "%Y" }}',
    '{% for i in (1..100000) %}x{% endfor %}',
  ),
  fc.string({ maxLength: 30 }),
);

/** Transform steps: valid ones of every built-in kind, near-misses and junk. */
const fuzzedStep = fc.oneof(
  fc.record({
    kind: fc.constant('pick'),
    fields: fc.oneof(fc.array(fieldRef, { maxLength: 4 }), jsonValue),
  }),
  fc.record({
    kind: fc.constant('omit'),
    fields: fc.oneof(fc.array(fieldRef, { maxLength: 4 }), jsonValue),
  }),
  fc.record({
    kind: fc.constant('rename'),
    fields: fc.oneof(fc.dictionary(fieldName, fieldName, { maxKeys: 3 }), jsonValue),
  }),
  fc.record(
    {
      kind: fc.constant('set'),
      field: fc.oneof(fieldRef, scalar),
      value: jsonValue,
      from: fc.option(jsonPathText, { nil: undefined }),
    },
    { requiredKeys: ['kind', 'field'] },
  ),
  fc.record(
    {
      kind: fc.constant('template'),
      field: fc.oneof(fieldRef, scalar),
      template: fc.oneof(liquidText, scalar),
      strictVariables: fc.boolean(),
    },
    { requiredKeys: ['kind', 'field', 'template'] },
  ),
  fc.record(
    {
      kind: fc.constant('cast'),
      fields: fc.dictionary(
        fieldRef,
        fc.oneof(
          fc.constantFrom('number', 'integer', 'boolean', 'string', 'date', 'datetime'),
          fc.string({ maxLength: 6 }),
        ),
        { maxKeys: 3 },
      ),
      onFailure: fc.constantFrom('error', 'null', 'explode'),
    },
    { requiredKeys: ['kind', 'fields'] },
  ),
  fc.record(
    {
      kind: fc.constant('flatten'),
      separator: fc.string({ maxLength: 2 }),
      field: fieldRef,
      arrays: fc.constantFrom('keep', 'index', 'x'),
      maxDepth: fc.oneof(fc.integer({ min: -1, max: 100 }), scalar),
    },
    { requiredKeys: ['kind'] },
  ),
  fc.record(
    {
      kind: fc.constant('compute'),
      field: fc.oneof(fieldRef, scalar),
      expression: fc.oneof(expressionText, scalar),
    },
    { requiredKeys: ['kind', 'field', 'expression'] },
  ),
  fc.record(
    {
      kind: fc.constant('unnest'),
      field: fieldRef,
      as: fieldRef,
      merge: fc.oneof(fc.boolean(), scalar),
      maxElements: fc.oneof(fc.integer({ min: 0, max: 5 }), scalar),
    },
    { requiredKeys: ['kind', 'field'] },
  ),
  fc.record(
    {
      kind: fc.constant('drop'),
      when: fc.oneof(
        jsonPathText,
        fc.record({
          path: fieldRef,
          op: fc.constantFrom('eq', 'gt', 'exists', 'bogus'),
          value: jsonValue,
        }),
      ),
    },
    { requiredKeys: ['kind'] },
  ),
  fc.record({ kind: fc.oneof(fc.string({ maxLength: 8 }), scalar) }),
  jsonValue,
);
// Valid steps of every kind, so whole tables compile and records reach the transforms.
const validStep = fc.constantFrom(
  { kind: 'pick', fields: ['id', 'name', '$.items'] },
  { kind: 'omit', fields: ['a'] },
  { kind: 'rename', fields: { name: 'label', '$.a': 'b' } },
  { kind: 'set', field: 'source', value: 'fuzz' },
  { kind: 'set', field: 'skus', from: '$.items[*].sku' },
  { kind: 'template', field: 'msg', template: '{{ name }} / {{ a.b }}' },
  { kind: 'cast', fields: { sessions: 'integer', amount: 'number', when: 'datetime' } },
  { kind: 'cast', fields: { id: 'integer' }, onFailure: 'null' },
  { kind: 'flatten' },
  { kind: 'flatten', arrays: 'index', separator: '_' },
  { kind: 'compute', field: 'double', expression: 'sessions * 2' },
  { kind: 'compute', field: 'ratio', expression: 'round(a / b, 2)' },
  { kind: 'unnest', field: 'items' },
  { kind: 'unnest', field: 'items', as: 'item', merge: true },
  { kind: 'drop', when: { path: '$.value', op: 'exists' } },
);
const transformStep = fc.oneof(
  { weight: 3, arbitrary: validStep },
  { weight: 1, arbitrary: fuzzedStep },
);

/** Mostly-valid values with an occasional invalid one, so tables compile often enough to evaluate. */
const mostly = <T>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: invalid });

const route = fc.record(
  {
    name: mostly(fc.constantFrom('paid', 'all', 'alerts', 'x', 'y', 'z'), scalar),
    priority: mostly(fc.integer({ min: -5, max: 5 }), scalar),
    when: mostly(
      fc.oneof(
        fc.constantFrom('$.channel', '$.items[?@.qty > 1]', '$..a', '$[?@.value]'),
        fc.record({
          path: fieldName.map((f) => `$.${f}`),
          op: fc.constantFrom('eq', 'lt', 'in', 'exists', 'matches'),
          value: jsonValue,
        }),
      ),
      jsonPathText,
    ),
    transform: mostly(fc.array(transformStep, { maxLength: 3 }), jsonValue),
    to: mostly(fc.subarray(DESTINATIONS, { minLength: 1 }), jsonValue),
    mode: mostly(fc.constantFrom('stop', 'continue'), fc.constant('sideways')),
    onError: mostly(fc.constantFrom('dead-letter', 'drop', 'fail-run'), fc.constant('panic')),
  },
  { requiredKeys: ['name', 'to'] },
);

function compile(routes: unknown) {
  return compileRouteTable(routes as RouteSpec[], {
    ctx,
    destinations: DESTINATIONS,
    defaultRoute: { to: ['archive'] },
    path: ['pipelines', 'p'],
  });
}

describe('route tables with arbitrary transform specs', () => {
  it('compile or fail with one ConfigError whose issues all name a path and a message', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          { weight: 9, arbitrary: fc.array(route, { maxLength: 4 }) },
          { weight: 1, arbitrary: jsonValue },
        ),
        (routes) => {
          try {
            compile(routes);
          } catch (error) {
            expect(error, String(error)).toBeInstanceOf(ConfigError);
            for (const issue of (error as ConfigError).issues) {
              expect(issue.path, issue.message).toMatch(/^pipelines\.p\.(routes|defaultRoute)/);
              expect(issue.message.length).toBeGreaterThan(0);
            }
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('evaluate arbitrary records without throwing; failures are per-record RouteEvaluationErrors', () => {
    let compiled = 0;
    let failures = 0;
    fc.assert(
      fc.property(
        fc.array(route, { minLength: 1, maxLength: 4 }),
        fc.array(record, { minLength: 1, maxLength: 6 }),
        (routes, records) => {
          let table;
          try {
            table = compile(routes);
          } catch {
            return;
          }
          compiled++;
          for (const r of [...records, deeplyNested(120)]) {
            const before = JSON.stringify(r);
            const evaluation = evaluateRecord(r, table);
            // Transforms are pure: the input record is never modified.
            expect(JSON.stringify(r)).toBe(before);
            for (const failure of evaluation.failures) {
              failures++;
              expect(failure.error).toBeInstanceOf(RouteEvaluationError);
              expect(failure.error.cause).toBeInstanceOf(Error);
              expect(failure.error.message).toMatch(
                /^route ".*" (condition|transform\[\d+\] \(\w+\)): ./s,
              );
            }
            for (const match of evaluation.matches) {
              for (const out of match.records) {
                expect(out !== null && typeof out === 'object' && !Array.isArray(out)).toBe(true);
                // Every output is plain JSON that a destination can serialise.
                expect(() => JSON.stringify(out)).not.toThrow();
              }
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
    // The generator must reach evaluation, not only compile errors.
    expect(compiled).toBeGreaterThan(RUNS / 10);
    expect(failures).toBeGreaterThan(0);
  });

  it('dry-runs garbage records through a table of typed transforms and reports each failure', () => {
    const table = compile([
      {
        name: 'typed',
        to: ['warehouse'],
        transform: [
          { kind: 'cast', fields: { sessions: 'integer', day: 'date' } },
          { kind: 'compute', field: 'double', expression: 'sessions * 2' },
        ],
      },
      {
        name: 'pick',
        to: ['archive'],
        transform: [
          { kind: 'unnest', field: 'items' },
          { kind: 'set', field: 'source', value: 'fuzz' },
        ],
      },
    ]);
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 20 }), (records) => {
        const result = dryRun(records, table);
        expect(result.records).toHaveLength(records.length);
        for (const r of result.records) {
          for (const failure of r.errors) {
            expect(failure.route).toMatch(/^(typed|pick)$/);
            expect(failure.message).toMatch(
              /^route "(typed|pick)" transform\[\d\] \((cast|compute|unnest|set)\): ./s,
            );
            expect(failure.onError).toBe('dead-letter');
          }
        }
        expect(result.totals.records).toBe(records.length);
      }),
      { numRuns: RUNS },
    );
  });
});
