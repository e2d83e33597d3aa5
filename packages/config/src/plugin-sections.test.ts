import { describe, expect, it } from 'vitest';
import { PluginRegistry } from '@sluice/core';
import { checkPluginSections, mergeSourceOptions, withoutKeys } from './index.js';
import { testRegistry } from './__fixtures__/registry.js';

const paths = (problems: { path: readonly (string | number)[]; message: string }[]) =>
  problems.map((p) => `${p.path.join('.')}: ${p.message}`);

describe('withoutKeys / mergeSourceOptions', () => {
  it('removes engine keys and overlays source options on the connection', () => {
    expect(withoutKeys({ kind: 'x', batch: {}, table: 't' }, ['kind', 'batch'])).toEqual({
      table: 't',
    });
    expect(
      mergeSourceOptions(
        { kind: 'ga4', propertyId: '1', metrics: ['a'] },
        { connection: 'c', metrics: ['b'] },
      ),
    ).toEqual({
      propertyId: '1',
      metrics: ['b'],
    });
    expect(mergeSourceOptions(undefined, { kind: 'ga4', propertyId: '2' })).toEqual({
      propertyId: '2',
    });
  });
});

describe('checkPluginSections', () => {
  const registry = testRegistry();

  it('accepts sections that match their kinds', () => {
    expect(
      checkPluginSections(
        {
          connections: { main: { kind: 'ga4', credentials: '{}' } },
          destinations: {
            warehouse: {
              kind: 'database',
              url: 'postgres://x',
              table: 't',
              batch: { maxRecords: 5 },
              retry: {},
              concurrency: 2,
            },
          },
          pipelines: {
            a: {
              source: { connection: 'main', propertyId: '1' },
              routes: [
                { name: 'r', transform: [{ kind: 'pick', fields: ['x'] }], to: ['warehouse'] },
              ],
            },
            b: {
              source: { kind: 'ga4', propertyId: '1', credentials: 'c' },
              defaultRoute: { to: ['warehouse'], transform: [{ kind: 'pick', fields: ['y'] }] },
            },
          },
        },
        registry,
      ),
    ).toEqual([]);
  });
  it('reports destination options at their paths', () => {
    expect(
      paths(
        checkPluginSections(
          {
            destinations: {
              warehouse: { kind: 'database', url: 'mysql://x', tabel: 't', batch: {} },
            },
          },
          registry,
        ),
      ),
    ).toEqual([
      'destinations.warehouse.url: must start with postgres://',
      'destinations.warehouse.table: required',
      'destinations.warehouse.tabel: unknown key "tabel"',
    ]);
  });
  it('reports unknown kinds with suggestions and the known kinds', () => {
    expect(
      paths(
        checkPluginSections(
          {
            connections: { c: { kind: 'ga5' } },
            destinations: { s: { kind: 'slak' } },
            pipelines: {
              p: {
                source: { kind: 'bigquery' },
                routes: [{ name: 'r', transform: [{ kind: 'pik' }], to: [] }],
              },
            },
          },
          registry,
        ),
      ),
    ).toEqual([
      'destinations.s.kind: unknown destination kind "slak" (did you mean "slack"?) (known: database, slack)',
      'connections.c.kind: unknown connector kind "ga5" (did you mean "ga4"?) (known: ga4)',
      'pipelines.p.source.kind: unknown connector kind "bigquery" (known: ga4)',
      'pipelines.p.routes.0.transform.0.kind: unknown transform kind "pik" (did you mean "pick"?) (known: explode, pick)',
    ]);
    expect(
      paths(checkPluginSections({ destinations: { s: { kind: 'slack' } } }, new PluginRegistry())),
    ).toEqual(['destinations.s.kind: unknown destination kind "slack" (no plugin provides one)']);
  });
  it('attributes merged source problems to the source or the connection', () => {
    expect(
      paths(
        checkPluginSections(
          {
            connections: { main: { kind: 'ga4', credentials: 42 } },
            pipelines: {
              p: { source: { connection: 'main', metrics: 'sessions' }, defaultRoute: { to: [] } },
            },
          },
          registry,
        ),
      ),
    ).toEqual([
      'pipelines.p.source.propertyId: required',
      'connections.main.credentials: expected string, got 42',
      'pipelines.p.source.metrics: expected an array, got "sessions"',
    ]);
  });
  it('skips sources whose connection is unknown or doubled (reported elsewhere)', () => {
    expect(
      checkPluginSections(
        {
          connections: { main: { kind: 'ga4' } },
          pipelines: {
            p: { source: { connection: 'nope' } },
            q: { source: { connection: 'main', kind: 'ga4' } },
          },
        },
        registry,
      ),
    ).toEqual([]);
  });
  it('reports a plugin schema that throws instead of crashing', () => {
    expect(
      paths(
        checkPluginSections(
          {
            pipelines: {
              p: {
                source: { kind: 'ga4', propertyId: '1', credentials: 'c' },
                defaultRoute: { to: [], transform: [{ kind: 'explode' }] },
              },
            },
          },
          registry,
        ),
      ),
    ).toEqual([
      'pipelines.p.defaultRoute.transform.0: the "explode" plugin\'s schema failed: schema bug',
    ]);
  });
  it('ignores shapes the schema reports anyway', () => {
    expect(checkPluginSections('x', registry)).toEqual([]);
    expect(
      checkPluginSections(
        {
          destinations: { a: 1 },
          connections: { b: null },
          pipelines: { p: null, q: { source: 3, routes: [1] } },
        },
        registry,
      ),
    ).toEqual([]);
  });
});
