import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { formatPath } from '@sluice/core';
import {
  issueMessage,
  issuePath,
  parsePath,
  problemsFromValibot,
  toConfigIssues,
} from './issues.js';

function issuesOf(schema: v.GenericSchema, input: unknown) {
  const result = v.safeParse(schema, input);
  if (result.success) throw new Error('expected a failure');
  return result.issues;
}

describe('issueMessage', () => {
  it('shortens type errors', () => {
    expect(issueMessage(issuesOf(v.number(), '8080')[0]!)).toBe('expected number, got "8080"');
    expect(issueMessage(issuesOf(v.object({ a: v.string() }), 'x')[0]!)).toBe(
      'expected an object, got "x"',
    );
    expect(issueMessage(issuesOf(v.array(v.string()), {})[0]!)).toBe(
      'expected an array, got an object',
    );
    expect(issueMessage(issuesOf(v.union([v.string(), v.number()]), true)[0]!)).toBe(
      'expected string or number, got true',
    );
  });
  it('reports missing keys as required and unknown keys by name', () => {
    expect(issueMessage(issuesOf(v.object({ a: v.string() }), {})[0]!)).toBe('required');
    expect(issueMessage(issuesOf(v.strictObject({}), { b: 1 })[0]!)).toBe('unknown key "b"');
  });
  it('explains number and length limits', () => {
    expect(issueMessage(issuesOf(v.pipe(v.number(), v.minValue(1)), 0)[0]!)).toBe(
      'must be at least 1, got 0',
    );
    expect(issueMessage(issuesOf(v.pipe(v.number(), v.maxValue(9)), 10)[0]!)).toBe(
      'must be at most 9, got 10',
    );
    expect(issueMessage(issuesOf(v.pipe(v.number(), v.integer()), 1.5)[0]!)).toBe(
      'must be a whole number, got 1.5',
    );
    expect(issueMessage(issuesOf(v.pipe(v.array(v.string()), v.minLength(1)), [])[0]!)).toBe(
      'must not be empty',
    );
    expect(issueMessage(issuesOf(v.pipe(v.string(), v.minLength(1)), '')[0]!)).toBe(
      'must not be an empty string',
    );
    expect(issueMessage(issuesOf(v.pipe(v.string(), v.minLength(3)), 'a')[0]!)).toBe(
      'must have at least 3 characters',
    );
    expect(issueMessage(issuesOf(v.pipe(v.array(v.number()), v.maxLength(1)), [1, 2])[0]!)).toBe(
      'must have at most 1 items',
    );
  });
  it('keeps messages a schema set itself', () => {
    expect(issueMessage(issuesOf(v.string('give me text'), 1)[0]!)).toBe('give me text');
  });
});

describe('issuePath / problemsFromValibot', () => {
  it('reads keys and indexes under a prefix', () => {
    const issues = issuesOf(v.object({ to: v.array(v.string()) }), { to: ['a', 2] });
    expect(issuePath(issues[0]!, ['routes', 3])).toEqual(['routes', 3, 'to', 1]);
    expect(problemsFromValibot(issues, ['x'])).toEqual([
      { path: ['x', 'to', 1], message: 'expected string, got 2', valueDependent: false },
    ]);
    // A format check could be met by a value a reference resolves to; a type check could not.
    const format = issuesOf(v.object({ url: v.pipe(v.string(), v.url()) }), { url: 'nope' });
    expect(problemsFromValibot(format)[0]!.valueDependent).toBe(true);
  });
});

describe('parsePath', () => {
  it('reads back every path formatPath writes', () => {
    for (const path of [
      ['pipelines', 'daily', 'routes', 2, 'to', 0],
      ['destinations', 'hook', 'headers', 'x-api-key'],
      ['a', 'b c', 1],
      ['connections', 'x.y'],
      [],
    ]) {
      expect(parsePath(formatPath(path))).toEqual(path);
    }
    expect(parsePath('--param')).toEqual(['--param']);
  });
});

describe('toConfigIssues', () => {
  it('formats paths, drops duplicates and edits messages', () => {
    const issues = toConfigIssues(
      [
        { path: ['pipelines', 'daily', 'routes', 2, 'to', 0], message: 'bad' },
        { path: ['pipelines', 'daily', 'routes', 2, 'to', 0], message: 'bad' },
        { path: ['headers', 'x-api key'], message: 'odd' },
      ],
      (p) => p.message.toUpperCase(),
    );
    expect(issues).toEqual([
      { path: 'pipelines.daily.routes[2].to[0]', message: 'BAD' },
      { path: 'headers["x-api key"]', message: 'ODD' },
    ]);
  });
});
