/**
 * `@sluice/testing`: contract suites that every connector and destination runs (first- and
 * third-party alike) and wire-compatible fakes of the SaaS APIs Sluice talks to, driven
 * through the official SDKs.
 *
 * @example
 * ```ts
 * import { testDestination, testConnector } from '@sluice/testing';
 * ```
 *
 * @packageDocumentation
 */
export {
  makeBatch,
  testDestination,
  type DestinationContractOptions,
  type InvalidConfigCase,
  type TransientFailureHooks,
} from './contract/destination.js';
export { testConnector, type ConnectorContractOptions, type ConnectorErrorCase } from './contract/connector.js';
export { startHubSpotFake, HUBSPOT_FAKE_CUSTOM_TYPE, SEARCH_RESULT_CAP, type HubSpotFake, type HubSpotFakeOptions, type HubSpotFault, type HubSpotFakeRequest, type HubSpotFakeObject } from './fakes/hubspot.js';
export { startFakeBigQuery, generateEventsTable, type FakeBigQuery, type FakeBigQueryOptions, type FakeBigQueryField, type FakeBigQueryRow, type FakeBigQueryValue, type FakeBigQueryTableSource } from './fakes/bigquery.js';
export { startFakeGa4, type FakeGa4, type FakeGa4Options, type FakeGa4PropertyOptions, type FakeGa4Quota, type FakeGa4MetricType } from './fakes/ga4.js';
export { type FakeFault, type FakeFaultHandle, type FakeRequestLogEntry } from './fakes/bigquery-ga4-http.js';
export { startSlackFake, SLACK_FAKE_MAX_BODY_BYTES, type SlackFake, type SlackFakeOptions, type SlackFakeFault, type SlackFakeRequest, type SlackFakeMessage, type SlackFakeChannel, type SlackFakeChannelInit } from './fakes/slack.js';
