import { ConfigError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { dueTicks } from './missed.js';
import { compileCron, isValidTimeZone, tickJitterMs } from './schedule.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const at = (s: string) => Date.parse(s);

describe('compileCron', () => {
  it('supports seconds and five-field expressions', () => {
    const everySecond = compileCron({ expression: '* * * * * *' });
    expect(iso(everySecond.next(at('2026-01-01T00:00:00.400Z')))).toBe('2026-01-01T00:00:01.000Z');
    const fiveField = compileCron({ expression: '*/15 * * * *' });
    expect(iso(fiveField.next(at('2026-01-01T00:07:00Z')))).toBe('2026-01-01T00:15:00.000Z');
  });

  it('computes ticks in an IANA time zone', () => {
    const berlin = compileCron({ expression: '0 0 8 * * *', timezone: 'Europe/Berlin' });
    expect(iso(berlin.next(at('2026-01-10T12:00:00Z')))).toBe('2026-01-11T07:00:00.000Z'); // CET, UTC+1
    expect(iso(berlin.next(at('2026-07-10T12:00:00Z')))).toBe('2026-07-11T06:00:00.000Z'); // CEST, UTC+2
  });

  it('handles the spring-forward gap: a fixed time inside it runs once, right after the gap', () => {
    // 2026-03-29 in Berlin: 02:00 → 03:00 local.
    const cron = compileCron({ expression: '30 2 * * *', timezone: 'Europe/Berlin' });
    const ticks = cron.between(at('2026-03-28T00:00:00Z'), at('2026-03-31T00:00:00Z'));
    expect(ticks.map(iso)).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('handles the fall-back overlap: a fixed time that repeats runs once', () => {
    // 2026-10-25 in Berlin: 03:00 → 02:00 local, so 02:30 happens twice.
    const cron = compileCron({ expression: '30 2 * * *', timezone: 'Europe/Berlin' });
    const ticks = cron.between(at('2026-10-24T12:00:00Z'), at('2026-10-25T12:00:00Z'));
    expect(ticks.map(iso)).toEqual(['2026-10-25T00:30:00.000Z']);
  });

  it('lists ticks and the latest ones', () => {
    const cron = compileCron({ expression: '*/10 * * * * *' });
    expect(cron.between(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:30Z')).map(iso)).toEqual([
      '2026-01-01T00:00:10.000Z',
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:30.000Z',
    ]);
    expect(cron.between(at('2026-01-01T00:00:00Z'), at('2026-01-01T00:10:00Z'), 2)).toHaveLength(2);
    expect(cron.latest(at('2026-01-01T00:00:30Z'), 2).map(iso)).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:30.000Z',
    ]);
    expect(cron.latest(at('2026-01-01T00:00:35Z'), 1).map(iso)).toEqual([
      '2026-01-01T00:00:30.000Z',
    ]);
  });

  it('fires every form the configuration accepts: nicknames, 5, 6 and 7 fields (one parser)', () => {
    const after = at('2026-03-28T12:00:00Z');
    expect(iso(compileCron({ expression: '@daily', timezone: 'Europe/Berlin' }).next(after)!)).toBe(
      '2026-03-28T23:00:00.000Z',
    );
    expect(iso(compileCron({ expression: '@hourly' }).next(after)!)).toBe(
      '2026-03-28T13:00:00.000Z',
    );
    for (const nickname of ['@yearly', '@annually', '@monthly', '@weekly', '@midnight']) {
      expect(compileCron({ expression: nickname }).next(after), nickname).toBeGreaterThan(after);
    }
    expect(iso(compileCron({ expression: '0 0 8 * * * 2030' }).next(after)!)).toBe(
      '2030-01-01T08:00:00.000Z',
    );
    expect(compileCron({ expression: '0 0 8 * * * 2020' }).next(after)).toBeUndefined();
    expect(iso(compileCron({ expression: '30 0 8 * * *' }).next(after)!)).toBe(
      '2026-03-29T08:00:30.000Z',
    );
  });

  it('reports invalid expressions and zones with their paths', () => {
    const fail = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).issues;
      }
      throw new Error('expected a ConfigError');
    };
    const short = fail(() => compileCron({ expression: '* * *' }, ['pipelines', 'daily', 'cron']));
    expect(short).toHaveLength(1);
    expect(short[0]!.path).toBe('pipelines.daily.cron.expression');
    expect(short[0]!.message).toMatch(/five, six, or seven .*parts.* \(use 5 fields .*nickname/);
    expect(fail(() => compileCron({ expression: '0 99 * * *' }))[0]!.path).toBe('cron.expression');
    expect(
      fail(() => compileCron({ expression: '0 8 * * *', timezone: 'Mars/Olympus' }))[0],
    ).toEqual({
      path: 'cron.timezone',
      message: 'unknown IANA time zone "Mars/Olympus"',
    });
    expect(isValidTimeZone('America/New_York')).toBe(true);
  });
});

describe('tickJitterMs', () => {
  it('is deterministic, within range, and spreads pipelines', () => {
    const tick = at('2026-01-01T08:00:00Z');
    expect(tickJitterMs('a', tick, 30_000)).toBe(tickJitterMs('a', tick, 30_000));
    const values = Array.from({ length: 50 }, (_, i) => tickJitterMs(`p${i}`, tick, 30_000));
    for (const value of values) expect(value >= 0 && value < 30_000).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(40);
    expect(tickJitterMs('a', tick, 0)).toBe(0);
  });
});

describe('dueTicks', () => {
  const cron = compileCron({ expression: '0 * * * * *' }); // every minute
  const now = at('2026-01-01T10:00:00.500Z');

  it('fires only late ticks when the schedule is new', () => {
    expect(dueTicks(cron, undefined, now, { kind: 'catch-up', max: 5 }, 2000)).toEqual({
      fire: [at('2026-01-01T10:00:00Z')],
      skipped: 0,
    });
    expect(
      dueTicks(cron, undefined, at('2026-01-01T10:00:30Z'), { kind: 'skip' }, 2000).fire,
    ).toEqual([]);
  });

  it('skips missed ticks after downtime with policy skip', () => {
    const result = dueTicks(cron, at('2026-01-01T09:55:00Z'), now, { kind: 'skip' }, 2000);
    expect(result.fire.map(iso)).toEqual(['2026-01-01T10:00:00.000Z']);
    expect(result.skipped).toBe(4);
  });

  it('catches up at most max missed ticks, newest first kept, oldest fired first', () => {
    const result = dueTicks(
      cron,
      at('2026-01-01T09:50:00Z'),
      at('2026-01-01T09:59:30Z'),
      { kind: 'catch-up', max: 3 },
      2000,
    );
    expect(result.fire.map(iso)).toEqual([
      '2026-01-01T09:57:00.000Z',
      '2026-01-01T09:58:00.000Z',
      '2026-01-01T09:59:00.000Z',
    ]);
    expect(result.skipped).toBe(6);
  });

  it('never fires the recorded tick again', () => {
    expect(
      dueTicks(cron, at('2026-01-01T10:00:00Z'), now, { kind: 'catch-up', max: 3 }, 2000).fire,
    ).toEqual([]);
  });

  it('stays bounded after a very long outage of a per-second cron', () => {
    const perSecond = compileCron({ expression: '* * * * * *' });
    const result = dueTicks(
      perSecond,
      at('2025-12-01T00:00:00Z'),
      now,
      { kind: 'catch-up', max: 2 },
      1000,
    );
    expect(result.fire).toHaveLength(3);
    expect(result.skipped).toBeGreaterThan(9000);
  });
});
