import { describe, expect, it } from 'vitest';
import { ConfigError } from '@sluice/core';
import { destinationOptions, parseSluiceConfig, pipelineSourceOptions } from './index.js';

const config = parseSluiceConfig({
  connections: { main: { kind: 'ga4', propertyId: '1', metrics: ['sessions'] } },
  destinations: {
    warehouse: {
      kind: 'database',
      table: 't',
      batch: { maxRecords: 10 },
      retry: { maxAttempts: 2 },
      concurrency: 3,
    },
    plain: { kind: 'file', path: './x' },
  },
  pipelines: {
    viaConnection: {
      source: { connection: 'main', metrics: ['users'], dateRange: 'yesterday' },
      defaultRoute: { to: ['plain'] },
    },
    direct: { source: { kind: 'hubspot', object: 'deals' }, defaultRoute: { to: ['plain'] } },
  },
});

describe('pipelineSourceOptions', () => {
  it('merges the connection with the source, source winning', () => {
    expect(pipelineSourceOptions(config, 'viaConnection')).toEqual({
      kind: 'ga4',
      options: { propertyId: '1', metrics: ['users'], dateRange: 'yesterday' },
    });
  });
  it('returns the source options of a direct kind', () => {
    expect(pipelineSourceOptions(config, 'direct')).toEqual({
      kind: 'hubspot',
      options: { object: 'deals' },
    });
  });
  it('throws a ConfigError for an unknown pipeline or connection', () => {
    expect(() => pipelineSourceOptions(config, 'viaConection')).toThrow(ConfigError);
    expect(() => pipelineSourceOptions(config, 'viaConection')).toThrow(
      'pipelines: unknown pipeline "viaConection" (did you mean "viaConnection"?)',
    );
    const broken = { ...config, connections: {} };
    expect(() => pipelineSourceOptions(broken, 'viaConnection')).toThrow(
      'connections: unknown connection "main"',
    );
  });
});

describe('destinationOptions', () => {
  it('splits plugin options from the delivery policy', () => {
    expect(destinationOptions(config, 'warehouse')).toEqual({
      kind: 'database',
      options: { table: 't' },
      delivery: { batch: { maxRecords: 10 }, retry: { maxAttempts: 2 }, concurrency: 3 },
    });
    expect(destinationOptions(config, 'plain')).toEqual({
      kind: 'file',
      options: { path: './x' },
      delivery: {},
    });
  });
  it('throws a ConfigError for an unknown destination', () => {
    expect(() => destinationOptions(config, 'warehous')).toThrow(
      'destinations: unknown destination "warehous" (did you mean "warehouse"?)',
    );
  });
});
