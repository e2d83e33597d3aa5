import { createMemoryMetrics, createPluginContext, systemClock, type Clock } from '@sluice/core';
import { startFakeGa4, testConnector, type FakeGa4 } from '@sluice/testing';
import { afterAll, beforeAll } from 'vitest';
import { ga4Connector } from './plugin.js';
import { addDays } from './dates.js';
import {
  CHANNELS,
  DEVICES,
  PROPERTY,
  fakeGa4Config,
  ga4RowKey as key,
} from './__fixtures__/ga4.js';

// 18:00 UTC is 10:00 in Los Angeles: "today" is 2026-11-25 for the property.
const nowMs = Date.UTC(2026, 10, 25, 18, 0);
const clock: Clock = {
  now: () => nowMs,
  sleep: (ms, signal) => systemClock.sleep(Math.min(ms, 5), signal),
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

testConnector({
  name: 'ga4',
  definition: ga4Connector,
  config: () => baseConfig(),
  context: () => context(),
  key,
  expectedCount: 30 * DEVICES.length * CHANNELS.length,
  incremental: {
    async mutate() {
      const date = addDays('2026-11-25', -1);
      fake.restate(PROPERTY, date);
      return DEVICES.flatMap((d) => CHANNELS.map((c) => `${date}|${d}|${c}`));
    },
  },
  errors: [
    {
      name: '429 RESOURCE_EXHAUSTED (tokens per hour)',
      expected: 'retryable',
      inject: () => fake.inject({ kind: 'quota', times: Infinity }).remove,
    },
    {
      name: '429 RESOURCE_EXHAUSTED (concurrent requests)',
      expected: 'retryable',
      inject: () => fake.inject({ kind: 'rateLimit', times: Infinity }).remove,
    },
    {
      name: 'HTTP 503',
      expected: 'retryable',
      inject: () => fake.inject({ kind: 'unavailable', times: Infinity }).remove,
    },
    {
      name: 'HTTP 401',
      expected: 'fatal',
      inject: () => fake.inject({ kind: 'unauthenticated', times: Infinity }).remove,
    },
    {
      name: 'HTTP 403',
      expected: 'fatal',
      inject: () => fake.inject({ kind: 'permissionDenied', times: Infinity }).remove,
    },
    {
      name: 'HTTP 400',
      expected: 'fatal',
      inject: () => fake.inject({ kind: 'badRequest', times: Infinity }).remove,
    },
  ],
  badCredentials: () =>
    baseConfig({ credentials: { type: 'access-token', accessToken: 'revoked' } }),
});
