import { describe, expect, it } from 'vitest';
import { ConfigError, type ConditionSpec, type SluiceRecord } from '@sluice/core';
import { compileCondition } from './conditions.js';
import { compileSafeRegex } from './safe-regex.js';

const record: SluiceRecord = {
  channel: 'email',
  sessions: 120,
  date: '2026-11-24',
  tags: ['promo', 'eu', { id: 1 }],
  utm: { source: 'newsletter', medium: null },
  items: [
    { sku: 'a', qty: 7 },
    { sku: 'b', qty: 1 },
  ],
};

const test = (when: ConditionSpec, r: SluiceRecord = record) => compileCondition(when, 'when')(r);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('JSONPath conditions', () => {
  it('match when the nodelist is non-empty', () => {
    expect(test('$.utm.source')).toBe(true);
    expect(test('$.utm.medium')).toBe(true); // null is a node
    expect(test('$.missing')).toBe(false);
    expect(test('$.items[?@.qty > 5]')).toBe(true);
    expect(test('$.items[?@.qty > 50]')).toBe(false);
    expect(test({ jsonpath: '$[?$.sessions > 100]' })).toBe(true);
    expect(test({ jsonpath: "$.tags[?@ == 'eu']" })).toBe(true);
  });

  it('are config errors with the offending position', () => {
    const error = configError(() => compileCondition('$.items[?@.qty >', 'routes[2].when'));
    expect(error.issues[0]!.path).toBe('routes[2].when');
    expect(error.issues[0]!.message).toMatch(/invalid JSONPath at position 16/);
  });
});

