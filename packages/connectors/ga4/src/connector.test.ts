import {
  FatalError,
  RetryableError,
  createMemoryMetrics,
  createPluginContext,
  parseConfig,
  systemClock,
  type Clock,
  type Page,
} from '@sluice/core';
import { startFakeGa4, type FakeGa4 } from '@sluice/testing';
import { startTcpProxy } from '@sluice/testing/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ga4Connector } from './plugin.js';
import { PROPERTY, fakeGa4Config, ga4RowKey } from './__fixtures__/ga4.js';

// 18:00 UTC is 10:00 in Los Angeles: "today" is 2026-11-25 for the property.
let nowMs = Date.UTC(2026, 10, 25, 18, 0);
const sleeps: number[] = [];
const clock: Clock = {
  now: () => nowMs,
  sleep: (ms, signal) => (sleeps.push(ms), systemClock.sleep(Math.min(ms, 5), signal)),
};
let fake: FakeGa4;

beforeAll(async () => {
  fake = await startFakeGa4({
    accessTokens: ['ga-token'],
    now: () => nowMs,
    properties: { [PROPERTY]: { timeZone: 'America/Los_Angeles', seed: 5 } },
  });
});
afterAll(async () => {
  await fake.close();
});

const baseConfig = (overrides: Record<string, unknown> = {}) => fakeGa4Config(fake, overrides);

const context = (metrics = createMemoryMetrics()) => createPluginContext({ clock, metrics });

async function create(overrides: Record<string, unknown> = {}, ctx = context()) {
  return ga4Connector.create(parseConfig(ga4Connector.configSchema, baseConfig(overrides)), ctx);
}

async function readAll(
  overrides: Record<string, unknown> = {},
  request: { state?: Page['state']; params?: Record<string, string> } = {},
  ctx = context(),
) {
  const instance = await create(overrides, ctx);
  const pages: Page[] = [];
  try {
    for await (const page of instance.read(request, new AbortController().signal)) pages.push(page);
  } finally {
    await instance.close?.();
  }
  return pages;
}

const key = ga4RowKey;

