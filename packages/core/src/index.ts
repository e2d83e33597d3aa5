/**
 * `@sluice/core`: the contracts every Sluice plugin implements and every engine part speaks —
 * records and batches, plugin definitions, the plugin registry, the coded error family and the
 * context injected into plugins. No heavy dependencies.
 *
 * @example
 * ```ts
 * import { defineDestination, RetryableError } from '@sluice/core';
 * ```
 *
 * @packageDocumentation
 */
export { canonicalJson } from './canonical-json.js';
export {
  MAX_JSON_DEPTH,
  isRecord,
  jsonDepthExceeds,
  type Batch,
  type JsonValue,
  type SluiceRecord,
} from './record.js';
export {
  ConfigError,
  ErrorCodes,
  FatalError,
  PartialBatchError,
  RetryableError,
  SLUICE_ERROR_BRAND,
  SluiceError,
  isRetryable,
  isSluiceError,
  parseRetryAfter,
  toError,
  type ConfigIssue,
  type ErrorCode,
  type RecordFailure,
  type RetryableErrorOptions,
  type SluiceErrorOptions,
} from './errors.js';
export {
  errorCatalog,
  errorDefinitions,
  formatErrorMessage,
  isCatalogCode,
  webhookRejectionError,
  type CatalogErrorCode,
  type ErrorArea,
  type ErrorDefinition,
  type ErrorName,
  type WebhookRejectionReason,
} from './error-catalog.js';
export {
  childLogger,
  createMemoryMetrics,
  createNoopLogger,
  createPluginContext,
  systemClock,
  type Clock,
  type Counter,
  type Gauge,
  type Histogram,
  type LogFn,
  type Logger,
  type MemoryMetrics,
  type MetricLabels,
  type MetricOptions,
  type Metrics,
  type PluginContext,
  type SchemaChangeEvent,
} from './context.js';
export {
  PLUGIN_API_VERSION,
  capabilitiesOf,
  connectorPages,
  defineConnector,
  defineDestination,
  definePlugin,
  defineTransform,
  definitionProblems,
  type AnyDefinition,
  type CheckResult,
  type ConfigSchema,
  type ConnectorDefinition,
  type ConnectorInstance,
  type DestinationCapabilities,
  type DestinationDefinition,
  type DestinationInstance,
  type DiscoveredField,
  type DiscoveredStream,
  type Page,
  type PluginDefinition,
  type ReadRequest,
  type TransformDefinition,
  type TransformFn,
  type WriteOptions,
} from './plugin.js';
export { PluginRegistry, isCompatiblePluginRange, type RegistrationOrigin } from './registry.js';
export { formatPath, issuesFromValibot, parseConfig } from './validate.js';
export {
  FieldPathSyntaxError,
  compileFieldPath,
  deleteField,
  dotPathReplacement,
  fieldPathProblem,
  fieldPathSchema,
  formatFieldPath,
  parseDotPath,
  parseFieldPath,
  readEmbeddedFieldPath,
  readField,
  setField,
  type FieldPath,
  type FieldPathOptions,
} from './field-path.js';
export {
  createGroupCommit,
  createKeyedGroupCommit,
  type GroupCommitOptions,
  type KeyedGroupCommitOptions,
} from './group-commit.js';
export { REDACTED, createRedactor } from './redact.js';
export {
  RETRY_DEFAULTS,
  abortable,
  backoffDelay,
  backoffPolicySchema,
  resolveBackoffPolicy,
  retryWithBackoff,
  type BackoffPolicy,
  type RetryWithBackoffOptions,
} from './retry.js';
export {
  CONDITION_OPS,
  EXPECTATION_ACTIONS,
  EXPECTATION_CHECKS,
  EXPECTED_TYPES,
  ON_ERROR_POLICIES,
  ROUTE_MODES,
  type BatchPolicy,
  type CheckpointStore,
  type ConditionOp,
  type ConditionSpec,
  type DeadLetter,
  type DeadLetterSink,
  type DeliveryPolicy,
  type ExpectationAction,
  type ExpectationCheck,
  type ExpectationSpec,
  type ExpectedType,
  type OnError,
  type RetryPolicy,
  type RouteMode,
  type RouteSpec,
  type TransformSpec,
} from './pipeline.js';
export type {
  ConfigEntry,
  ConfigVersion,
  DeadLetterListFilter,
  DeadLetterStatus,
  DeadLetterStore,
  FinishedRunStatus,
  JobQueueConnection,
  JobQueueDatabase,
  JsonObject,
  MarkRunningOptions,
  RunWriteOptions,
  NewRun,
  NewRunLogEntry,
  PageOptions,
  PipelineActivity,
  PipelineVersionStore,
  ResultPage,
  RunBreakdown,
  RunCounts,
  RunDestinationCounts,
  RunExpectationCounts,
  RunRouteCounts,
  RunError,
  RunListFilter,
  RunLogEntry,
  RunLogLevel,
  RunOutcome,
  RunRecord,
  RunStatus,
  RunStore,
  RunTrigger,
  SavedConfig,
  ScheduleStateStore,
  SluiceStore,
  StoredDeadLetter,
  VersionedConfigStore,
  WebhookDeliveryStore,
  WebhookInboxAppend,
  WebhookInboxEntry,
  WebhookInboxStore,
} from './store.js';
export { dateInZone, isValidTimeZone } from './time-zone.js';
export {
  DELIVERY_LEDGER_TTL_MS,
  createDeliveryLedger,
  type DeliveryLedger,
  type DeliveryLedgerOptions,
} from './delivery-ledger.js';
export {
  MAX_PLUGIN_STATE_KEY_LENGTH,
  checkPluginStateKey,
  checkPluginStateWrite,
  createMemoryPluginState,
  type MemoryPluginStateOptions,
  type PluginStateSetOptions,
  type PluginStateStore,
} from './plugin-state.js';
export {
  assertNoPlaintextSecrets,
  findPlaintextSecrets,
  isSecretKey,
  isSecretReference,
} from './secret-fields.js';
export { CRON_FORMS, cronProblem, parseCron } from './cron.js';
