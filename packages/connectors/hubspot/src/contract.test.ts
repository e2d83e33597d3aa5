import { afterAll, beforeAll } from 'vitest';
import { startHubSpotFake, testConnector, type HubSpotFake } from '@sluice/testing';
import { hubspotConnector } from './index.js';

let fake: HubSpotFake;
beforeAll(async () => {
  fake = await startHubSpotFake({ sizes: { contacts: 1_250, companies: 40 } });
});
afterAll(() => fake.close());

const config = () => ({
  accessToken: fake.token,
  basePath: fake.url,
  ssrf: { allow: ['127.0.0.1'] }, // the fake listens on loopback: opt in explicitly
  object: 'contacts',
  properties: ['email', 'firstname', 'lastname'],
  associations: ['companies'],
  rateLimit: { requests: 100_000, searchRequestsPerSecond: 10_000, retryDelayMs: 5, maxRetries: 2 },
});

testConnector({
  name: 'hubspot (contacts, through @hubspot/api-client against the wire fake)',
  definition: hubspotConnector,
  config,
  key: (record) => String(record.id),
  expectedCount: 1_250,
  incremental: { mutate: async () => fake.touch('contacts', 40, { sameMillisecond: 6 }) },
  errors: [
    {
      name: '503 from HubSpot',
      inject: () => fake.inject({ status: 503, times: Infinity }),
      expected: 'retryable',
    },
    {
      name: '401 expired token',
      inject: () => fake.inject({ status: 401, times: Infinity }),
      expected: 'fatal',
    },
    {
      name: '429 TEN_SECONDLY_ROLLING that outlasts the retries',
      inject: () =>
        fake.inject({ status: 429, policyName: 'TEN_SECONDLY_ROLLING', times: Infinity }),
      expected: 'retryable',
    },
    {
      name: '429 DAILY',
      inject: () => fake.inject({ status: 429, policyName: 'DAILY', times: Infinity }),
      expected: 'fatal',
    },
    {
      name: 'a page with a numeric id',
      inject: () =>
        fake.inject({
          status: 200,
          body: '{"results":[{"id":7,"properties":{},"createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-01-01T00:00:00Z"}]}',
          times: Infinity,
        }),
      expected: 'fatal',
    },
    {
      name: 'a body that is not JSON',
      inject: () => fake.inject({ status: 200, body: '<html>gateway</html>', times: Infinity }),
      expected: 'retryable',
    },
  ],
  badCredentials: () => ({ ...config(), accessToken: 'pat-na1-not-a-real-token' }),
  timeout: 30_000,
});