describe('structured conditions', () => {
  const cases: [ConditionSpec, boolean][] = [
    [{ path: '$.channel', op: 'eq', value: 'email' }, true],
    [{ path: '$.channel', op: 'eq', value: 'paid' }, false],
    [{ path: '$.utm', op: 'eq', value: { medium: null, source: 'newsletter' } }, true],
    [{ path: '$.missing', op: 'eq', value: null }, false],
    [{ path: '$.channel', op: 'ne', value: 'paid' }, true],
    [{ path: '$.missing', op: 'ne', value: 'paid' }, true],
    [{ path: '$.sessions', op: 'lt', value: 121 }, true],
    [{ path: '$.sessions', op: 'lt', value: 120 }, false],
    [{ path: '$.sessions', op: 'lte', value: 120 }, true],
    [{ path: '$.sessions', op: 'gt', value: 119 }, true],
    [{ path: '$.sessions', op: 'gt', value: 120 }, false],
    [{ path: '$.sessions', op: 'gte', value: 120 }, true],
    [{ path: '$.sessions', op: 'gt', value: '100' }, false], // no cross-type comparison
    [{ path: '$.date', op: 'gte', value: '2026-11-01' }, true],
    [{ path: '$.date', op: 'lt', value: '2026-11-01' }, false],
    [{ path: '$.missing', op: 'lt', value: 5 }, false],
    [{ path: '$.channel', op: 'in', value: ['paid', 'email'] }, true],
    [{ path: '$.utm', op: 'in', value: [{ source: 'newsletter', medium: null }] }, true],
    [{ path: '$.channel', op: 'in', value: ['paid'] }, false],
    [{ path: '$.missing', op: 'in', value: [null] }, false],
    [{ path: '$.channel', op: 'nin', value: ['paid'] }, true],
    [{ path: '$.channel', op: 'nin', value: ['email'] }, false],
    [{ path: '$.utm.source', op: 'exists' }, true],
    [{ path: '$.utm.medium', op: 'exists', value: true }, true],
    [{ path: '$.utm.campaign', op: 'exists' }, false],
    [{ path: '$.utm.campaign', op: 'exists', value: false }, true],
    [{ path: '$.channel', op: 'contains', value: 'mai' }, true],
    [{ path: '$.tags', op: 'contains', value: 'eu' }, true],
    [{ path: '$.tags', op: 'contains', value: { id: 1 } }, true],
    [{ path: '$.tags', op: 'contains', value: 'us' }, false],
    [{ path: '$.sessions', op: 'contains', value: 1 }, false],
    [{ path: '$.channel', op: 'startsWith', value: 'em' }, true],
    [{ path: '$.channel', op: 'startsWith', value: 'ail' }, false],
    [{ path: '$.channel', op: 'endsWith', value: 'ail' }, true],
    [{ path: '$.sessions', op: 'endsWith', value: '0' }, false],
    [{ path: '$.utm.source', op: 'matches', value: '^news' }, true],
    [{ path: '$.utm.source', op: 'matches', value: { pattern: '^NEWS', flags: 'i' } }, true],
    [{ path: '$.utm.source', op: 'matches', value: { pattern: 'letter$', maxLength: 5 } }, false],
    [{ path: '$.sessions', op: 'matches', value: '1' }, false],
    [{ path: '$.items[0].sku', op: 'eq', value: 'a' }, true],
    [{ path: '$.items[-1].qty', op: 'eq', value: 1 }, true],
  ];
  it.each(cases)('%j -> %s', (when, expected) => {
    expect(test(when)).toBe(expected);
  });

  it('name the compared field in the one field-path syntax: a key, a singular JSONPath, or $ for the record', () => {
    expect(test({ path: 'channel', op: 'eq', value: 'email' })).toBe(true);
    expect(test({ path: 'utm.source', op: 'exists' }, { 'utm.source': 'x' })).toBe(true);
    expect(test({ path: 'utm.source', op: 'exists' })).toBe(false);
    expect(test({ path: "$['utm']['source']", op: 'eq', value: 'newsletter' })).toBe(true);
    expect(test({ path: '$', op: 'eq', value: { a: 1 } }, { a: 1 })).toBe(true);
  });

  it('combines with all / any / not', () => {
    const paid = { path: '$.channel', op: 'eq', value: 'paid' } as const;
    const busy = { path: '$.sessions', op: 'gt', value: 100 } as const;
    expect(test({ all: [busy, '$.utm'] })).toBe(true);
    expect(test({ all: [busy, paid] })).toBe(false);
    expect(test({ any: [paid, busy] })).toBe(true);
    expect(test({ any: [paid, { not: busy }] })).toBe(false);
    expect(test({ not: paid })).toBe(true);
    expect(test({ all: [{ any: [paid, { not: { not: busy } }] }] })).toBe(true);
  });

  it('reports every invalid part with its path', () => {
    const error = configError(() =>
      compileCondition(
        {
          all: [
            { path: '$.a', op: 'nope' as never, value: 1 },
            { path: '$.items[*].sku', op: 'eq', value: 'a' },
            { path: '$.a', op: 'in', value: 'x' },
            { path: '$.a', op: 'eq' },
            { path: '$.a', op: 'matches', value: '(a+)+$' },
            { path: '$.a', op: 'matches', value: '(?<=x)a' },
            { path: '$.a', op: 'matches', value: '(a)\\1' },
            { path: '$.a', op: 'gt', value: [1] },
            { path: '$.a', op: 'startsWith', value: 1 },
            { path: '$.a', op: 'exists', value: 'yes' },
            { any: [] },
            { path: '$.a', op: 'eq', value: 1, extra: true } as never,
            42 as never,
          ],
        },
        'routes[0].when',
      ),
    );
    expect(error.issues.map((i) => i.path)).toEqual([
      'routes[0].when.all[0].op',
      'routes[0].when.all[1].path',
      'routes[0].when.all[2].value',
      'routes[0].when.all[3].value',
      'routes[0].when.all[4].value',
      'routes[0].when.all[5].value',
      'routes[0].when.all[6].value',
      'routes[0].when.all[7].value',
      'routes[0].when.all[8].value',
      'routes[0].when.all[9].value',
      'routes[0].when.all[10].any',
      'routes[0].when.all[11].extra',
      'routes[0].when.all[12]',
    ]);
    expect(error.issues[1]!.message).toMatch(
      /^"\$\.items\[\*\]\.sku" is not a field path: a wildcard selects several values at position 8/,
    );
    expect(error.issues[4]!.message).toMatch(
      /quantifier applied to a group that contains a quantifier/,
    );
    expect(error.issues[5]!.message).toMatch(/lookaround/);
    expect(error.issues[6]!.message).toMatch(/backreference/);
  });
});

describe('compileSafeRegex', () => {
  it.each(['(a|a)*$', '(a*)*', '(?:a+){2,}', '(x+x+)+y', '(\\w|\\d)+'])('rejects %s', (pattern) => {
    expect(() => compileSafeRegex(pattern)).toThrow(/not allowed/);
  });
  it.each([
    '^utm_(source|medium)$',
    '^[a-z]+@[a-z]+\\.(com|org)$',
    '(ab)?c+',
    '\\d{4}-\\d{2}',
    '[(+*]+',
  ])('accepts %s', (pattern) => {
    expect(() => compileSafeRegex(pattern)).not.toThrow();
  });
  it('bounds the tested text', () => {
    const regex = compileSafeRegex('a', '', 3);
    expect(regex.test('aaa')).toBe(true);
    expect(regex.test('aaaa')).toBe(false);
  });
  it('rejects bad flags and long patterns', () => {
    expect(() => compileSafeRegex('a', 'g')).toThrow(/flags/);
    expect(() => compileSafeRegex('a'.repeat(600))).toThrow(/longer/);
    expect(() => compileSafeRegex('(a')).toThrow();
  });
});

