import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JSONPathEnvironment, type JSONValue } from 'json-p3';
import {
  compileJsonPath,
  compileJsonPathFilter,
  JsonPathEvaluationError,
  JsonPathSyntaxError,
} from './jsonpath.js';
import { compileRouteTable, evaluateRecord } from './route-table.js';
import { FieldPathSyntaxError, createPluginContext, parseFieldPath, readField } from '@sluice/core';
import type { JsonValue } from '@sluice/core';

// The RFC 9535 compliance suite is repository test data, pinned to an upstream commit and
// attributed in its folder's README (with the sha256 this test checks). A missing or altered
// copy fails the suite: it never skips.
const ctsDir = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '__fixtures__/jsonpath-compliance',
);
const ctsPath = path.join(ctsDir, 'cts.json');
if (!existsSync(ctsPath)) {
  throw new Error(
    `the RFC 9535 compliance suite is missing: ${ctsPath} (it is committed test data; restore it with git)`,
  );
}
const ctsText = readFileSync(ctsPath, 'utf8');

interface CtsCase {
  name: string;
  selector: string;
  document?: JsonValue;
  result?: JsonValue[];
  results?: JsonValue[][];
  invalid_selector?: boolean;
}

const cts = JSON.parse(ctsText) as { tests: CtsCase[] };
// How many of the suite's valid selectors are singular queries (pinned: a different count means a different suite).
const SINGULAR_CASES = 79;

describe('RFC 9535 compliance suite', () => {
  it('is the pinned upstream copy, attributed beside it', () => {
    const readme = readFileSync(path.join(ctsDir, 'README.md'), 'utf8');
    const pinned = /\| sha256 \| `([0-9a-f]{64})` \|/.exec(readme)?.[1];
    expect(pinned, 'README.md names the sha256 of cts.json').toBeDefined();
    expect(createHash('sha256').update(readFileSync(ctsPath)).digest('hex')).toBe(pinned);
    expect(readme).toContain('7be7c1fc28057c91e8eefaf197060fba7ed43acd');
    expect(readFileSync(path.join(ctsDir, 'LICENSE'), 'utf8')).toContain('BSD-2 License');
    expect(readFileSync(path.join(ctsDir, 'NOTICE'), 'utf8')).toContain(
      'Copyright 2020 VMware, Inc.',
    );
  });

  it('has the 703 cases the project targets', () => {
    expect(cts.tests).toHaveLength(703);
    expect(cts.tests.filter((t) => t.invalid_selector)).toHaveLength(247);
  });

  it.each(cts.tests.map((t, i) => [i, t.name, t] as const))('#%i %s', (_i, _name, t) => {
    if (t.invalid_selector) {
      expect(() => compileJsonPath(t.selector)).toThrow(JsonPathSyntaxError);
      return;
    }
    const query = compileJsonPath(t.selector);
    const values = query.values(t.document!);
    if (t.result) expect(values).toEqual(t.result);
    else expect(t.results!.some((r) => JSON.stringify(r) === JSON.stringify(values))).toBe(true);
    // matches() may take a shortcut (`$[?…]` without `@` is evaluated once): it must still say
    // whether the spec's nodelist is non-empty.
    expect(query.matches(t.document!)).toBe((t.result ?? t.results![0]!).length > 0);
  });
});

describe('compileJsonPath: a root filter that never reads @', () => {
  const documents: JsonValue[] = [
    {},
    [],
    { a: 1 },
    { a: 1, b: 2, c: { d: 3 } },
    { a: 2, list: [1, 2, 3], s: 'x' },
    [1, 2],
    [{ a: 1 }],
    'text',
    7,
    null,
    { a: null },
  ];
  const queries = [
    '$[?$.a == 1]',
    '$[?$.a == 1 && $.b > 1]',
    '$[?$.a]',
    '$[?!$.a]',
    '$[?$.a || $.list]',
    '$[?length($.list) == 3]',
    '$[?count($.*) > 2]',
    '$[?$[0] == 1]',
    '$[?$.list[?@ > 2]]',
    '$[?$.c.d == 3 && !($.a != 1)]',
    '$[?true == true]',
    "$[?match($.s, 'x')]",
  ];
  it.each(queries)('%s matches exactly when the engine selects a node', (source) => {
    const query = compileJsonPath(source);
    const engine = new JSONPathEnvironment({ strict: true }).compile(source);
    for (const document of documents) {
      expect(query.matches(document), `${source} on ${JSON.stringify(document)}`).toBe(
        engine.query(document as JSONValue).nodes.length > 0,
      );
    }
  });
});

