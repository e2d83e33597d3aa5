/**
 * The router's only door to a JSONPath engine. Everything else in the package talks to
 * {@link compileJsonPath}; swapping json-p3 for another RFC 9535 engine means changing this file.
 *
 * @packageDocumentation
 */
import {
  JSONPathEnvironment,
  JSONPathError,
  JSONPathRecursionLimitError,
  TokenKind,
  jsonpath,
  type JSONValue,
} from 'json-p3';
import { readField, type JsonValue } from '@sluice/core';

type JSONPathQuery = jsonpath.JSONPathQuery;
type FilterExpression = jsonpath.expressions.FilterExpression;

/** A compiled RFC 9535 query. */
export interface CompiledJsonPath {
  /** The query text as written. */
  readonly source: string;
  /** True when the query can select at most one node (RFC 9535 §2.3.5.1 "singular query"). */
  readonly singular: boolean;
  /**
   * For singular queries made only of name and index selectors: the keys to follow, which lets
   * hot paths read a field without running the engine.
   */
  readonly keys: readonly (string | number)[] | undefined;
  /** True when the query selects at least one node of `value`. */
  matches(value: JsonValue): boolean;
  /** The values of every selected node, in document order. */
  values(value: JsonValue): JsonValue[];
  /** The value of the first selected node, or `undefined` when nothing is selected. */
  first(value: JsonValue): JsonValue | undefined;
}

/** A query that does not parse; `position` is the 0-based offset of the offending character. */
export class JsonPathSyntaxError extends Error {
  override readonly name = 'JsonPathSyntaxError';
  readonly position: number;
  readonly query: string;

  constructor(query: string, position: number, reason: string) {
    super(`invalid JSONPath at position ${position}: ${reason}`);
    this.position = position;
    this.query = query;
  }
}

/**
 * A compiled query that could not be evaluated against a value: the value nests deeper than the
 * engine's recursion limit (64 levels) under a descendant segment (`..`). Raised per value, so the
 * router turns it into that record's route failure (a dead letter) instead of a crash.
 *
 * @example
 * ```ts
 * try {
 *   compileJsonPath('$..id').values(deeplyNestedRecord);
 * } catch (error) {
 *   if (error instanceof JsonPathEvaluationError) console.log(error.message);
 * }
 * ```
 */
export class JsonPathEvaluationError extends Error {
  override readonly name = 'JsonPathEvaluationError';
  readonly query: string;

  constructor(query: string, reason: string, options?: ErrorOptions) {
    super(`JSONPath ${JSON.stringify(query)} cannot be evaluated: ${reason}`, options);
    this.query = query;
  }
}

/** The maximum nesting a descendant segment walks into. */
export const JSONPATH_MAX_DEPTH = 64;

// One shared environment: strict RFC 9535, no non-standard selectors, and a recursion limit so a
// descendant query over a hostile, deeply nested record cannot exhaust the stack.
const environment = new JSONPathEnvironment({
  strict: true,
  maxRecursionDepth: JSONPATH_MAX_DEPTH,
});

/**
 * Compiles an RFC 9535 JSONPath query. Throws {@link JsonPathSyntaxError} (with the offending
 * position) when the query is not valid RFC 9535, including non-standard syntax such as
 * `$[?(@.a.constructor(...))]` script expressions, which are therefore never executed.
 *
 * @example
 * ```ts
 * const q = compileJsonPath('$.items[?@.qty > 5]');
 * q.matches({ items: [{ qty: 7 }] }); // true
 * ```
 */
export function compileJsonPath(source: string): CompiledJsonPath {
  let query: JSONPathQuery;
  try {
    query = environment.compile(source);
  } catch (error) {
    if (error instanceof JSONPathError) {
      throw new JsonPathSyntaxError(source, error.token.index, stripLocation(error.message));
    }
    throw new JsonPathSyntaxError(
      source,
      0,
      error instanceof Error ? error.message : String(error),
    );
  }
  const singular = query.singularQuery();
  const keys = singular ? simpleKeys(query) : undefined;
  const asValue = (value: JsonValue) => value as JSONValue;
  if (keys) {
    // Fast path: a plain chain of names/indexes needs no engine at all (core's field-path reader).
    const read = (value: JsonValue) => readField(value, keys);
    return {
      source,
      singular,
      keys,
      matches: (value) => read(value) !== undefined,
      values: (value) => {
        const found = read(value);
        return found === undefined ? [] : [found];
      },
      first: read,
    };
  }
  const guarded = guard(source);
  // `$[?<expression>]` whose expression never reads `@` (e.g. `$[?$.a == 1 && $.b > 2]`) gives the
  // same answer for every member, so it selects a node exactly when the value has a member and the
  // expression holds: one evaluation instead of one per member.
  const rootFilter = rootOnlyFilter(query);
  const matches: CompiledJsonPath['matches'] = rootFilter
    ? (value) => hasMember(value) && guarded(() => evaluateFilter(rootFilter, value, value))
    : // The eager query is faster than the lazy iterator on record-sized values.
      (value) => guarded(() => query.query(asValue(value)).nodes.length > 0);
  return {
    source,
    singular,
    keys,
    matches,
    values: (value) => guarded(() => query.query(asValue(value)).values() as JsonValue[]),
    first: (value) => guarded(() => query.match(asValue(value))?.value as JsonValue | undefined),
  };
}