describe('{ filter } conditions: the record tested once', () => {
  it('tests the record itself', () => {
    expect(test({ filter: "@.sessions > 100 && @.channel == 'email'" })).toBe(true);
    expect(test({ filter: '@.sessions > 200' })).toBe(false);
    expect(test({ filter: '@.items[?@.qty > 5]' })).toBe(true);
    expect(
      test({
        all: [{ filter: '@.utm.medium == null' }, { path: '$.channel', op: 'eq', value: 'email' }],
      }),
    ).toBe(true);
  });

  it('reports syntax errors with the path, the position and the expression', () => {
    const error = configError(() =>
      compileCondition({ any: [{ filter: '@.a == ' }] } as ConditionSpec, 'routes[1].when'),
    );
    expect(error.issues[0]!.path).toBe('routes[1].when.any[0].filter');
    expect(error.issues[0]!.message).toMatch(
      /^invalid filter expression at position \d+: .* \(in "@\.a == "\)$/,
    );
    expect(
      configError(() => compileCondition({ filter: '' } as ConditionSpec, 'when')).issues[0]!.path,
    ).toBe('when.filter');
    expect(
      configError(() =>
        compileCondition({ filter: '@.a', extra: 1 } as unknown as ConditionSpec, 'when'),
      ).issues[0]!.path,
    ).toBe('when.extra');
  });

  // The fixtures: records with and without members, nested values, absent and null fields.
  const fixtures: SluiceRecord[] = [
    record,
    {},
    { sessions: 150, country: 'DE', channel: 'paid' },
    {
      sessions: 150,
      country: 'DE',
      channel: 'social',
      consent: { marketing: true },
      revenue: 3000,
    },
    { sessions: 99, country: 'AT', channel: 'paid', revenue: 2501, consent: { marketing: false } },
    { sessions: null, country: null, tags: [] },
    { nested: { sessions: 500 }, sessions: 1 },
  ];
  // Each pair: the record-level query as written before issue 19, and the { filter } form.
  const pairs: [string, string][] = [
    ['$[?$.sessions > 100]', '@.sessions > 100'],
    ["$[?$.sessions > 100 && $.country == 'DE']", "@.sessions > 100 && @.country == 'DE'"],
    [
      "$[?$.country == 'DE' && ($.channel == 'paid' || $.channel == 'social')]",
      "@.country == 'DE' && (@.channel == 'paid' || @.channel == 'social')",
    ],
    [
      '$[?$.revenue > 2500 && $.consent.marketing == true]',
      '@.revenue > 2500 && @.consent.marketing == true',
    ],
    ['$[?$.sessions == null]', '@.sessions == null'],
    ['$[?!$.tags]', '!@.tags'],
    ['$[?length($.tags) == 0]', 'length(@.tags) == 0'],
    ['$[?$.items[?@.qty > 5]]', '@.items[?@.qty > 5]'],
  ];
  it.each(pairs)('%s and { filter: %s } agree on every fixture with members', (query, filter) => {
    for (const r of fixtures) {
      const expected = Object.keys(r).length > 0 && test({ filter }, r);
      expect(test(query, r), `${query} on ${JSON.stringify(r)}`).toBe(expected);
      expect(test({ jsonpath: query }, r)).toBe(expected);
    }
  });

  it('agree with a { path, op, value } condition on the same fixtures', () => {
    for (const r of fixtures) {
      expect(test({ filter: '@.sessions > 100' }, r)).toBe(
        test({ path: '$.sessions', op: 'gt', value: 100 }, r),
      );
      expect(test({ filter: "@.country == 'DE'" }, r)).toBe(
        test({ path: 'country', op: 'eq', value: 'DE' }, r),
      );
    }
  });
});

describe('structured conditions: fast paths agree with the general comparison', () => {
  it('eq / ne / in / nin on primitives and objects, top-level and nested paths', () => {
    const records: SluiceRecord[] = [
      record,
      {},
      { channel: null },
      { channel: 'EMAIL' },
      { channel: ['email'] },
      { utm: { source: 'newsletter' } },
    ];
    for (const r of records) {
      expect(test({ path: 'channel', op: 'eq', value: 'email' }, r)).toBe(r.channel === 'email');
      expect(test({ path: '$.channel', op: 'ne', value: 'email' }, r)).toBe(r.channel !== 'email');
      expect(test({ path: 'channel', op: 'eq', value: null }, r)).toBe(r.channel === null);
      expect(test({ path: 'channel', op: 'eq', value: ['email'] }, r)).toBe(
        Array.isArray(r.channel),
      );
      expect(test({ path: 'channel', op: 'in', value: ['email', 'paid'] }, r)).toBe(
        r.channel === 'email',
      );
      expect(test({ path: 'channel', op: 'nin', value: ['email', null] }, r)).toBe(
        r.channel !== 'email' && r.channel !== null,
      );
      expect(test({ path: 'channel', op: 'in', value: [['email']] }, r)).toBe(
        Array.isArray(r.channel),
      );
      expect(test({ path: '$.utm.source', op: 'eq', value: 'newsletter' }, r)).toBe(
        (r.utm as { source?: string } | undefined)?.source === 'newsletter',
      );
      expect(test({ path: 'constructor', op: 'exists' }, r)).toBe(false);
    }
  });
});
