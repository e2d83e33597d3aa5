import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  PluginRegistry,
  createPluginContext,
  defineTransform,
  definePlugin,
  parseConfig,
  type SluiceRecord,
  type TransformFn,
} from '@sluice/core';
import { builtinTransforms, routerPlugin, templateTransform } from './index.js';

const ctx = createPluginContext();
const registry = new PluginRegistry().register(routerPlugin);
const make = (kind: string, config: Record<string, unknown>): TransformFn =>
  registry.createTransform(kind, config, ctx, ['t']);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const base: SluiceRecord = {
  date: '20261124',
  channel: 'email',
  sessions: '120',
  utm: { source: 'nl', medium: 'mail' },
  items: [{ sku: 'a' }, { sku: 'b' }],
};

describe('built-in transforms as a plugin', () => {
  it('registers every kind through defineTransform', () => {
    expect(registry.kinds('transform')).toEqual([
      'cast',
      'compute',
      'drop',
      'flatten',
      'omit',
      'pick',
      'rename',
      'set',
      'template',
      'unnest',
    ]);
    for (const t of builtinTransforms) expect(t.type).toBe('transform');
    expect(routerPlugin.name).toBe('@sluice/router');
  });

  it('validates options with each schema', () => {
    expect(configError(() => make('pick', { fields: [] })).issues[0]!.path).toBe('t.fields');
    expect(configError(() => make('pick', { fields: ['a'], extra: 1 })).issues[0]!.path).toBe(
      't.extra',
    );
    expect(configError(() => make('set', { field: 'a' })).issues[0]!.message).toMatch(
      /exactly one of/,
    );
    expect(configError(() => make('cast', { fields: { a: 'float' } })).issues[0]!.path).toBe(
      't.fields.a',
    );
  });
});

describe('pick / omit / rename', () => {
  it('pick keeps listed fields, nested ones keep their nesting', () => {
    expect(make('pick', { fields: ['date', 'nope'] })(base)).toEqual({ date: '20261124' });
    expect(make('pick', { fields: ['channel', '$.utm.source'] })(base)).toEqual({
      channel: 'email',
      utm: { source: 'nl' },
    });
  });
  it('omit removes fields and never mutates the input', () => {
    const input = structuredClone(base);
    expect(make('omit', { fields: ['items', '$.utm.medium'] })(input)).toEqual({
      date: '20261124',
      channel: 'email',
      sessions: '120',
      utm: { source: 'nl' },
    });
    expect(input).toEqual(base);
  });
  it('omit of top-level names makes one copy with the same members, in the same order, as the general path', () => {
    const input = JSON.parse(
      '{"b":1,"__proto__":{"x":1},"a":2,"2":"two","c":null,"keep":[1]}',
    ) as typeof base;
    const general = (record: typeof base) => {
      let out: typeof base = { ...record };
      for (const key of ['a', 'c', 'missing']) {
        if (Object.hasOwn(out, key)) {
          out = { ...out };
          delete out[key];
        }
      }
      return out;
    };
    const out = make('omit', { fields: ['a', 'c', 'missing'] })(input) as typeof base;
    expect(Object.keys(out)).toEqual(['2', 'b', '__proto__', 'keep']);
    expect(out).toEqual(general(input));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(out).not.toBe(input);
    expect(make('omit', { fields: ['nope'] })(input)).not.toBe(input);
    expect(make('omit', { fields: ['nope'] })(input)).toEqual(input);
  });
  it('rename moves fields, including into and out of nested objects', () => {
    expect(
      make('rename', { fields: { sessions: 'visits', '$.utm.source': 'source', nope: 'x' } })(base),
    ).toEqual({
      date: '20261124',
      channel: 'email',
      visits: '120',
      source: 'nl',
      utm: { medium: 'mail' },
      items: base.items,
    });
  });
  it('rejects non-singular JSONPaths as field references', () => {
    expect(configError(() => make('pick', { fields: ['$.items[*].sku'] })).issues[0]!.path).toBe(
      'fields[0]',
    );
  });
});

