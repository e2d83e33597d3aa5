/**
 * Problems found while loading a configuration, kept with their path as segments so they can
 * be located in the YAML source, then turned into core's `ConfigIssue` (`a.b[2].c: message`).
 *
 * @packageDocumentation
 */
import type * as v from 'valibot';
import { formatPath, type ConfigIssue } from '@sluice/core';
import { describeValue } from './suggest.js';

/** A path made of object keys and array indexes. */
export type PathSegments = readonly (string | number)[];

/** One problem, with its path as segments. */
export interface Problem {
  path: PathSegments;
  message: string;
  /**
   * True when the problem is about the value's content (a format, a pattern, an allowed value, a
   * check), which an unresolved `${...}` reference could still satisfy; false for its type (a
   * reference always produces a string). Validation without the environment drops such
   * problems at strings that hold references.
   */
  valueDependent?: boolean;
}

/** Valibot schema types whose issues depend on the value, not only on its type. */
const VALUE_TYPES = new Set(['picklist', 'literal', 'union', 'variant', 'enum', 'custom']);

/**
 * Reads a path as {@link formatPath} writes it (`a.b[2].c`, `headers["x-api-key"]`) back into
 * segments, so problems reported as text (another package's `ConfigError`) can be located in the
 * source.
 *
 * @example
 * ```ts
 * parsePath('pipelines.daily.routes[2].to[0]'); // ['pipelines', 'daily', 'routes', 2, 'to', 0]
 * ```
 */
export function parsePath(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  const pattern = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/gy;
  let match: RegExpExecArray | null;
  let last = 0;
  while ((match = pattern.exec(path)) !== null) {
    if (match[1] !== undefined) segments.push(Number(match[1]));
    else if (match[2] !== undefined) segments.push(JSON.parse(match[2]) as string);
    else if (match[3] !== undefined) segments.push(match[3]);
    last = pattern.lastIndex;
  }
  // Text that is not a path (`--param`, "(root)") is one segment as written.
  if (last !== path.length) return path === '' ? [] : [path];
  return segments;
}

/** Reads the key/index path of a valibot issue, prefixed by `prefix`. */
export function issuePath(
  issue: v.BaseIssue<unknown>,
  prefix: PathSegments = [],
): (string | number)[] {
  const segments: (string | number)[] = [...prefix];
  for (const item of issue.path ?? []) {
    const key = (item as { key: unknown }).key;
    if (typeof key === 'string' || typeof key === 'number') segments.push(key);
  }
  return segments;
}

/**
 * Rewrites valibot's generic messages ("Invalid type: Expected number but received "8080"")
 * into short ones ("expected number, got "8080""). Messages a schema set itself are kept.
 */
export function issueMessage(issue: v.BaseIssue<unknown>): string {
  const generic = /^Invalid ([a-z ]+): /.exec(issue.message);
  if (!generic) return issue.message;
  const got = describeValue(issue.input);
  const requirement = (issue as { requirement?: unknown }).requirement;
  switch (issue.type) {
    case 'min_value':
      return `must be at least ${String(requirement)}, got ${got}`;
    case 'max_value':
      return `must be at most ${String(requirement)}, got ${got}`;
    case 'integer':
      return `must be a whole number, got ${got}`;
    case 'min_length':
      return requirement === 1
        ? Array.isArray(issue.input)
          ? 'must not be empty'
          : 'must not be an empty string'
        : `must have at least ${String(requirement)} ${Array.isArray(issue.input) ? 'items' : 'characters'}`;
    case 'max_length':
      return `must have at most ${String(requirement)} ${Array.isArray(issue.input) ? 'items' : 'characters'}`;
    default:
      break;
  }
  if (issue.kind === 'schema' && generic[1] === 'key') {
    if (issue.input === undefined) return 'required';
    if (issue.expected === 'never') return `unknown key ${describeValue(issue.input)}`;
  }
  if (issue.kind === 'schema') return `expected ${readableExpected(issue.expected)}, got ${got}`;
  return issue.message;
}

function readableExpected(expected: string | null): string {
  if (expected === null) return 'a different value';
  if (expected === 'Object') return 'an object';
  if (expected === 'Array') return 'an array';
  return expected.replace(/^\((.*)\)$/, '$1').replaceAll(' | ', ' or ');
}

/** Converts valibot issues into problems, under `prefix`. */
export function problemsFromValibot(
  issues: readonly v.BaseIssue<unknown>[],
  prefix: PathSegments = [],
): Problem[] {
  return issues.map((issue) => ({
    path: issuePath(issue, prefix),
    message: issueMessage(issue),
    valueDependent: issue.kind === 'validation' || VALUE_TYPES.has(issue.type),
  }));
}

/**
 * Turns problems into core `ConfigIssue`s: formats paths, drops exact duplicates (a shared
 * connection can be reported by several pipelines) and passes every message through `edit`
 * (used to redact secrets and to add source locations).
 */
export function toConfigIssues(
  problems: readonly Problem[],
  edit: (problem: Problem) => string = (p) => p.message,
): ConfigIssue[] {
  const seen = new Set<string>();
  const out: ConfigIssue[] = [];
  for (const problem of problems) {
    const issue = { path: formatPath(problem.path), message: edit(problem) };
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(issue);
  }
  return out;
}
