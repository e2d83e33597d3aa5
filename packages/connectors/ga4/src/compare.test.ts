import {
  createPluginContext,
  parseConfig,
  systemClock,
  type Clock,
  type SluiceRecord,
} from '@sluice/core';
import { startFakeGa4, type FakeGa4 } from '@sluice/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPreviousDayComparer } from './compare.js';
import { ga4Connector } from './plugin.js';
import { ga4ConfigSchema } from './config.js';

describe('createPreviousDayComparer', () => {
  it('adds the previous day, the relative change per metric and `change`, and drops the extra leading day', () => {
    const compare = createPreviousDayComparer(['date', 'channel'], ['sessions', 'revenue']);
    const page1 = compare(
      [
        { date: '2026-11-22', channel: 'Email', sessions: 100, revenue: 0 },
        { date: '2026-11-22', channel: 'Paid', sessions: 50, revenue: 10 },
        { date: '2026-11-23', channel: 'Email', sessions: 70, revenue: 5 },
      ],
      '2026-11-23',
    );
    // The second page continues day 2026-11-23, then a gap day: no previous values across a gap.
    const page2 = compare(
      [
        { date: '2026-11-23', channel: 'Paid', sessions: 60, revenue: 12 },
        { date: '2026-11-25', channel: 'Email', sessions: 80, revenue: 1 },
      ],
      '2026-11-23',
    );
    expect([...page1, ...page2]).toEqual([
      {
        date: '2026-11-23',
        channel: 'Email',
        sessions: 70,
        revenue: 5,
        sessions_previous: 100,
        sessions_change: -0.3,
        revenue_previous: 0,
        revenue_change: null,
        change: -0.3,
      },
      {
        date: '2026-11-23',
        channel: 'Paid',
        sessions: 60,
        revenue: 12,
        sessions_previous: 50,
        sessions_change: 0.2,
        revenue_previous: 10,
        revenue_change: 0.2,
        change: 0.2,
      },
      {
        date: '2026-11-25',
        channel: 'Email',
        sessions: 80,
        revenue: 1,
        sessions_previous: null,
        sessions_change: null,
        revenue_previous: null,
        revenue_change: null,
        change: null,
      },
    ]);
  });
});

describe('compareWith: previousDay against the GA4 fake', () => {
  const nowMs = Date.UTC(2026, 10, 25, 18, 0);
  const clock: Clock = {
    now: () => nowMs,
    sleep: (ms, signal) => systemClock.sleep(Math.min(ms, 5), signal),
  };
  let fake: FakeGa4;
  beforeAll(async () => {
    fake = await startFakeGa4({
      accessTokens: ['t'],
      now: () => nowMs,
      properties: { '42': { timeZone: 'UTC', seed: 3 } },
    });
  });
  afterAll(async () => {
    await fake.close();
  });

  const config = (overrides: Record<string, unknown> = {}) => ({
    propertyId: '42',
    apiEndpoint: fake.url,
    ssrf: { allow: ['127.0.0.1'] }, // the fake listens on loopback: opt in explicitly
    credentials: { type: 'access-token', accessToken: 't' },
    dimensions: ['date', 'sessionDefaultChannelGroup'],
    metrics: ['sessions'],
    dateRange: { startDate: '3daysAgo', endDate: 'yesterday' },
    timeZone: 'UTC',
    pageSize: 5,
    ...overrides,
  });
  async function read(overrides: Record<string, unknown> = {}): Promise<SluiceRecord[]> {
    const connector = await ga4Connector.create(
      parseConfig(ga4Connector.configSchema, config(overrides)),
      createPluginContext({ clock }),
    );
    const out: SluiceRecord[] = [];
    for await (const page of connector.read({}, new AbortController().signal))
      out.push(...page.records);
    await connector.close?.();
    return out;
  }

  it('compares each day with the day before, across pages, reading one extra day', async () => {
    const plain = await read({ dateRange: { startDate: '4daysAgo', endDate: 'yesterday' } });
    const compared = await read({ compareWith: 'previousDay' });
    const wanted = plain.filter((r) => r.date !== '2026-11-21');
    expect(compared).toHaveLength(wanted.length);
    for (const row of compared) {
      const before = plain.find(
        (r) =>
          r.sessionDefaultChannelGroup === row.sessionDefaultChannelGroup &&
          r.date ===
            new Date(Date.parse(`${String(row.date)}T00:00:00Z`) - 86_400_000)
              .toISOString()
              .slice(0, 10),
      );
      expect(row.sessions_previous).toBe(before?.sessions ?? null);
      if (typeof before?.sessions === 'number' && before.sessions !== 0)
        expect(row.change).toBeCloseTo(
          ((row.sessions as number) - before.sessions) / before.sessions,
          12,
        );
    }
    expect(compared.every((r) => (r.date as string) >= '2026-11-22')).toBe(true);
  });

  it('needs the date dimension', () => {
    expect(() =>
      parseConfig(
        ga4ConfigSchema,
        config({ dimensions: ['sessionDefaultChannelGroup'], compareWith: 'previousDay' }),
      ),
    ).toThrow(/compareWith: needs the "date" dimension/);
  });
});