describe('compileJsonPathFilter', () => {
  const record = {
    sessions: 120,
    country: 'DE',
    utm: { medium: 'cpc' },
    tags: ['eu', 'promo'],
    items: [{ qty: 7 }],
  };

  it('tests the record itself, @ and $ both being the record', () => {
    expect(compileJsonPathFilter("@.sessions > 100 && @.country == 'DE'").test(record)).toBe(true);
    expect(compileJsonPathFilter("$.sessions > 100 && $.country == 'DE'").test(record)).toBe(true);
    expect(compileJsonPathFilter('@.sessions > 200').test(record)).toBe(false);
    expect(compileJsonPathFilter('@.missing').test(record)).toBe(false);
    expect(compileJsonPathFilter('!@.missing').test(record)).toBe(true);
    expect(compileJsonPathFilter('@.items[?@.qty > 5]').test(record)).toBe(true);
    expect(
      compileJsonPathFilter("count(@.tags[?@ == 'eu']) == 1 && length(@.tags) == 2").test(record),
    ).toBe(true);
    expect(compileJsonPathFilter("match(@.utm.medium, 'c.c')").test(record)).toBe(true);
    // A record without members is still a record: the filter tests it (a `$[?…]` query would not).
    expect(compileJsonPathFilter('!@.a').test({})).toBe(true);
  });

  it('agrees with the filter run over a one-element wrapper [record]', () => {
    const expressions = [
      "@.sessions > 100 && @.country == 'DE'",
      '@.utm.medium',
      "@.tags[?@ == 'x']",
      '@.sessions < 10 || !@.items',
    ];
    const records: JsonValue[] = [
      record,
      {},
      { sessions: 5 },
      { country: 'DE', sessions: 101, tags: ['x'] },
    ];
    for (const expression of expressions) {
      const wrapped = compileJsonPath(`$[?${expression}]`);
      for (const r of records)
        expect(compileJsonPathFilter(expression).test(r)).toBe(wrapped.matches([r]));
    }
  });

  it('reports syntax errors at their position in the expression', () => {
    try {
      compileJsonPathFilter('@.a == ');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(JsonPathSyntaxError);
      expect((error as JsonPathSyntaxError).position).toBeLessThanOrEqual(7);
      expect((error as JsonPathSyntaxError).query).toBe('@.a == ');
    }
  });

  it('refuses text that is more than one filter expression, and non-standard syntax', () => {
    for (const text of [
      '@.a][?@.b',
      '@.a, ?@.b',
      '@.a]..[?@.b',
      "(@.constructor.constructor('return process')())",
      '@.a === 1',
    ]) {
      expect(() => compileJsonPathFilter(text), text).toThrow(JsonPathSyntaxError);
    }
  });

  it('raises a typed error for values nested past the recursion limit', () => {
    let deep: JsonValue = { leaf: 1 };
    for (let i = 0; i < 100; i++) deep = { a: deep };
    expect(() => compileJsonPathFilter('count(@..*) > 1').test(deep)).toThrow(
      JsonPathEvaluationError,
    );
  });
});

