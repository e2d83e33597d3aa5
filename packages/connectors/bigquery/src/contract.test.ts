import {
  generateEventsTable,
  startFakeBigQuery,
  testConnector,
  type FakeBigQuery,
} from '@sluice/testing';
import { afterAll, beforeAll } from 'vitest';
import { bigQueryConnector } from './plugin.js';
import { fakeBigQueryConfig } from './__fixtures__/config.js';

const ROWS = 2_500;
let fake: FakeBigQuery;

beforeAll(async () => {
  fake = await startFakeBigQuery({
    accessTokens: ['good-token'],
    tables: { 'analytics.events': generateEventsTable({ rows: ROWS, seed: 11 }) },
  });
});
afterAll(async () => {
  await fake.close();
});

const baseConfig = (overrides: Record<string, unknown> = {}) => fakeBigQueryConfig(fake, overrides);

testConnector({
  name: 'bigquery',
  definition: bigQueryConnector,
  config: () => baseConfig(),
  key: (record) => String(record.id),
  expectedCount: ROWS,
  incremental: {
    async mutate() {
      const updates = [7, 700, 2_222].map((index) => ({
        index,
        values: { updated_at: String(Date.UTC(2030, 0, 1) * 1000 + index) },
      }));
      fake.updateRows('analytics.events', updates);
      return updates.map((u) => String(u.index + 1));
    },
  },
  errors: [
    {
      name: '403 rateLimitExceeded',
      expected: 'retryable',
      inject: () => fake.inject({ kind: 'rateLimit', times: Infinity }).remove,
    },
    {
      name: '403 quotaExceeded',
      expected: 'retryable',
      inject: () => fake.inject({ kind: 'quota', times: Infinity, retryAfterSeconds: 0 }).remove,
    },
    {
      name: 'HTTP 503',
      expected: 'retryable',
      inject: () =>
        fake.inject({ kind: 'unavailable', times: Infinity, operation: 'getQueryResults' }).remove,
    },
    {
      name: 'HTTP 401',
      expected: 'fatal',
      inject: () => fake.inject({ kind: 'unauthenticated', times: Infinity }).remove,
    },
    {
      name: 'invalid query',
      expected: 'fatal',
      inject: () => fake.inject({ kind: 'badRequest', times: Infinity }).remove,
    },
  ],
  badCredentials: () =>
    baseConfig({ credentials: { type: 'access-token', accessToken: 'expired-token' } }),
});
