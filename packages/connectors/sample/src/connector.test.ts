import { describe, expect, it } from 'vitest';
import { ConfigError, FatalError, createPluginContext, parseConfig } from '@sluice/core';
import { testConnector } from '@sluice/testing';
import { sampleConnector } from './connector.js';
import { sampleRecord } from './generate.js';

testConnector({
  name: 'sample',
  definition: sampleConnector,
  config: () => ({ perRun: 1000, total: 1000, pageSize: 64 }),
  key: (r) => String(r.seq),
  expectedCount: 1000,
});

async function read(raw: unknown, state?: unknown) {
  const connector = await sampleConnector.create(parseConfig(sampleConnector.configSchema, raw), createPluginContext());
  const pages = [];
  for await (const page of connector.read(state === undefined ? {} : { state: state as never }, new AbortController().signal)) pages.push(page);
  return pages;
}

describe('sample connector', () => {
  it('is deterministic and cycles channels day by day', () => {
    const options = { seed: 7, channels: ['a', 'b', 'c'], startDate: '2026-11-01' };
    expect(sampleRecord(4, options)).toEqual(sampleRecord(4, options));
    expect([1, 2, 3, 4].map((s) => [sampleRecord(s, options).channel, sampleRecord(s, options).date])).toEqual([
      ['a', '2026-11-01'],
      ['b', '2026-11-01'],
      ['c', '2026-11-01'],
      ['a', '2026-11-02'],
    ]);
    expect(sampleRecord(1, { ...options, seed: 8 }).sessions).not.toBe(sampleRecord(1, options).sessions);
  });

  it('reads perRun records per run and continues from the checkpoint', async () => {
    const first = await read({ perRun: 25, pageSize: 10 });
    expect(first.map((p) => p.records.length)).toEqual([10, 10, 5]);
    expect(first.at(-1)!.state).toEqual({ seq: 25 });
    const second = await read({ perRun: 25, pageSize: 10 }, { seq: 25 });
    expect(second[0]!.records[0]!.seq).toBe(26);
  });

  it('stops at total', async () => {
    expect(await read({ perRun: 100, total: 30 }, { seq: 30 })).toEqual([]);
    expect((await read({ perRun: 100, total: 30 }, { seq: 25 })).flatMap((p) => p.records)).toHaveLength(5);
  });

  it('refuses a malformed checkpoint and bad config', async () => {
    await expect(read({}, 'nope')).rejects.toThrow(FatalError);
    await expect(read({}, { seq: -1 })).rejects.toThrow('is not { "seq": <integer> }');
    expect(() => parseConfig(sampleConnector.configSchema, { channels: [], startDate: 'today', bogus: 1 })).toThrow(ConfigError);
    try {
      parseConfig(sampleConnector.configSchema, { channels: [], startDate: 'today', bogus: 1 });
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['channels', 'startDate', 'bogus']);
    }
  });
});
