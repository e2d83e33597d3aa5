import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { createPluginContext } from './context.js';
import { ConfigError, FatalError } from './errors.js';
import {
  connectorPages,
  defineConnector,
  defineDestination,
  definePlugin,
  defineTransform,
} from './plugin.js';
import { PluginRegistry, isCompatiblePluginRange } from './registry.js';

const counter = defineConnector({
  kind: 'counter',
  version: '1.0.0',
  configSchema: v.strictObject({ to: v.number() }),
  create: (config) => ({
    async *read(request) {
      const from = typeof request.state === 'number' ? request.state : 0;
      for (let i = from; i < config.to; i++) yield { records: [{ i }], state: i + 1 };
    },
  }),
});
const sink = defineDestination({
  kind: 'sink',
  version: '1.0.0',
  configSchema: v.object({}),
  capabilities: { idempotent: true },
  create: () => ({ async write() {} }),
});
const upper = defineTransform({
  kind: 'upper',
  version: '1.0.0',
  configSchema: v.object({ field: v.string() }),
  create:
    ({ field }) =>
    (record) => ({ ...record, [field]: String(record[field]).toUpperCase() }),
});

describe('PluginRegistry', () => {
  it('registers a plugin and creates instances from validated config', async () => {
    const registry = new PluginRegistry().register(
      definePlugin({
        name: 'p',
        sluice: '^1',
        connectors: [counter],
        destinations: [sink],
        transforms: [upper],
      }),
    );
    expect(registry.plugins()).toEqual(['p']);
    expect(registry.kinds('connector')).toEqual(['counter']);
    const connector = await registry.createConnector('counter', { to: 3 }, createPluginContext());
    const pages = [];
    for await (const page of connector.read({ state: 1 }, new AbortController().signal))
      pages.push(page);
    expect(pages).toEqual([
      { records: [{ i: 1 }], state: 2 },
      { records: [{ i: 2 }], state: 3 },
    ]);
    const fn = registry.createTransform('upper', { field: 'a' }, createPluginContext());
    expect(fn({ a: 'x' })).toEqual({ a: 'X' });
    const dest = await registry.createDestination('sink', {}, createPluginContext());
    await expect(
      dest.write(
        { id: 'b', records: [], pipeline: 'p', runId: 'r', source: 's', attempt: 1 },
        { signal: new AbortController().signal },
      ),
    ).resolves.toBeUndefined();
  });

  it('reports bad plugin config with the path under the given prefix', async () => {
    const registry = new PluginRegistry().register(
      definePlugin({ name: 'p', sluice: '^1', connectors: [counter] }),
    );
    const err = await registry
      .createConnector('counter', { to: 'x', extra: 1 }, createPluginContext(), [
        'pipelines',
        'daily',
        'source',
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).issues.map((i) => i.path);
    expect(paths).toEqual(['pipelines.daily.source.to', 'pipelines.daily.source.extra']);
  });

  it('names the known kinds when a kind is unknown', () => {
    const registry = new PluginRegistry().register(
      definePlugin({ name: 'p', sluice: '^1', destinations: [sink] }),
    );
    expect(() => registry.require('destination', 'slak', ['destinations', 'alerts'])).toThrow(
      'destinations.alerts.kind: unknown destination kind "slak" (known: sink)',
    );
    expect(() => registry.parse('destination', 'nope', {})).toThrow(ConfigError);
    expect(registry.get('transform', 'nope')).toBeUndefined();
  });

  it('refuses an incompatible plugin API range', () => {
    const err = (() => {
      try {
        new PluginRegistry().register(
          definePlugin({ name: 'future', sluice: '^2', connectors: [counter] }),
        );
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err!.issues[0]!.message).toContain('requires plugin API "^2"');
    expect(err!.issues[0]!.path).toBe('plugins["future"].sluice');
  });

  it('refuses duplicates and registers nothing of the rejected plugin', () => {
    const registry = new PluginRegistry().register(
      definePlugin({ name: 'a', sluice: '^1', connectors: [counter] }),
    );
    expect(() =>
      registry.register(
        definePlugin({ name: 'b', sluice: '^1', connectors: [counter], destinations: [sink] }),
      ),
    ).toThrow('connector kind "counter" is already registered by plugin "a"');
    expect(registry.kinds('destination')).toEqual([]);
    expect(() => registry.register(definePlugin({ name: 'a', sluice: '^1' }))).toThrow(
      'plugin "a" is already registered',
    );
    expect(() =>
      new PluginRegistry().register(
        definePlugin({ name: 'c', sluice: '^1', transforms: [upper, upper] }),
      ),
    ).toThrow('transform kind "upper" is defined twice');
  });

  it('refuses something that is not a plugin', () => {
    expect(() => new PluginRegistry().register({} as never)).toThrow('not a plugin');
  });

  it('checks plugin API ranges', () => {
    expect(isCompatiblePluginRange('^1')).toBe(true);
    expect(isCompatiblePluginRange('>=1 <2')).toBe(true);
    expect(isCompatiblePluginRange('1.x')).toBe(true);
    expect(isCompatiblePluginRange('^2')).toBe(false);
    expect(isCompatiblePluginRange('not a range')).toBe(false);
    expect(isCompatiblePluginRange('^1.5', '1.4.0')).toBe(false);
  });
});

describe('define*', () => {
  it('rejects kinds that are not lower-case identifiers', () => {
    expect(() =>
      defineConnector({
        kind: 'Bad Kind',
        version: '1',
        configSchema: v.object({}),
        create: () => ({ read: async function* () {} }),
      }),
    ).toThrow('kind "Bad Kind" must be lower-case');
    expect(() => definePlugin({ name: '', sluice: '^1' })).toThrow(
      '"name" must be a non-empty string',
    );
  });

  it('freezes definitions and fills plugin defaults', () => {
    expect(Object.isFrozen(counter)).toBe(true);
    expect(counter.type).toBe('connector');
    const plugin = definePlugin({ name: 'x', version: '1.2.3', sluice: '^1' });
    expect(plugin).toEqual({
      type: 'plugin',
      name: 'x',
      version: '1.2.3',
      sluice: '^1',
      connectors: [],
      destinations: [],
      transforms: [],
    });
  });
});

describe('definitions checked at the boundary', () => {
  const noSchema = { kind: 'no-schema', version: '1.0.0', create: () => ({ async *read() {} }) };

  it('define* names the kind and every missing part', () => {
    expect(() => defineConnector(noSchema as never)).toThrow(
      'defineConnector: connector "no-schema": configSchema must be a valibot schema',
    );
    expect(() =>
      defineDestination({
        kind: 'no-caps',
        version: '1.0.0',
        configSchema: v.object({}),
        create: () => ({ async write() {} }),
      } as never),
    ).toThrow('destination "no-caps": capabilities must be an object like { idempotent: false }');
    expect(() =>
      defineDestination({
        kind: 'bad-caps',
        version: '1.0.0',
        configSchema: v.object({}),
        capabilities: { idempotent: 'yes', maxBatch: 0 },
        create: () => ({ async write() {} }),
      } as never),
    ).toThrow(
      /capabilities\.idempotent must be true or false; destination "bad-caps": capabilities\.maxBatch must be a whole number >= 1/,
    );
    expect(() =>
      defineTransform({ kind: 'no-create', version: '1.0.0', configSchema: v.object({}) } as never),
    ).toThrow('transform "no-create": create must be a function');
    expect(() =>
      defineConnector({
        version: '1.0.0',
        configSchema: v.object({}),
        create: () => ({}),
      } as never),
    ).toThrow('connector (no valid kind): kind is missing');
  });

  it('register refuses hand-made definitions, naming plugin, list, index and kind', () => {
    const plugin = {
      type: 'plugin',
      name: 'broken-plugin',
      sluice: '^1',
      connectors: [{ ...noSchema, type: 'connector' }],
      destinations: [
        {
          type: 'destination',
          kind: 'no-caps',
          version: '1.0.0',
          configSchema: v.object({}),
          create: () => ({}),
        },
        counter,
      ],
      transforms: [],
    };
    const registry = new PluginRegistry();
    let error: unknown;
    try {
      registry.register(plugin as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues).toEqual([
      {
        path: 'plugins["broken-plugin"].connectors[0]',
        message:
          'plugin "broken-plugin": connector "no-schema": configSchema must be a valibot schema (e.g. v.object({...}))',
      },
      {
        path: 'plugins["broken-plugin"].destinations[0]',
        message:
          'plugin "broken-plugin": destination "no-caps": capabilities must be an object like { idempotent: false } or a function returning one',
      },
      {
        path: 'plugins["broken-plugin"].destinations[1]',
        message:
          'plugin "broken-plugin": destination "counter": capabilities must be an object like { idempotent: false } or a function returning one',
      },
    ]);
    expect((error as Error).message).toContain('Cannot register plugin "broken-plugin"');
    // Nothing of a refused plugin is registered.
    expect(registry.plugins()).toEqual([]);
    expect(() =>
      registry.register({
        type: 'plugin',
        name: 'p2',
        sluice: '^1',
        connectors: 'counter',
        destinations: [],
        transforms: [],
      } as never),
    ).toThrow('connectors must be an array of defineConnector(...) results');
    expect(() =>
      registry.register({
        type: 'plugin',
        name: 'p3',
        sluice: '^1',
        connectors: [upper],
        destinations: [],
        transforms: [],
      } as never),
    ).toThrow('plugin "p3": "upper" is a transform definition, listed under connectors');
  });
});

describe('connectorPages', () => {
  it('accepts async iterables and refuses every other shape of read() with one clear error', async () => {
    async function* pages() {
      yield { records: [{ a: 1 }] };
    }
    const seen: unknown[] = [];
    for await (const page of connectorPages(pages(), 'ok')) seen.push(page);
    expect(seen).toEqual([{ records: [{ a: 1 }] }]);
    function* syncPages() {
      yield { records: [] };
    }
    const cases: [unknown, string][] = [
      [syncPages(), 'a sync iterable (a function* generator?)'],
      [[{ records: [] }], 'an array'],
      [Promise.resolve([]), 'a promise'],
      [null, 'null'],
      [undefined, 'undefined'],
    ];
    for (const [value, got] of cases) {
      let error: unknown;
      try {
        connectorPages(value, 'shapes');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(FatalError);
      expect((error as Error).message).toBe(
        `connector "shapes": read() must return an AsyncIterable<Page> (write it as "async *read(request, signal) { yield { records } }"), but it returned ${got}`,
      );
    }
  });
});
