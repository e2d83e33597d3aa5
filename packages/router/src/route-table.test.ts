import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  PluginRegistry,
  createPluginContext,
  definePlugin,
  defineTransform,
  type RouteSpec,
  type SluiceRecord,
} from '@sluice/core';
import { compileRouteTable, evaluateRecord } from './route-table.js';
import { dryRun } from './dry-run.js';
import { routerPlugin } from './transforms/index.js';

const ctx = createPluginContext();
const destinations = ['warehouse', 'slack', 'archive'];
const compile = (
  routes: RouteSpec[],
  extra: Partial<Parameters<typeof compileRouteTable>[1]> = {},
) => compileRouteTable(routes, { ctx, destinations, ...extra });

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('compileRouteTable', () => {
  it('sorts by priority, ties keep config order', () => {
    const table = compile([
      { name: 'a', to: ['warehouse'] },
      { name: 'b', priority: 5, to: ['warehouse'] },
      { name: 'c', to: ['warehouse'] },
      { name: 'd', priority: 5, to: ['warehouse'] },
      { name: 'e', priority: -1, to: ['warehouse'] },
    ]);
    expect(table.routes.map((r) => r.name)).toEqual(['b', 'd', 'a', 'c', 'e']);
    expect(table.routes[0]).toMatchObject({ mode: 'continue', onError: 'dead-letter', index: 1 });
  });

  it('reports every problem with its path', () => {
    const error = configError(() =>
      compile(
        [
          { name: 'a', to: ['nowhere'] },
          { name: 'b', to: ['warehouse', 'warehouse'] },
          { name: 'x', to: ['slack'], when: '$.a[?@.b >' },
          {
            name: 'y',
            to: ['slack'],
            transform: [
              { kind: 'pick', fields: [] },
              { kind: 'nope' },
              { kind: 'compute', field: 'x', expression: '1 +' },
            ],
          },
          { name: 'z', to: ['slack'], when: { path: '$.items[*].qty', op: 'gt', value: 1 } },
        ],
        { path: ['pipelines', 'daily'] },
      ),
    );
    expect(error.issues.map((i) => i.path)).toEqual([
      'pipelines.daily.routes[0].to[0]',
      'pipelines.daily.routes[1].to[1]',
      'pipelines.daily.routes[2].when',
      'pipelines.daily.routes[3].transform[0].fields',
      'pipelines.daily.routes[3].transform[1].kind',
      'pipelines.daily.routes[3].transform[2].expression',
      'pipelines.daily.routes[4].when.path',
    ]);
    expect(error.issues[0]!.message).toBe(
      'unknown destination "nowhere" (known: warehouse, slack, archive)',
    );
    expect(error.issues[1]!.message).toBe('destination "warehouse" is listed twice');
    expect(error.issues[2]!.message).toMatch(/invalid JSONPath at position 10/);
    expect(error.issues[4]!.message).toMatch(
      /unknown transform kind "nope" \(known: cast, compute/,
    );
    expect(error.issues[6]!.message).toMatch(
      /is not a field path: a wildcard selects several values at position 8/,
    );
  });

  it('refuses, naming the key, what is not a route as the config schema outputs it (that schema explains each problem)', () => {
    const error = configError(() =>
      compile(
        [
          { name: 'a', to: ['warehouse'], mode: 'first' as never },
          { name: 'b', to: ['warehouse'], onError: 'ignore' as never },
          { name: 'c', to: ['warehouse'], priority: Infinity },
          { name: '', to: ['warehouse'] },
          { name: 'd', to: [] },
          { name: 'e', to: ['slack'], colour: 'red' } as never,
          { name: 'f', to: ['slack'], transform: 'pick' as never },
          42 as never,
        ],
        { path: ['pipelines', 'daily'], defaultRoute: { to: ['archive'], when: '$.a' } as never },
      ),
    );
    const hint = "validate routes with @sluice/config's RouteSchema, which names every problem";
    expect(error.issues).toEqual([
      {
        path: 'pipelines.daily.routes[0]',
        message: `is not a route ("mode" does not fit); ${hint}`,
      },
      {
        path: 'pipelines.daily.routes[1]',
        message: `is not a route ("onError" does not fit); ${hint}`,
      },
      {
        path: 'pipelines.daily.routes[2]',
        message: `is not a route ("priority" does not fit); ${hint}`,
      },
      {
        path: 'pipelines.daily.routes[3]',
        message: `is not a route ("name" does not fit); ${hint}`,
      },
      { path: 'pipelines.daily.routes[4]', message: `is not a route ("to" does not fit); ${hint}` },
      {
        path: 'pipelines.daily.routes[5]',
        message: `is not a route ("colour" does not fit); ${hint}`,
      },
      {
        path: 'pipelines.daily.routes[6]',
        message: `is not a route ("transform" does not fit); ${hint}`,
      },
      { path: 'pipelines.daily.routes[7]', message: `is not a route (not an object); ${hint}` },
      {
        path: 'pipelines.daily.defaultRoute',
        message:
          'is not a route ("when" does not fit); validate routes with @sluice/config\'s DefaultRouteSchema, which names every problem',
      },
    ]);
  });

  it('rejects duplicate route names', () => {
    const error = configError(() =>
      compile([
        { name: 'a', to: ['slack'] },
        { name: 'a', to: ['slack'] },
      ]),
    );
    expect(error.issues).toEqual([
      { path: 'routes[1].name', message: 'duplicate route name "a" (also routes[0])' },
    ]);
  });

  it('finds plugin transforms in the registry', () => {
    const tag = defineTransform({
      kind: 'tag',
      version: '1.0.0',
      configSchema: v.object({ value: v.string() }),
      create:
        ({ value }) =>
        (r) => ({ ...r, tag: value }),
    });
    const registry = new PluginRegistry()
      .register(routerPlugin)
      .register(definePlugin({ name: 'tags', sluice: '^1', transforms: [tag] }));
    const table = compile(
      [
        {
          name: 'a',
          to: ['slack'],
          transform: [
            { kind: 'tag', value: 'x' },
            { kind: 'pick', fields: ['tag'] },
          ],
        },
      ],
      { registry },
    );
    expect(evaluateRecord({ a: 1 }, table).matches[0]!.records).toEqual([{ tag: 'x' }]);
  });
});

describe('evaluateRecord', () => {
  const routes: RouteSpec[] = [
    {
      name: 'paid',
      priority: 10,
      when: { path: '$.channel', op: 'eq', value: 'paid' },
      to: ['warehouse'],
      mode: 'stop',
    },
    { name: 'big', priority: 5, when: '$[?$.sessions > 100]', to: ['slack'] },
    { name: 'all', to: ['warehouse'], transform: [{ kind: 'pick', fields: ['channel'] }] },
  ];
  const table = compile(routes, { defaultRoute: { to: ['archive'] } });

  it('stop: first match wins', () => {
    const e = evaluateRecord({ channel: 'paid', sessions: 500 }, table);
    expect(e.matches.map((m) => m.route.name)).toEqual(['paid']);
  });

  it('continue: fans out, applying each route transforms independently', () => {
    const e = evaluateRecord({ channel: 'email', sessions: 500 }, table);
    expect(e.matches.map((m) => [m.route.name, m.records])).toEqual([
      ['big', [{ channel: 'email', sessions: 500 }]],
      ['all', [{ channel: 'email' }]],
    ]);
    expect(e.defaulted).toBe(false);
  });

  it('uses the default route when nothing matches, and reports unmatched without one', () => {
    const narrow = [
      { name: 'paid', when: { path: '$.channel', op: 'eq', value: 'paid' }, to: ['warehouse'] },
    ] as RouteSpec[];
    const withDefault = compile(narrow, { defaultRoute: { name: 'rest', to: ['archive'] } });
    const e = evaluateRecord({ channel: 'x' }, withDefault);
    expect(e).toMatchObject({ defaulted: true, unmatched: false });
    expect(e.matches[0]!.route.name).toBe('rest');
    const without = compile(narrow);
    expect(evaluateRecord({ channel: 'x' }, without)).toMatchObject({
      defaulted: false,
      unmatched: true,
      matches: [],
    });
  });

  it('reports transform failures per route and keeps evaluating other routes', () => {
    const t = compile([
      { name: 'bad', to: ['slack'], transform: [{ kind: 'cast', fields: { n: 'number' } }] },
      { name: 'good', to: ['warehouse'] },
    ]);
    const e = evaluateRecord({ n: 'abc' }, t);
    expect(e.failures.map((f) => [f.route.name, f.error.message])).toEqual([
      ['bad', 'route "bad" transform[0] (cast): cast: field $.n: cannot convert "abc" to number'],
    ]);
    expect(e.matches.map((m) => m.route.name)).toEqual(['good']);
  });

  it('is pure: same input, same output, input untouched', () => {
    const record = { channel: 'email', sessions: 500, nested: { a: [1] } };
    const copy = structuredClone(record);
    expect(JSON.stringify(evaluateRecord(record, table).matches.map((m) => m.records))).toBe(
      JSON.stringify(evaluateRecord(record, table).matches.map((m) => m.records)),
    );
    expect(record).toEqual(copy);
  });
});

describe('dryRun', () => {
  it('shows per record which routes matched and what each destination would receive', () => {
    const table = compile(
      [
        {
          name: 'paid',
          priority: 1,
          when: { path: '$.channel', op: 'eq', value: 'paid' },
          to: ['warehouse', 'slack'],
          mode: 'stop',
        },
        {
          name: 'items',
          when: '$.items',
          transform: [{ kind: 'unnest', field: 'items' }],
          to: ['warehouse'],
        },
        {
          name: 'bad',
          when: '$.n',
          transform: [{ kind: 'cast', fields: { n: 'integer' } }],
          to: ['slack'],
          onError: 'drop',
        },
      ],
      { defaultRoute: { to: ['archive'] } },
    );
    const result = dryRun(
      [{ channel: 'paid' }, { items: [1, 2] }, { other: true }, { n: 'x' }],
      table,
    );
    expect(result.destinations).toEqual({
      warehouse: [{ channel: 'paid' }, { items: 1 }, { items: 2 }],
      slack: [{ channel: 'paid' }],
      archive: [{ other: true }],
    });
    expect(result.records[0]).toEqual({
      index: 0,
      routes: [{ route: 'paid', to: ['warehouse', 'slack'], output: [{ channel: 'paid' }] }],
      errors: [],
      defaulted: false,
      unmatched: false,
    });
    expect(result.records[3]!.errors).toEqual([
      {
        route: 'bad',
        message: expect.stringMatching(/cannot convert "x" to integer/),
        onError: 'drop',
      },
    ]);
    expect(result.totals).toEqual({
      records: 4,
      matched: 2,
      defaulted: 1,
      unmatched: 0,
      errors: 1,
    });
  });
});

describe('shared transform prefixes', () => {
  const omit = { kind: 'omit', fields: ['note', 'agent'] };
  const record = { id: 1, channel: 'paid', note: 'n', agent: 'a', sessions: 5 };
  // The same routes, once as written and once with a step option that makes every chain unique,
  // which turns sharing off: both must give the same outputs.
  const routes = (unique: boolean): RouteSpec[] => [
    {
      name: 'a',
      priority: 3,
      when: { path: 'channel', op: 'eq', value: 'paid' },
      transform: [omit, { kind: 'set', field: 'rule', value: 'a' }],
      to: ['warehouse'],
    },
    {
      name: 'b',
      priority: 2,
      transform: [
        { kind: 'omit', fields: unique ? ['agent', 'note', 'x-b'] : ['note', 'agent'] },
        { kind: 'set', field: 'rule', value: 'b' },
      ],
      to: ['slack'],
    },
    {
      name: 'c',
      priority: 1,
      transform: [
        { kind: 'omit', fields: unique ? ['note', 'agent', 'x-c'] : ['note', 'agent'] },
        { kind: 'set', field: 'rule', value: 'c' },
      ],
      to: ['archive'],
    },
    {
      name: 'd',
      transform: [
        { kind: 'omit', fields: unique ? ['note', 'agent', 'x-d'] : ['note', 'agent'] },
        { kind: 'set', field: 'rule', value: 'c' },
      ],
      to: ['archive'],
    },
  ];

  it('marks the steps of chain prefixes several routes start with', () => {
    const table = compile(routes(false));
    const shared = table.routes.map((r) => r.steps.map((s) => s.shared));
    // omit is shared by all four; 'set rule c' after it by c and d only.
    expect(shared[0]![0]).toBeDefined();
    expect(new Set(shared.map((s) => s[0]))).toEqual(new Set([shared[0]![0]]));
    expect(shared[0]![1]).toBeUndefined();
    expect(shared[1]![1]).toBeUndefined();
    expect(shared[2]![1]).toBeDefined();
    expect(shared[3]![1]).toBe(shared[2]![1]);
    expect(
      compile(routes(true)).routes.every((r) => r.steps.every((s) => s.shared === undefined)),
    ).toBe(true);
  });

  it('gives every route the same outputs as running its own chain', () => {
    const records: SluiceRecord[] = [record, { ...record, channel: 'email' }, {}, { note: 'only' }];
    for (const r of records) {
      const one = evaluateRecord(r, compile(routes(false)));
      const own = evaluateRecord(r, compile(routes(true)));
      expect(one.matches.map((m) => [m.route.name, m.records])).toEqual(
        own.matches.map((m) => [m.route.name, m.records]),
      );
      expect(r).toEqual(records[records.indexOf(r)]);
    }
    const { matches } = evaluateRecord(record, compile(routes(false)));
    expect(matches.map((m) => m.records[0])).toEqual([
      { id: 1, channel: 'paid', sessions: 5, rule: 'a' },
      { id: 1, channel: 'paid', sessions: 5, rule: 'b' },
      { id: 1, channel: 'paid', sessions: 5, rule: 'c' },
      { id: 1, channel: 'paid', sessions: 5, rule: 'c' },
    ]);
  });

  it('runs a shared prefix once per record, and reports its failure in every route', () => {
    let calls = 0;
    const counting = defineTransform({
      kind: 'counting',
      version: '1.0.0',
      configSchema: v.object({}),
      create: () => (r) => {
        calls++;
        return r;
      },
    });
    const registry = new PluginRegistry()
      .register(routerPlugin)
      .register(definePlugin({ name: 'p', sluice: '^1', transforms: [counting] }));
    // A plugin transform is never shared (nothing says it is pure): it runs once per route.
    const withPlugin = compile(
      [
        { name: 'a', transform: [{ kind: 'counting' }], to: ['warehouse'] },
        { name: 'b', transform: [{ kind: 'counting' }], to: ['slack'] },
      ],
      { registry },
    );
    evaluateRecord(record, withPlugin);
    expect(calls).toBe(2);
    expect(withPlugin.routes.every((r) => r.steps[0]!.shared === undefined)).toBe(true);

    const failing = compile([
      {
        name: 'a',
        priority: 1,
        transform: [{ kind: 'cast', fields: { note: 'number' } }],
        to: ['warehouse'],
      },
      { name: 'b', transform: [{ kind: 'cast', fields: { note: 'number' } }], to: ['slack'] },
    ]);
    expect(failing.routes[0]!.steps[0]!.shared).toBeDefined();
    const { failures, matches } = evaluateRecord({ note: 'not a number' }, failing);
    expect(matches).toEqual([]);
    expect(failures.map((f) => [f.route.name, f.error.message])).toEqual([
      ['a', expect.stringMatching(/^route "a" transform\[0\] \(cast\): /)],
      ['b', expect.stringMatching(/^route "b" transform\[0\] \(cast\): /)],
    ]);
    expect(failures[0]!.error.message.replace('"a"', '"b"')).toBe(failures[1]!.error.message);
  });

  it('shares chains that differ only in the order of option keys', () => {
    const table = compile([
      {
        name: 'a',
        transform: [{ kind: 'set', field: 'x', value: { p: 1, q: 2 } }],
        to: ['warehouse'],
      },
      { name: 'b', transform: [{ kind: 'set', value: { q: 2, p: 1 }, field: 'x' }], to: ['slack'] },
    ]);
    expect(table.routes[0]!.steps[0]!.shared).toBe(table.routes[1]!.steps[0]!.shared);
    expect(table.routes[0]!.steps[0]!.shared).toBeDefined();
  });
});
