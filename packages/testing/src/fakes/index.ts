/**
 * Wire-compatible fakes of the SaaS APIs Sluice talks to — BigQuery, GA4, HubSpot and Slack —
 * driven through the official SDKs on 127.0.0.1. This entry point does not load vitest, so
 * benchmarks and plain scripts can use the fakes too.
 *
 * @example
 * ```ts
 * import { startFakeBigQuery } from '@sluice/testing/fakes';
 * const fake = await startFakeBigQuery({ ... });
 * ```
 *
 * @packageDocumentation
 */
export {
  startHubSpotFake,
  HUBSPOT_FAKE_CUSTOM_TYPE,
  SEARCH_RESULT_CAP,
  type HubSpotFake,
  type HubSpotFakeOptions,
  type HubSpotFault,
  type HubSpotFakeRequest,
  type HubSpotFakeObject,
} from './hubspot.js';
export {
  startFakeBigQuery,
  generateEventsTable,
  type FakeBigQuery,
  type FakeBigQueryOptions,
  type FakeBigQueryField,
  type FakeBigQueryRow,
  type FakeBigQueryValue,
  type FakeBigQueryTableSource,
} from './bigquery.js';
export {
  startFakeGa4,
  type FakeGa4,
  type FakeGa4Options,
  type FakeGa4PropertyOptions,
  type FakeGa4Quota,
  type FakeGa4MetricType,
} from './ga4.js';
export {
  type FakeFault,
  type FakeFaultHandle,
  type FakeRequestLogEntry,
} from './bigquery-ga4-http.js';
export {
  startSlackFake,
  SLACK_FAKE_MAX_BODY_BYTES,
  type SlackFake,
  type SlackFakeOptions,
  type SlackFakeFault,
  type SlackFakeRequest,
  type SlackFakeMessage,
  type SlackFakeChannel,
  type SlackFakeChannelInit,
} from './slack.js';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