describe('ga4 connector scenarios', () => {
  it('pages with offset/limit over rowCount and casts metrics by type', async () => {
    fake.requests.length = 0;
    const pages = await readAll({
      dateRange: { startDate: '2026-11-20', endDate: '2026-11-24' },
      pageSize: 50,
    });
    expect(pages.map((p) => p.records.length)).toEqual([50, 50, 20]);
    const bodies = fake.requests.map((r) => r.body as Record<string, unknown>);
    expect(bodies.map((b) => [b.offset, b.limit])).toEqual([
      ['0', '50'],
      ['50', '50'],
      ['100', '50'],
    ]);
    expect(bodies[0]).toMatchObject({
      dateRanges: [{ startDate: '2026-11-20', endDate: '2026-11-24' }],
      returnPropertyQuota: true,
      orderBys: [{ dimension: { dimensionName: 'date' } }],
    });
    const record = pages[0]!.records[0]!;
    expect(record).toMatchObject({
      date: '2026-11-20',
      deviceCategory: 'desktop',
      sessionDefaultChannelGroup: 'Direct',
      _final: true,
    });
    expect(Number.isInteger(record.sessions)).toBe(true);
    expect(typeof record.bounceRate).toBe('number');
    expect(typeof record.purchaseRevenue).toBe('number');
  });

  it('marks the restatement window provisional and checkpoints the last final date', async () => {
    const pages = await readAll({ dateRange: { startDate: '2026-11-20', endDate: 'today' } });
    const records = pages.flatMap((p) => p.records);
    const finalDates = new Set(records.filter((r) => r._final).map((r) => r.date));
    const provisional = new Set(records.filter((r) => !r._final).map((r) => r.date));
    expect([...finalDates].sort()).toEqual(['2026-11-20', '2026-11-21', '2026-11-22']);
    expect([...provisional].sort()).toEqual(['2026-11-23', '2026-11-24', '2026-11-25']);
    const lastState = [...pages].reverse().find((p) => p.state !== undefined)!.state;
    expect(lastState).toEqual({ lastFinalDate: '2026-11-22' });
    const states = pages.map((p) => p.state).filter(Boolean) as { lastFinalDate: string }[];
    expect(states.map((s) => s.lastFinalDate)).toEqual(
      [...states.map((s) => s.lastFinalDate)].sort(),
    );
  });

  it('re-reads the window on the next day and picks up restated numbers', async () => {
    const first = await readAll({ dateRange: { startDate: '2026-11-20', endDate: 'today' } });
    const before = new Map(first.flatMap((p) => p.records).map((r) => [key(r), r.sessions]));
    fake.restate(PROPERTY, '2026-11-24');
    const saved = nowMs;
    nowMs += 86_400_000;
    try {
      fake.requests.length = 0;
      const state = [...first].reverse().find((p) => p.state !== undefined)!.state;
      expect(state).toEqual({ lastFinalDate: '2026-11-22' });
      const second = await readAll(
        { dateRange: { startDate: '2026-11-20', endDate: 'today' } },
        { state },
      );
      expect((fake.requests[0]!.body as { dateRanges: unknown }).dateRanges).toEqual([
        { startDate: '2026-11-23', endDate: '2026-11-26' },
      ]);
      const records = second.flatMap((p) => p.records);
      expect(new Set(records.map((r) => r.date))).toEqual(
        new Set(['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26']),
      );
      expect(records.filter((r) => r._final).every((r) => r.date === '2026-11-23')).toBe(true);
      const changed = records.filter(
        (r) => r.date === '2026-11-24' && before.get(key(r)) !== r.sessions,
      );
      expect(changed.length).toBeGreaterThan(0);
      expect(second.at(-1)!.state).toEqual({ lastFinalDate: '2026-11-23' });
    } finally {
      nowMs = saved;
    }
  });

  it('a backfill through params ignores the state', async () => {
    const pages = await readAll(
      {},
      { state: { lastFinalDate: '2026-11-22' }, params: { from: '2026-10-01', to: '2026-10-02' } },
    );
    expect(new Set(pages.flatMap((p) => p.records).map((r) => r.date))).toEqual(
      new Set(['2026-10-01', '2026-10-02']),
    );
  });

  it('learns the property time zone when none is configured', async () => {
    fake.requests.length = 0;
    const pages = await readAll({
      timeZone: undefined,
      dateRange: { startDate: 'yesterday', endDate: 'today' },
    });
    expect(fake.requests[0]!.body).toMatchObject({
      limit: '1',
      dateRanges: [{ startDate: 'today', endDate: 'today' }],
    });
    expect(new Set(pages.flatMap((p) => p.records).map((r) => r.date))).toEqual(
      new Set(['2026-11-24', '2026-11-25']),
    );
  });

  it('recovers from transient failures and counts retries', async () => {
    const metrics = createMemoryMetrics();
    fake.inject({ kind: 'rateLimit', times: 1 });
    fake.inject({ kind: 'serverError', times: 1 });
    // The concurrency 429 asks for a 5 s wait: the retry budget must allow it (the test clock skips it).
    const pages = await readAll(
      {
        dateRange: { startDate: '2026-11-20', endDate: '2026-11-24' },
        retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10_000 },
      },
      {},
      context(metrics),
    );
    expect(pages.flatMap((p) => p.records)).toHaveLength(120);
    expect(metrics.get('ga4_retries_total', { property: PROPERTY })).toBe(2);
  });

  it('reports the property quota and pauses when it runs low', async () => {
    const metrics = createMemoryMetrics();
    fake.setQuotaUsage(PROPERTY, { hour: 39_000 });
    sleeps.length = 0;
    try {
      await readAll(
        {
          dateRange: { startDate: '2026-11-20', endDate: '2026-11-24' },
          pageSize: 40,
          quota: { pauseMs: 1234 },
        },
        {},
        context(metrics),
      );
      expect(
        metrics.get('ga4_quota_tokens_remaining', { property: PROPERTY, window: 'tokensPerHour' }),
      ).toBeLessThan(1000);
      expect(sleeps.filter((ms) => ms === 1234)).toHaveLength(2);
    } finally {
      fake.setQuotaUsage(PROPERTY, { hour: 0 });
    }
  });

  it('stops before the hourly quota is exhausted, keeping the committed checkpoint', async () => {
    fake.setQuotaUsage(PROPERTY, { hour: 40_000 - 115 });
    const pages: Page[] = [];
    let error: unknown;
    try {
      const instance = await create({
        dateRange: { startDate: '2026-11-01', endDate: 'today' },
        pageSize: 90,
      });
      for await (const page of instance.read({}, new AbortController().signal)) pages.push(page);
    } catch (err) {
      error = err;
    } finally {
      fake.setQuotaUsage(PROPERTY, { hour: 0 });
    }
    expect(error).toBeInstanceOf(RetryableError);
    // 18:00 UTC sharp: the hourly window refills in a full hour.
    expect((error as RetryableError).retryAfterMs).toBe(3_600_000);
    expect(pages.length).toBe(2);
    expect(pages.at(-1)!.state).toEqual({ lastFinalDate: '2026-11-07' });
  });

  it('maps an exhausted daily quota to a retry after midnight in the property time zone', async () => {
    fake.setQuotaUsage(PROPERTY, { day: 200_000 });
    try {
      const error = await readAll().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryableError);
      // 10:00 in Los Angeles: 14 hours until the daily quota refills.
      expect((error as RetryableError).retryAfterMs).toBe(14 * 3_600_000);
    } finally {
      fake.setQuotaUsage(PROPERTY, { day: 0 });
    }
  });

  it('names the field and page of a malformed response', async () => {
    fake.inject({ kind: 'malformed' });
    const error = await readAll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(
      /field "rows\[0\]\.metricValues\[0\] \(sessions\)" \(row 0 of page 1, offset 0\): expected a number/,
    );
  });

  it('applies validated filters and ordering', async () => {
    const pages = await readAll({
      dateRange: { startDate: '2026-11-20', endDate: '2026-11-24' },
      dimensionFilter: {
        andGroup: {
          expressions: [
            {
              filter: {
                fieldName: 'deviceCategory',
                stringFilter: { matchType: 'EXACT', value: 'mobile' },
              },
            },
            {
              notExpression: {
                filter: {
                  fieldName: 'sessionDefaultChannelGroup',
                  inListFilter: { values: ['Direct', 'Email'] },
                },
              },
            },
          ],
        },
      },
      metricFilter: {
        filter: {
          fieldName: 'sessions',
          numericFilter: { operation: 'GREATER_THAN', value: { int64Value: '100' } },
        },
      },
      orderBys: [{ metric: { metricName: 'sessions' }, desc: true }],
    });
    const records = pages.flatMap((p) => p.records);
    expect(records.length).toBeGreaterThan(0);
    expect(
      records.every(
        (r) =>
          r.deviceCategory === 'mobile' &&
          r.sessionDefaultChannelGroup !== 'Direct' &&
          r.sessionDefaultChannelGroup !== 'Email' &&
          (r.sessions as number) > 100,
      ),
    ).toBe(true);
    for (let i = 1; i < records.length; i++) {
      const [a, b] = [records[i - 1]!, records[i]!];
      expect(
        a.date! < b.date! ||
          (a.date === b.date && (a.sessions as number) >= (b.sessions as number)),
      ).toBe(true);
    }
  });

  it('rejects malformed filters with paths before any request', () => {
    const attempt = () =>
      parseConfig(
        ga4Connector.configSchema,
        baseConfig({
          dimensionFilter: {
            andGroup: {
              expressions: [
                { filter: { fieldName: 'browser', stringFilter: { value: 'x' } } },
                { filter: { fieldName: 'country' } },
              ],
            },
          },
          metricFilter: {
            filter: {
              fieldName: 'sessions',
              numericFilter: { operation: 'BIGGER', value: { int64Value: 'ten' } },
            },
          },
          orderBys: [{ metric: { metricName: 'users' } }],
        }),
        ['sources', 'ga'],
      );
    expect(attempt).toThrow(
      /sources\.ga\.dimensionFilter\.andGroup\.expressions\[0\]\.filter\.fieldName: must be one of the report's dimensions/,
    );
    expect(attempt).toThrow(
      /dimensionFilter\.andGroup\.expressions\[1\]\.filter: must have exactly one of stringFilter/,
    );
    expect(attempt).toThrow(/metricFilter\.filter\.numericFilter\.operation/);
    expect(attempt).toThrow(
      /metricFilter\.filter\.numericFilter\.value\.int64Value: must be an integer/,
    );
    expect(attempt).toThrow(/orderBys\[0\]\.metric\.metricName/);
    expect(() =>
      parseConfig(
        ga4Connector.configSchema,
        baseConfig({ propertyId: 'G-ABC123', dateRange: { startDate: 'last week' } }),
      ),
    ).toThrow(/propertyId: must be the numeric GA4 property id[\s\S]*dateRange\.startDate/);
  });

  it('rejects a checkpoint of another shape', async () => {
    await expect(readAll({}, { state: { cursor: 5 } })).rejects.toThrow(/state\.lastFinalDate/);
  });

  it('reads a report without a date dimension as one final-or-provisional snapshot', async () => {
    const pages = await readAll({
      dimensions: ['deviceCategory'],
      dateRange: { startDate: '7daysAgo', endDate: 'yesterday' },
    });
    expect(pages.flatMap((p) => p.records).map((r) => [r.deviceCategory, r._final])).toEqual([
      ['desktop', false],
      ['mobile', false],
      ['tablet', false],
    ]);
    expect(pages.every((p) => p.state === undefined)).toBe(true);
  });

  it('check() reports quota and discover() lists the report fields and the catalog', async () => {
    const instance = await create();
    const result = await instance.check!();
    expect(result).toMatchObject({
      ok: true,
      details: { timeZone: 'America/Los_Angeles', currencyCode: 'USD' },
    });
    const [report, catalog] = await instance.discover!();
    expect(report!.fields.map((f) => [f.name, f.type])).toEqual([
      ['date', 'STRING'],
      ['deviceCategory', 'STRING'],
      ['sessionDefaultChannelGroup', 'STRING'],
      ['sessions', 'TYPE_INTEGER'],
      ['bounceRate', 'TYPE_FLOAT'],
      ['purchaseRevenue', 'TYPE_CURRENCY'],
      ['_final', 'BOOLEAN'],
    ]);
    expect(catalog!.fields.some((f) => f.name === 'pagePath')).toBe(true);
    await instance.close!();
  });

  it('check() explains a wrong property id', async () => {
    const result = await (await create({ propertyId: '999' })).check!();
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/property 999.*Viewer/);
  });
});

