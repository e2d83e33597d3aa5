import { describe, expect, it } from 'vitest';
import { RetryableError, createPluginContext, parseConfig } from '@sluice/core';
import type { BetaAnalyticsDataClient } from '@google-analytics/data';
import { createGa4Instance } from './connector.js';
import { ga4Connector } from './plugin.js';

const config = (extra: Record<string, unknown> = {}) =>
  parseConfig(ga4Connector.configSchema, {
    propertyId: '123',
    credentials: { type: 'access-token', accessToken: 't' },
    timeZone: 'UTC',
    dimensions: ['date', 'sessionDefaultChannelGroup'],
    metrics: ['sessions'],
    dateRange: { startDate: '2026-11-01', endDate: '2026-11-01' },
    retry: { maxAttempts: 1 },
    ...extra,
  });

async function readAll(client: Partial<BetaAnalyticsDataClient>, extra?: Record<string, unknown>) {
  const instance = createGa4Instance(
    config(extra),
    createPluginContext(),
    client as BetaAnalyticsDataClient,
  );
  const records = [];
  for await (const page of instance.read({}, new AbortController().signal))
    records.push(...page.records);
  return records;
}

describe('GA4 request deadline', () => {
  it('gives the SDK no deadline of its own (its timer kept every response alive) and enforces requestTimeoutMs itself', async () => {
    const calls: unknown[] = [];
    const client = {
      runReport: (async (_request: unknown, options: unknown) => {
        calls.push(options);
        return [
          {
            dimensionHeaders: [{ name: 'date' }, { name: 'sessionDefaultChannelGroup' }],
            metricHeaders: [{ name: 'sessions', type: 'TYPE_INTEGER' }],
            rows: [],
            rowCount: 0,
          },
        ];
      }) as unknown as BetaAnalyticsDataClient['runReport'],
    };
    await readAll(client);
    expect(calls.length).toBeGreaterThan(0);
    for (const options of calls) expect(options).toEqual({ timeout: Number.POSITIVE_INFINITY });
  });

  it('turns a request that never answers into a RetryableError after requestTimeoutMs', async () => {
    const client = {
      runReport: (() => new Promise(() => {})) as unknown as BetaAnalyticsDataClient['runReport'],
    };
    const started = Date.now();
    await expect(readAll(client, { requestTimeoutMs: 1000 })).rejects.toBeInstanceOf(
      RetryableError,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
