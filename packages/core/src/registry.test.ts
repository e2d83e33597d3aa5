import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { createPluginContext } from './context.js';
import { ConfigError } from './errors.js';
import { defineConnector, defineDestination, definePlugin, defineTransform } from './plugin.js';
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
