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
  type RepeatBatchOptions,
  type TransientFailureHooks,
} from './contract/destination.js';
export {
  testConnector,
  type ConnectorContractOptions,
  type ConnectorErrorCase,
} from './contract/connector.js';
export * from './fakes/index.js';
export { hostileRecords, hostileColumns, readCsvWithPython, expectedCsvCell } from './csv/index.js';