describe('compileJsonPath', () => {
  it('reports the position of a syntax error', () => {
    try {
      compileJsonPath('$.a[?@.b >');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(JsonPathSyntaxError);
      expect((error as JsonPathSyntaxError).position).toBe(10);
      expect((error as Error).message).toMatch(/^invalid JSONPath at position 10: /);
    }
  });

  it('uses a direct read for singular queries and agrees with the engine', () => {
    const q = compileJsonPath('$.a["b c"][-1]');
    expect(q.singular).toBe(true);
    expect(q.keys).toEqual(['a', 'b c', -1]);
    expect(q.first({ a: { 'b c': [1, 2, 3] } })).toBe(3);
    expect(q.matches({ a: {} })).toBe(false);
    expect(q.values({ a: { 'b c': [] } })).toEqual([]);
  });

  it('runs filters through the engine', () => {
    const q = compileJsonPath('$.items[?@.qty > 5].sku');
    expect(q.singular).toBe(false);
    expect(
      q.values({
        items: [
          { qty: 7, sku: 'a' },
          { qty: 1, sku: 'b' },
        ],
      }),
    ).toEqual(['a']);
    expect(q.first({ items: [] })).toBeUndefined();
  });

  // Regression (found by test/fuzz): a descendant query over a record nested deeper than the
  // engine's recursion limit threw json-p3's own JSONPathRecursionLimitError out of matches().
  it('raises a typed JsonPathEvaluationError for values nested past the recursion limit', () => {
    let deep: JsonValue = { leaf: 1 };
    for (let i = 0; i < 100; i++) deep = i % 2 ? { a: deep } : [deep];
    for (const source of ['$..leaf', '$..[?@]', '$[?count(@..*) > 1]']) {
      const query = compileJsonPath(source);
      // (`first` stops at the first match, so it only fails when that match lies past the limit.)
      const reads = [
        () => query.matches(deep),
        () => query.values(deep),
        ...(source === '$..[?@]' ? [] : [() => query.first(deep)]),
      ];
      for (const read of reads) {
        expect(read).toThrow(JsonPathEvaluationError);
        expect(read).toThrow(
          `JSONPath ${JSON.stringify(source)} cannot be evaluated: the value is nested more than 64 levels deep`,
        );
      }
    }
    // Shallow values still evaluate, and the router makes the deep record a per-record failure.
    expect(compileJsonPath('$..leaf').values({ a: [{ leaf: 2 }] })).toEqual([2]);
    const table = compileRouteTable([{ name: 'deep', when: '$..leaf', to: ['d'] }], {
      ctx: createPluginContext(),
      destinations: ['d'],
    });
    const evaluation = evaluateRecord({ deep }, table);
    expect(evaluation.failures.map((f) => f.error.message)).toEqual([
      'route "deep" condition: JSONPath "$..leaf" cannot be evaluated: the value is nested more than 64 levels deep',
    ]);
  });

  it('the direct read of singular queries follows own properties only', () => {
    expect(compileJsonPath('$.constructor').first({ a: 1 } as JsonValue)).toBeUndefined();
    expect(compileJsonPath('$.a.length').first({ a: [1] })).toBeUndefined();
    expect(compileJsonPath('$.a[5]').first({ a: [1] })).toBeUndefined();
  });
});

// Core parses field paths by hand (no JSONPath engine in core). On every case of the suite
// whose selector starts with "$", it must accept exactly the queries json-p3 calls singular,
// with the same keys, and read the same value from the case's document.
describe('core field-path parser against json-p3 on the compliance suite', () => {
  const rooted = cts.tests.filter((t) => t.selector.startsWith('$'));

  it('covers the singular, the non-singular and the invalid selectors of the suite', () => {
    const singular = rooted.filter(
      (t) => !t.invalid_selector && compileJsonPath(t.selector).singular,
    );
    expect(rooted).toHaveLength(702);
    expect(singular).toHaveLength(SINGULAR_CASES);
    expect(rooted.filter((t) => t.invalid_selector).length).toBeGreaterThan(200);
  });

  it.each(rooted.map((t, i) => [i, t.name, t] as const))('#%i %s', (_i, _name, t) => {
    let engine: ReturnType<typeof compileJsonPath> | undefined;
    try {
      engine = compileJsonPath(t.selector);
    } catch (error) {
      expect(error).toBeInstanceOf(JsonPathSyntaxError);
    }
    if (engine === undefined || !engine.singular) {
      expect(() => parseFieldPath(t.selector, { root: true })).toThrow(FieldPathSyntaxError);
      return;
    }
    const path = parseFieldPath(t.selector, { root: true });
    expect(path).toEqual(engine.keys);
    if (t.document !== undefined)
      expect(readField(t.document, path)).toEqual(engine.first(t.document));
  });
});

describe('jsonpath-plus remote code execution payloads', () => {
  const payloads = [
    "$[?(@.constructor.constructor('return process')())]",
    "$..[?(@.constructor.constructor('return process.exit()')())]",
    "$[?(@.__proto__.polluted = 'yes')]",
    "$..*[?(@property === 'x' && @.call.call.constructor('return process')())]",
    '$[?(this.constructor.constructor("return process")())]',
    "$[?(@property.toString().constructor.constructor('return 1')())]",
    '$[(@.length-1)]',
  ];
  it.each(payloads)('rejects %s at compile time', (payload) => {
    expect(() => compileJsonPath(payload)).toThrow(JsonPathSyntaxError);
  });

  it('treats constructor / __proto__ / call as ordinary (absent) member names', () => {
    const record = { a: { b: 1 } };
    for (const query of [
      '$.constructor.constructor',
      '$.__proto__',
      '$.a.b.call',
      '$[?@.constructor]',
      '$..constructor',
      "$[?@['__proto__']]",
    ]) {
      const q = compileJsonPath(query);
      expect(q.values(record)).toEqual([]);
      expect(q.matches(record)).toBe(false);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
