import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  FatalError,
  createPluginContext,
  parseConfig,
  systemClock,
  type Clock,
} from '@sluice/core';
import { periodMs } from './config.js';
import { sampleConnector } from './connector.js';
import { sampleRecord } from './generate.js';

async function read(raw: unknown, state?: unknown, clock: Clock = systemClock) {
  const connector = await sampleConnector.create(
    parseConfig(sampleConnector.configSchema, raw),
    createPluginContext({ clock }),
  );
  const pages = [];
  for await (const page of connector.read(
    state === undefined ? {} : { state: state as never },
    new AbortController().signal,
  ))
    pages.push(page);
  return pages;
}

describe('sample connector', () => {
  it('is deterministic and cycles channels day by day', () => {
    const options = { seed: 7, channels: ['a', 'b', 'c'], startDate: '2026-11-01' };
    expect(sampleRecord(4, options)).toEqual(sampleRecord(4, options));
    expect(
      [1, 2, 3, 4].map((s) => [sampleRecord(s, options).channel, sampleRecord(s, options).date]),
    ).toEqual([
      ['a', '2026-11-01'],
      ['b', '2026-11-01'],
      ['c', '2026-11-01'],
      ['a', '2026-11-02'],
    ]);
    expect(sampleRecord(1, { ...options, seed: 8 }).sessions).not.toBe(
      sampleRecord(1, options).sessions,
    );
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
    expect(
      (await read({ perRun: 100, total: 30 }, { seq: 25 })).flatMap((p) => p.records),
    ).toHaveLength(5);
  });

  it('refuses a malformed checkpoint and bad config', async () => {
    await expect(read({}, 'nope')).rejects.toThrow(FatalError);
    await expect(read({}, { seq: -1 })).rejects.toThrow('is not { "seq": <integer> }');
    expect(() =>
      parseConfig(sampleConnector.configSchema, { channels: [], startDate: 'today', bogus: 1 }),
    ).toThrow(ConfigError);
    try {
      parseConfig(sampleConnector.configSchema, { channels: [], startDate: 'today', bogus: 1 });
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual([
        'channels',
        'startDate',
        'bogus',
      ]);
    }
  });

  describe('with period: dates follow the clock', () => {
    let now = Date.parse('2026-12-01T10:00:02Z');
    const clock: Clock = { ...systemClock, now: () => now };
    const records = (pages: Awaited<ReturnType<typeof read>>) => pages.flatMap((p) => p.records);
    const config = { channels: ['a', 'b', 'c'], period: '5s', perRun: 25, pageSize: 2 };

    it('reads one record set per period up to the current one, never ahead of the clock', async () => {
      now = Date.parse('2026-12-01T10:00:02Z');
      const first = await read(config, undefined, clock);
      // No checkpoint: the current period's set, dated by the period.
      expect(records(first).map((r) => [r.channel, r.periodStart, r.date])).toEqual([
        ['a', '2026-12-01T10:00:00.000Z', '2026-12-01'],
        ['b', '2026-12-01T10:00:00.000Z', '2026-12-01'],
        ['c', '2026-12-01T10:00:00.000Z', '2026-12-01'],
      ]);
      expect(first.map((p) => p.records.length)).toEqual([2, 1]);
      const state = first.at(-1)!.state;
      expect(state).toMatchObject({ period: '5s', channels: 3 });
      // Again within the same period: nothing new.
      expect(await read(config, state, clock)).toEqual([]);
      // 12 s later: the two periods that began since, one set each.
      now += 12_000;
      const later = records(await read(config, state, clock));
      expect(later.map((r) => r.periodStart)).toEqual([
        ...Array(3).fill('2026-12-01T10:00:05.000Z'),
        ...Array(3).fill('2026-12-01T10:00:10.000Z'),
      ]);
      expect(later.every((r) => Date.parse(r.periodStart as string) <= now)).toBe(true);
      // Incremental: the cursor continues where the last page ended, and the same seq is the same record.
      expect(later[0]!.seq).toBe((state as { seq: number }).seq + 1);
      expect(records(await read(config, undefined, clock)).at(-1)).toEqual(later.at(-1));
    });

    it('catches up at most perRun records per run after a pause, and starts backfill periods back', async () => {
      now = Date.parse('2026-12-01T10:00:02Z');
      const state = (await read(config, undefined, clock)).at(-1)!.state;
      now += 3_600_000; // an hour later: 720 periods behind
      const run = records(await read(config, state, clock));
      expect(run).toHaveLength(25);
      expect(Date.parse(run.at(-1)!.periodStart as string)).toBeLessThan(now);
      const daily = records(
        await read(
          { channels: ['a', 'b'], period: '1d', backfill: 2, perRun: 100 },
          undefined,
          clock,
        ),
      );
      expect(daily.map((r) => r.date)).toEqual([
        '2026-11-29',
        '2026-11-29',
        '2026-11-30',
        '2026-11-30',
        '2026-12-01',
        '2026-12-01',
      ]);
    });

    it('restarts at the current period after a checkpoint of another period or channel list', async () => {
      now = Date.parse('2026-12-01T10:00:02Z');
      const daily = { ...config, period: '1d' };
      for (const state of [
        { seq: 30 },
        { seq: 5_000_000, period: '1h', channels: 3 },
        { seq: 30, period: '1d', channels: 5 },
      ]) {
        expect(records(await read(daily, state, clock)).map((r) => r.date)).toEqual([
          '2026-12-01',
          '2026-12-01',
          '2026-12-01',
        ]);
      }
    });

    it('refuses startDate and total with period, and a malformed period', () => {
      const issues = (raw: unknown) => {
        try {
          parseConfig(sampleConnector.configSchema, raw);
          return [];
        } catch (err) {
          return (err as ConfigError).issues.map((i) => i.path);
        }
      };
      expect(issues({ period: '5s', startDate: '2026-11-01' })).toEqual(['startDate']);
      expect(issues({ period: '5s', total: 10 })).toEqual(['total']);
      expect(issues({ period: '5 seconds' })).toEqual(['period']);
      expect(issues({ period: '0s' })).toEqual(['period']);
      expect(periodMs('15m')).toBe(900_000);
    });
  });
});