// The engine's own errors (the recursion limit on hostile nesting) become one typed error that
// names the query; anything else is a bug and propagates as is.
function guard(source: string): <T>(run: () => T) => T {
  return (run) => {
    try {
      return run();
    } catch (error) {
      if (error instanceof JSONPathRecursionLimitError) {
        throw new JsonPathEvaluationError(
          source,
          `the value is nested more than ${JSONPATH_MAX_DEPTH} levels deep`,
          { cause: error },
        );
      }
      if (error instanceof JSONPathError)
        throw new JsonPathEvaluationError(source, stripLocation(error.message), { cause: error });
      throw error;
    }
  };
}

/** A compiled record-level filter: an RFC 9535 filter expression evaluated once per record. */
export interface CompiledJsonPathFilter {
  /** The expression as written. */
  readonly source: string;
  /** True when the expression holds for `value` (`@` and `$` both being `value`). */
  test(value: JsonValue): boolean;
}

/**
 * Compiles an RFC 9535 *filter expression* (what stands after `?` in `$[?…]`) that tests the value
 * itself: `@` and `$` are both the value, so `@.sessions > 100 && @.country == 'DE'` is one
 * evaluation per record, where the query `$[?$.sessions > 100 && $.country == 'DE']` runs the
 * filter once per member of the record. The expression is parsed by the engine as the filter of
 * `$[?…]`, so its syntax, functions and comparison rules are exactly RFC 9535's. Throws
 * {@link JsonPathSyntaxError} with the position in `source`.
 *
 * @example
 * ```ts
 * const f = compileJsonPathFilter("@.sessions > 100 && @.utm.medium == 'cpc'");
 * f.test({ sessions: 120, utm: { medium: 'cpc' } }); // true
 * ```
 */
export function compileJsonPathFilter(source: string): CompiledJsonPathFilter {
  const prefix = '$[?';
  let query: JSONPathQuery;
  try {
    query = environment.compile(`${prefix}${source}]`);
  } catch (error) {
    if (error instanceof JSONPathError) {
      const position = Math.min(Math.max(error.token.index - prefix.length, 0), source.length);
      throw new JsonPathSyntaxError(source, position, stripLocation(error.message));
    }
    throw new JsonPathSyntaxError(
      source,
      0,
      error instanceof Error ? error.message : String(error),
    );
  }
  // Text such as `@.a][?@.b` or `@.a, ?@.b` would parse as more than one filter: only one is a
  // filter expression.
  const segment = query.segments.length === 1 ? query.segments[0]! : undefined;
  const selector = segment?.selectors.length === 1 ? segment.selectors[0] : undefined;
  if (
    segment?.token.kind !== TokenKind.LBRACKET ||
    !(selector instanceof jsonpath.selectors.FilterSelector)
  ) {
    throw new JsonPathSyntaxError(
      source,
      0,
      'expected one filter expression such as "@.sessions > 100"',
    );
  }
  const expression = selector.expression;
  const guarded = guard(source);
  return { source, test: (value) => guarded(() => evaluateFilter(expression, value, value)) };
}

function evaluateFilter(
  expression: FilterExpression,
  current: JsonValue,
  root: JsonValue,
): boolean {
  return Boolean(
    expression.evaluate({
      environment,
      currentValue: current as JSONValue,
      rootValue: root as JSONValue,
    }),
  );
}

// What `[?…]` iterates: array elements and object members (json-p3 skips String objects).
function hasMember(value: JsonValue): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (value === null || typeof value !== 'object') return false;
  for (const key in value) if (Object.hasOwn(value, key)) return true;
  return false;
}

// `$[?e]` (one child segment, one filter selector) where `e` reads no relative query: the filter
// expression, or undefined.
function rootOnlyFilter(query: JSONPathQuery): FilterExpression | undefined {
  if (query.segments.length !== 1) return undefined;
  const segment = query.segments[0]!;
  if (segment.token.kind !== TokenKind.LBRACKET || segment.selectors.length !== 1) return undefined;
  const selector = segment.selectors[0];
  if (!(selector instanceof jsonpath.selectors.FilterSelector)) return undefined;
  return readsCurrent(selector.expression) ? undefined : selector.expression;
}

// Whether an expression depends on `@`. Queries under `$` (RootQuery) evaluate against the root
// only, even when they hold filters of their own; an unknown node type counts as depending on it.
function readsCurrent(expression: FilterExpression): boolean {
  const e = jsonpath.expressions;
  if (expression instanceof e.RootQuery) return false;
  if (expression instanceof e.RelativeQuery) return true;
  if (expression instanceof e.LogicalExpression) return readsCurrent(expression.expression);
  if (expression instanceof e.PrefixExpression) return readsCurrent(expression.right);
  if (expression instanceof e.InfixExpression)
    return readsCurrent(expression.left) || readsCurrent(expression.right);
  if (expression instanceof e.FunctionExtension) return expression.args.some(readsCurrent);
  return !(expression instanceof e.FilterExpressionLiteral);
}

// A singular query is, by definition, a chain of child segments holding one name or index
// selector each; anything else leaves the engine in charge.
function simpleKeys(query: JSONPathQuery): (string | number)[] | undefined {
  const keys: (string | number)[] = [];
  for (const segment of query.segments) {
    const selector = segment.selectors.length === 1 ? segment.selectors[0] : undefined;
    if (selector instanceof jsonpath.selectors.NameSelector) keys.push(selector.name);
    else if (selector instanceof jsonpath.selectors.IndexSelector) keys.push(selector.index);
    else return undefined;
  }
  return keys;
}

// json-p3 appends "('<context>':<index>)" to its messages; we report the position ourselves.
function stripLocation(message: string): string {
  return message.replace(/\s*\('(?:[^']|'(?!:\d+\)$))*':\d+\)$/, '');
}
