import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { formatPath, issuesFromValibot, parseConfig } from './validate.js';
import { createRedactor, REDACTED } from './redact.js';
import { isRecord } from './record.js';

describe('formatPath', () => {
  it('joins keys and indexes and quotes odd keys', () => {
    expect(formatPath(['pipelines', 'daily', 'routes', 2, 'to', 0])).toBe(
      'pipelines.daily.routes[2].to[0]',
    );
    expect(formatPath(['headers', 'x api key'])).toBe('headers["x api key"]');
    expect(formatPath([])).toBe('');
    expect(formatPath([0, 'a'])).toBe('[0].a');
  });
});

describe('parseConfig', () => {
  const schema = v.strictObject({ url: v.string(), retries: v.optional(v.number(), 3) });

  it('returns the typed output with defaults', () => {
    expect(parseConfig(schema, { url: 'x' })).toEqual({ url: 'x', retries: 3 });
  });

  it('throws a ConfigError with every issue under the prefix', () => {
    try {
      parseConfig(schema, { retries: 'x', bogus: true }, ['destinations', 'hook']);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual([
        'destinations.hook.url',
        'destinations.hook.retries',
        'destinations.hook.bogus',
      ]);
    }
  });

  it('maps issues without a path to the prefix', () => {
    const result = v.safeParse(v.string(), 1);
    expect(result.success).toBe(false);
    if (!result.success)
      expect(issuesFromValibot(result.issues, ['x'])).toEqual([
        { path: 'x', message: result.issues[0].message },
      ]);
  });
});

describe('createRedactor', () => {
  it('replaces secrets deep inside values, longest first', () => {
    const redact = createRedactor(['abc', 'abcdef', 'x']);
    expect(redact('token=abcdef;other=abc')).toBe(`token=${REDACTED};other=${REDACTED}`);
    expect(redact({ a: ['abc', 1, null], b: { c: 'abcdef' } })).toEqual({
      a: [REDACTED, 1, null],
      b: { c: REDACTED },
    });
    const err = redact(new TypeError('bad abc'));
    expect(err.message).toBe(`bad ${REDACTED}`);
    expect(err.name).toBe('TypeError');
    // too-short secrets are ignored instead of shredding every string
    expect(redact('x marks')).toBe('x marks');
    const cyclic: Record<string, unknown> = { s: 'abc' };
    cyclic.self = cyclic;
    expect((redact(cyclic) as Record<string, unknown>).s).toBe(REDACTED);
  });

  it('is the identity without secrets', () => {
    const value = { a: 1 };
    expect(createRedactor([])(value)).toBe(value);
  });
});

describe('isRecord', () => {
  it('accepts only plain objects', () => {
    expect(isRecord({ a: 1 })).toBe(true);
    expect(isRecord(Object.create(null))).toBe(true);
    expect(isRecord([])).toBe(false);
    expect(isRecord(null)).toBe(false);
    expect(isRecord(new Date())).toBe(false);
    expect(isRecord('x')).toBe(false);
  });
});

describe('jsonDepthExceeds', () => {
  it('measures nesting without recursion', async () => {
    const { jsonDepthExceeds, MAX_JSON_DEPTH } = await import('./record.js');
    expect(jsonDepthExceeds({ a: [{ b: 1 }] }, 2)).toBe(true);
    expect(jsonDepthExceeds({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(jsonDepthExceeds('x', 0)).toBe(false);
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(jsonDepthExceeds(deep)).toBe(true);
    expect(MAX_JSON_DEPTH).toBe(512);
  });
});
