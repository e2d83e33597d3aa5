import type { FakeBigQuery } from '@sluice/testing';

/** The query the contract suite reads: incremental on `updated_at`. */
export const EVENTS_QUERY =
  'SELECT * FROM analytics.events WHERE updated_at > @cursor ORDER BY updated_at';

/** A connector config for the wire fake (token `good-token`), with `overrides` on top. */
export const fakeBigQueryConfig = (
  fake: FakeBigQuery,
  overrides: Record<string, unknown> = {},
) => ({
  projectId: fake.projectId,
  apiEndpoint: fake.url,
  ssrf: { allow: ['127.0.0.1'] }, // the fake listens on loopback: opt in explicitly
  credentials: { type: 'access-token', accessToken: 'good-token' },
  query: EVENTS_QUERY,
  cursor: { column: 'updated_at', type: 'TIMESTAMP' },
  pageSize: 400,
  retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 20 },
  ...overrides,
});
