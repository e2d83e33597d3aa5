import type { FakeGa4 } from '@sluice/testing';

/** The property the tests start the wire fake with (seed 5, Los Angeles time). */
export const PROPERTY = '123456';
/** The fake's device categories and channel groups: one row per date, device and channel. */
export const DEVICES = ['desktop', 'mobile', 'tablet'];
export const CHANNELS = [
  'Direct',
  'Organic Search',
  'Paid Search',
  'Email',
  'Referral',
  'Organic Social',
  'Display',
  'Affiliates',
];

/** A connector config for the wire fake (token `ga-token`), the last 30 days, with `overrides` on top. */
export const fakeGa4Config = (fake: FakeGa4, overrides: Record<string, unknown> = {}) => ({
  propertyId: PROPERTY,
  apiEndpoint: fake.url,
  ssrf: { allow: ['127.0.0.1'] }, // the fake listens on loopback: opt in explicitly
  credentials: { type: 'access-token', accessToken: 'ga-token' },
  dimensions: ['date', 'deviceCategory', 'sessionDefaultChannelGroup'],
  metrics: ['sessions', 'bounceRate', 'purchaseRevenue'],
  dateRange: { startDate: '29daysAgo', endDate: 'today' },
  pageSize: 100,
  timeZone: 'America/Los_Angeles',
  retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 20 },
  ...overrides,
});

/** A row's identity: its date, device and channel. */
export const ga4RowKey = (r: Record<string, unknown>) =>
  `${String(r.date)}|${String(r.deviceCategory)}|${String(r.sessionDefaultChannelGroup)}`;