describe('set', () => {
  it('sets constants (copied per record) and JSONPath results', () => {
    const fn = make('set', { field: '$.meta.tags', value: ['x'] });
    const a = fn({}) as SluiceRecord;
    const b = fn({}) as SluiceRecord;
    expect(a).toEqual({ meta: { tags: ['x'] } });
    expect((a.meta as { tags: unknown }).tags).not.toBe((b.meta as { tags: unknown }).tags);
    expect(make('set', { field: 'source', from: '$.utm.source' })(base)).toMatchObject({
      source: 'nl',
    });
    expect(make('set', { field: 'source', from: '$.utm.nope' })(base)).toMatchObject({
      source: null,
    });
    expect(make('set', { field: 'skus', from: '$.items[*].sku' })(base)).toMatchObject({
      skus: ['a', 'b'],
    });
    expect(make('set', { field: 'n', value: 0 })({})).toEqual({ n: 0 });
  });
  it('sets "__proto__" as a plain field without touching prototypes', () => {
    const out = make('set', { field: '__proto__', value: { polluted: true } })({}) as SluiceRecord;
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
  it('fails a record when the path runs through a scalar', () => {
    expect(() => make('set', { field: '$.channel.x', value: 1 })(base)).toThrow(/is not an object/);
  });
  it('reports bad JSONPaths with their position', () => {
    expect(configError(() => make('set', { field: 'a', from: '$[' })).issues[0]!.message).toMatch(
      /position/,
    );
  });
});

describe('template', () => {
  it('renders record fields with Liquid', () => {
    const fn = make('template', {
      field: 'msg',
      template: '{{ channel | upcase }} {{ utm.source }} {{ record.sessions }}',
    });
    expect((fn(base) as SluiceRecord).msg).toBe('EMAIL nl 120');
  });
  it('is sandboxed: no prototype access, no file system, unknown filters rejected', () => {
    expect(
      (
        make('template', {
          field: 'x',
          template: '{{ channel.constructor }}|{{ __proto__ }}|{{ items.size }}',
        })(base) as SluiceRecord
      ).x,
    ).toBe('||2');
    expect(() =>
      make('template', { field: 'x', template: "{% include '/etc/passwd' %}" })(base),
    ).toThrow();
    expect(
      configError(() => make('template', { field: 'x', template: '{{ a | nosuchfilter }}' }))
        .issues[0]!.path,
    ).toBe('template');
    expect(
      configError(() => make('template', { field: 'x', template: '{% if %}' })).issues[0]!.message,
    ).toMatch(/invalid Liquid template/);
  });
  it('strictVariables fails the record on a missing variable', () => {
    expect(() =>
      make('template', { field: 'x', template: '{{ nope }}', strictVariables: true })(base),
    ).toThrow(/undefined variable/);
  });
});

describe('cast', () => {
  it('converts each type', () => {
    const fn = make('cast', {
      fields: {
        sessions: 'integer',
        date: 'date',
        n: 'number',
        b: 'boolean',
        s: 'string',
        o: 'string',
        t: 'datetime',
        z: 'number',
      },
    });
    expect(
      fn({
        sessions: ' 120 ',
        date: '20261124',
        n: '1.5',
        b: 'yes',
        s: 3,
        o: { a: 1 },
        t: '2026-11-24T08:00:00+01:00',
        z: null,
      }),
    ).toEqual({
      sessions: 120,
      date: '2026-11-24',
      n: 1.5,
      b: true,
      s: '3',
      o: '{"a":1}',
      t: '2026-11-24T07:00:00.000Z',
      z: null,
    });
    expect(fn({ b: 0, t: 0 })).toEqual({ b: false, t: '1970-01-01T00:00:00.000Z' });
  });
  it.each([
    [
      { sessions: 'integer' },
      { sessions: '1.5' },
      /field \$\.sessions: cannot convert "1.5" to integer/,
    ],
    [{ n: 'number' }, { n: 'abc' }, /cannot convert "abc" to number/],
    [{ n: 'number' }, { n: '' }, /to number/],
    [{ b: 'boolean' }, { b: 'maybe' }, /to boolean/],
    [{ d: 'date' }, { d: '2026-02-31' }, /to date/],
    [{ d: 'date' }, { d: 'next tuesday' }, /to date/],
    [{ d: 'date' }, { d: true }, /to date/],
  ] as const)('fails clearly: %j on %j', (fields, record, message) => {
    expect(() => make('cast', { fields })(record as SluiceRecord)).toThrow(message);
  });
  it("stores null on failure with onFailure: 'null'", () => {
    expect(make('cast', { fields: { n: 'number' }, onFailure: 'null' })({ n: 'x' })).toEqual({
      n: null,
    });
  });
});

describe('flatten / unnest / compute / drop', () => {
  it('flatten joins nested keys', () => {
    expect(make('flatten', {})({ a: { b: { c: 1 } }, l: [1, { x: 2 }], e: {} })).toEqual({
      'a.b.c': 1,
      l: [1, { x: 2 }],
      e: {},
    });
    expect(make('flatten', { separator: '_', arrays: 'index' })({ l: [1, { x: 2 }] })).toEqual({
      l_0: 1,
      l_1_x: 2,
    });
    expect(make('flatten', { field: 'utm' })(base)).toMatchObject({
      'utm.source': 'nl',
      'utm.medium': 'mail',
      channel: 'email',
    });
    expect(make('flatten', { maxDepth: 1 })({ a: { b: { c: 1 } } })).toEqual({ 'a.b': { c: 1 } });
  });
  it('unnest emits one record per element', () => {
    expect(
      make('unnest', { field: 'items', as: 'item' })({ o: 1, items: [{ sku: 'a' }, { sku: 'b' }] }),
    ).toEqual([
      { o: 1, item: { sku: 'a' } },
      { o: 1, item: { sku: 'b' } },
    ]);
    expect(make('unnest', { field: 'items' })({ items: [1, 2] })).toEqual([
      { items: 1 },
      { items: 2 },
    ]);
    expect(
      make('unnest', { field: 'items', merge: true })({ o: 1, items: [{ sku: 'a' }] }),
    ).toEqual([{ o: 1, sku: 'a' }]);
    expect(make('unnest', { field: 'items' })({ items: [] })).toEqual([]);
    expect(make('unnest', { field: 'items' })({})).toEqual([]);
    expect(() => make('unnest', { field: 'items' })({ items: 'x' })).toThrow(/not an array/);
    expect(() => make('unnest', { field: 'items', merge: true })({ items: [1] })).toThrow(
      /not an object/,
    );
    expect(() => make('unnest', { field: 'items', maxElements: 1 })({ items: [1, 2] })).toThrow(
      /maxElements/,
    );
  });
  it('compute stores the expression result', () => {
    const fn = make('compute', {
      field: 'change',
      expression: 'round((sessions - prev) / prev * 100, 1)',
    });
    expect(fn({ sessions: 80, prev: 100 })).toEqual({ sessions: 80, prev: 100, change: -20 });
    expect(fn({ sessions: 80 })).toEqual({ sessions: 80, change: null });
    const error = configError(() => make('compute', { field: 'x', expression: '1 +* 2' }));
    expect(error.issues[0]).toMatchObject({ path: 'expression' });
    expect(error.issues[0]!.message).toMatch(/position 3/);
  });
  it('drop drops always or when a condition matches', () => {
    expect(make('drop', {})(base)).toBeNull();
    const fn = make('drop', { when: { path: '$.channel', op: 'eq', value: 'email' } });
    expect(fn(base)).toBeNull();
    expect(fn({ channel: 'paid' })).toEqual({ channel: 'paid' });
    expect(
      configError(() => make('drop', { when: { path: '$.a', op: 'bad' } })).issues[0]!.path,
    ).toBe('when.op');
  });
});

describe('custom transforms', () => {
  it('are ordinary plugin definitions', () => {
    const upper = defineTransform({
      kind: 'upper',
      version: '1.0.0',
      configSchema: v.object({ field: v.string() }),
      create:
        ({ field }) =>
        (record) => ({ ...record, [field]: String(record[field] ?? '').toUpperCase() }),
    });
    const reg = new PluginRegistry()
      .register(routerPlugin)
      .register(definePlugin({ name: 'x', sluice: '^1', transforms: [upper] }));
    expect(reg.createTransform('upper', { field: 'a' }, ctx)({ a: 'b' })).toEqual({ a: 'B' });
  });
});

describe('template time zone', () => {
  it('renders dates in UTC by default and in the configured zone otherwise', () => {
    const utc = templateTransform.create(
      parseConfig(templateTransform.configSchema, {
        field: 'd',
        template: "{{ at | date: '%Y-%m-%d %H:%M' }}",
      }),
      createPluginContext(),
    );
    expect(utc({ at: '2026-11-25T23:30:00Z' })).toEqual({
      at: '2026-11-25T23:30:00Z',
      d: '2026-11-25 23:30',
    });
    const berlin = templateTransform.create(
      parseConfig(templateTransform.configSchema, {
        field: 'd',
        template: "{{ at | date: '%Y-%m-%d %H:%M' }}",
        timeZone: 'Europe/Berlin',
      }),
      createPluginContext(),
    );
    expect(berlin({ at: '2026-11-25T23:30:00Z' })).toEqual({
      at: '2026-11-25T23:30:00Z',
      d: '2026-11-26 00:30',
    });
    expect(() =>
      parseConfig(templateTransform.configSchema, {
        field: 'd',
        template: 'x',
        timeZone: 'Mars/Base',
      }),
    ).toThrow('timeZone');
  });
});
