import { describe, expect, it } from 'vitest';
import { checkReferences } from './index.js';

const base = {
  connections: { 'ga4-main': { kind: 'ga4' } },
  destinations: { slack: { kind: 'slack' }, warehouse: { kind: 'database' } },
};

describe('checkReferences', () => {
  it('finds nothing wrong in a consistent config', () => {
    expect(
      checkReferences({
        ...base,
        pipelines: {
          daily: {
            source: { connection: 'ga4-main' },
            routes: [{ name: 'a', to: ['slack', 'warehouse'] }],
            defaultRoute: { to: ['warehouse'] },
          },
          other: { source: { kind: 'ga4' }, defaultRoute: { to: ['slack'] } },
        },
      }),
    ).toEqual([]);
  });
  it('reports unknown destinations with a suggestion or the known names', () => {
    expect(
      checkReferences({
        ...base,
        pipelines: {
          daily: {
            source: { kind: 'ga4' },
            routes: [
              { name: 'a', to: ['warehouse'] },
              { name: 'b', to: ['slack'] },
              { name: 'c', to: ['slak', 'nowhere', 'slack', 'slack'] },
            ],
            defaultRoute: { to: ['warehous'] },
          },
        },
      }),
    ).toEqual([
      {
        path: ['pipelines', 'daily', 'routes', 2, 'to', 0],
        message: 'unknown destination "slak" (did you mean "slack"?)',
      },
      {
        path: ['pipelines', 'daily', 'routes', 2, 'to', 1],
        message: 'unknown destination "nowhere" (known: slack, warehouse)',
      },
      {
        path: ['pipelines', 'daily', 'routes', 2, 'to', 3],
        message: 'destination "slack" is listed twice',
      },
      {
        path: ['pipelines', 'daily', 'defaultRoute', 'to', 0],
        message: 'unknown destination "warehous" (did you mean "warehouse"?)',
      },
    ]);
  });
  it('reports duplicate route names, API key names and plugins', () => {
    expect(
      checkReferences({
        ...base,
        server: { apiKeys: [{ name: 'ci' }, { name: 'ops' }, { name: 'ci' }] },
        plugins: ['a', 'b', 'a'],
        pipelines: {
          p: {
            source: { kind: 'ga4' },
            routes: [
              { name: 'x', to: [] },
              { name: 'x', to: [] },
            ],
          },
        },
      }),
    ).toEqual([
      {
        path: ['server', 'apiKeys', 2, 'name'],
        message: 'duplicate API key name "ci" (also apiKeys[0])',
      },
      { path: ['plugins', 2], message: 'plugin "a" is listed twice (also plugins[0])' },
      {
        path: ['pipelines', 'p', 'routes', 1, 'name'],
        message: 'duplicate route name "x" (also routes[0])',
      },
    ]);
  });
  it('checks the source: exactly one of connection/kind, and the connection exists', () => {
    expect(
      checkReferences({
        ...base,
        pipelines: {
          both: {
            source: { connection: 'ga4-main', kind: 'ga4' },
            defaultRoute: { to: ['slack'] },
          },
          neither: { source: { query: 'x' }, defaultRoute: { to: ['slack'] } },
          typo: { source: { connection: 'ga4-mian' }, defaultRoute: { to: ['slack'] } },
        },
      }),
    ).toEqual([
      {
        path: ['pipelines', 'both', 'source'],
        message: 'give either "connection" or "kind", not both (the connection already has a kind)',
      },
      {
        path: ['pipelines', 'neither', 'source'],
        message: 'give "connection" (a name in connections) or "kind" (a connector kind)',
      },
      {
        path: ['pipelines', 'typo', 'source', 'connection'],
        message: 'unknown connection "ga4-mian" (did you mean "ga4-main"?)',
      },
    ]);
  });
  it('requires a route or a default route', () => {
    expect(
      checkReferences({
        pipelines: { p: { source: { kind: 'ga4' } }, q: { source: { kind: 'ga4' }, routes: [] } },
      }),
    ).toEqual([
      {
        path: ['pipelines', 'p', 'routes'],
        message: 'a pipeline needs at least one route or a defaultRoute',
      },
      {
        path: ['pipelines', 'q', 'routes'],
        message: 'a pipeline needs at least one route or a defaultRoute',
      },
    ]);
    expect(
      checkReferences({
        pipelines: { p: { source: { kind: 'ga4' }, routes: [{ name: 'a', to: ['x'] }] } },
      }),
    ).toEqual([
      {
        path: ['pipelines', 'p', 'routes', 0, 'to', 0],
        message: 'unknown destination "x" (none is defined)',
      },
    ]);
  });
  it('ignores shapes the schema reports anyway', () => {
    expect(checkReferences(null)).toEqual([]);
    expect(checkReferences({ pipelines: [] })).toEqual([]);
    expect(
      checkReferences({
        pipelines: { p: 1, q: { source: 'x', routes: 'y' } },
        server: { apiKeys: 'z' },
      }),
    ).toEqual([]);
  });
});
