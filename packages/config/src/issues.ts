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
}

/** Reads the key/index path of a valibot issue, prefixed by `prefix`. */
export function issuePath(issue: v.BaseIssue<unknown>, prefix: PathSegments = []): (string | number)[] {
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
  return issues.map((issue) => ({ path: issuePath(issue, prefix), message: issueMessage(issue) }));
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