describe('ga4 connector: outgoing-connection guard on apiEndpoint', () => {
  it('refuses loopback and metadata endpoints without opt-in: coded error, no TCP connection; reads with it', async () => {
    const proxy = await startTcpProxy(Number(new URL(fake.url).port), '127.0.0.1', {
      listenHost: '::',
    });
    try {
      for (const host of [
        '127.0.0.1',
        'localhost',
        '[::1]',
        '[::ffff:127.0.0.1]',
        '[::127.0.0.1]',
        '2130706433',
        '169.254.169.254',
      ]) {
        const noOptIn = { apiEndpoint: `http://${host}:${proxy.port}`, ssrf: {} };
        const error = await readAll(noOptIn).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error, host).toBeInstanceOf(FatalError);
        expect(error, host).toMatchObject({
          code: 'SLUICE_ERR_BLOCKED_ADDRESS',
          details: { field: 'apiEndpoint' },
        });
        expect((error as Error).message, host).toMatch(
          /^apiEndpoint: refusing to connect to .*(loopback|linkLocal) addresses are blocked/,
        );
        const instance = await create(noOptIn);
        expect(await instance.check!(), host).toMatchObject({
          ok: false,
          details: { code: 'SLUICE_ERR_BLOCKED_ADDRESS' },
        });
        await expect(instance.discover!(), host).rejects.toMatchObject({
          code: 'SLUICE_ERR_BLOCKED_ADDRESS',
        });
        await instance.close?.();
      }
      expect(proxy.accepted).toBe(0);

      const pages = await readAll({
        apiEndpoint: `http://127.0.0.1:${proxy.port}`,
        ssrf: { allow: ['127.0.0.1'] },
      });
      expect(pages.flatMap((p) => p.records).length).toBeGreaterThan(0);
      expect(proxy.accepted).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  });
});
