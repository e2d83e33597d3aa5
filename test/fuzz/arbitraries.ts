// Shared fast-check arbitraries for the fuzz suites: hostile JSON records, JSONPath-like text built
// from the grammar's own tokens (so the parser sees near-misses, not only noise), and field names
// that probe prototype keys.
import fc from 'fast-check';
import type { JsonValue, SluiceRecord } from '@sluice/core';

/** Keys that reach JavaScript's object machinery when code is careless. */
export const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '',
  ' ',
  '$',
  '.',
  '..',
  '[0]',
  'a.b',
  '$.a',
  '\u0000',
  '😀',
  'ü',
];

/** A field name: ordinary, hostile or random. */
export const fieldName = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'id',
      'name',
      'channel',
      'sessions',
      'amount',
      'items',
      'when',
      'value',
      'a',
      'b',
    ),
  },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);

/** Scalars including the awkward ones (huge and tiny numbers, -0, long and odd strings). */
export const scalar: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom<JsonValue>(
    null,
    true,
    false,
    0,
    -0,
    1,
    -1,
    1e308,
    -1e308,
    5e-324,
    Number.MAX_SAFE_INTEGER + 2,
    '',
    'NaN',
    'Infinity',
    '1e400',
    '2026-11-24',
    '2026-13-45',
    'true',
    '0x1F',
    ' 42 ',
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** Any JSON value with hostile keys, bounded in depth and size. */
export const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fieldName, tie('value'), { maxKeys: 6, noNullPrototype: true }),
  ),
})).value;

/** A record (a JSON object at the top). */
export const record: fc.Arbitrary<SluiceRecord> = fc.dictionary(fieldName, jsonValue, {
  maxKeys: 8,
  noNullPrototype: true,
}) as fc.Arbitrary<SluiceRecord>;

/** A value nested `depth` levels deep (objects and arrays alternating). */
export function deeplyNested(depth: number): SluiceRecord {
  let value: JsonValue = { leaf: 1 };
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value];
  return { a: value } as SluiceRecord;
}

const JSONPATH_TOKENS = [
  '$',
  '$',
  '.',
  '..',
  '[',
  ']',
  '[?',
  '?',
  '@',
  '*',
  "'",
  '"',
  'a',
  'b',
  'items',
  'qty',
  '0',
  '1',
  '-1',
  '2:5',
  ':',
  '::-1',
  ',',
  '(',
  ')',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '&&',
  '||',
  '!',
  'length(',
  'count(',
  'match(',
  'search(',
  'value(',
  'true',
  'false',
  'null',
  ' ',
  '\\',
  '\\u0000',
  '1e400',
  '-0',
  '9007199254740993',
  "'a'",
  '"b"',
  '@.a',
  '$.b',
  '[*]',
  '..*',
  '\n',
  '\u00e9',
  '😀',
];

/** Text that looks like JSONPath: valid queries, near-misses and noise. */
export const jsonPathText = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .array(fc.constantFrom(...JSONPATH_TOKENS), { minLength: 1, maxLength: 14 })
      .map((t) => t.join('')),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '$',
      '$.a',
      '$..a',
      '$.items[?@.qty > 5]',
      '$[?@.a == "x"]',
      '$.a[0:2]',
      '$[?length(@.a) > 2]',
      '$[?match(@.b, "a.*")]',
      "$['a','b']",
      '$.*',
      '$[?count(@.*) > 1]',
      '$[?(@.a.constructor(1))]',
      '$..[?@]',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => `$.${s}`) },
);
