/**
 * The shapes of a pipeline's routing part, shared by `@sluice/config` (which validates them)
 * and `@sluice/router` (which compiles and runs them), and the interfaces through which the
 * router hands failed records and committed checkpoints to a store.
 *
 * @packageDocumentation
 */
import type { JsonValue, SluiceRecord } from './record.js';
import type { BackoffPolicy } from './retry.js';

/** Operators of a structured condition. */
export type ConditionOp =
  | 'eq'
  | 'ne'
  | 'lt'
  | 'lte'
  | 'gt'
  | 'gte'
  | 'in'
  | 'nin'
  | 'exists'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | 'matches';

/** Every {@link ConditionOp}, in documentation order. */
export const CONDITION_OPS: readonly ConditionOp[] = [
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'in',
  'nin',
  'exists',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
];

/**
 * When a route applies to a record.
 *
 * - a string or `{ jsonpath }`: an RFC 9535 JSONPath query; the record matches when the query
 *   selects at least one node (`$.utm.campaign` exists; `$[?$.sessions > 100]` selects the
 *   record's children when its own `sessions` is above 100 — note that `@` in a top-level
 *   filter is each child, not the record);
 * - `{ filter }`: an RFC 9535 filter expression tested once against the record itself (`@` and `$`
 *   are the record): `{ filter: "@.sessions > 100 && @.country == 'DE'" }` — the idiomatic
 *   record-level test;
 * - `{ path, op, value }`: compare the value at a JSONPath (singular query) with `value`;
 * - `{ all }`, `{ any }`, `{ not }`: combine conditions.
 *
 * @example
 * ```ts
 * const when: ConditionSpec = {
 *   all: [{ path: '$.channel', op: 'in', value: ['email', 'paid'] }, { path: '$.sessions', op: 'gt', value: 100 }],
 * };
 * ```
 */
export type ConditionSpec =
  | string
  | { jsonpath: string }
  | { filter: string }
  | { path: string; op: ConditionOp; value?: JsonValue }
  | { all: ConditionSpec[] }
  | { any: ConditionSpec[] }
  | { not: ConditionSpec };

/**
 * One transform step: `kind` names a built-in (`pick`, `omit`, `rename`, `set`, `template`,
 * `cast`, `flatten`, `unnest`, `compute`, `drop`) or a plugin transform; the other keys are the
 * step's options, validated by that transform's schema.
 *
 * @example
 * ```ts
 * const steps: TransformSpec[] = [
 *   { kind: 'pick', fields: ['date', 'channel', 'sessions'] },
 *   { kind: 'rename', fields: { sessions: 'visits' } },
 * ];
 * ```
 */
export interface TransformSpec {
  kind: string;
  [option: string]: unknown;
}

/** What happens to a record whose delivery still fails after every retry. */
export type OnError = 'dead-letter' | 'drop' | 'fail-run';

/** Every {@link OnError}, the default first: the values `@sluice/config`'s route schema accepts. */
export const ON_ERROR_POLICIES: readonly OnError[] = ['dead-letter', 'drop', 'fail-run'];

/** `stop`: the first matching route (by priority) wins; `continue`: later routes may match too. */
export type RouteMode = 'stop' | 'continue';

/** Every {@link RouteMode}: the values `@sluice/config`'s route schema accepts. */
export const ROUTE_MODES: readonly RouteMode[] = ['stop', 'continue'];

/** What an expectation does with a record (or the run) that violates it. */
export type ExpectationAction = 'dead-letter' | 'drop' | 'warn' | 'fail-run';

/** Every {@link ExpectationAction}: the values `@sluice/config`'s expectation schema accepts. */
export const EXPECTATION_ACTIONS: readonly ExpectationAction[] = [
  'dead-letter',
  'drop',
  'warn',
  'fail-run',
];

/** Checks of one record, and checks of a whole run (`row-count`, `freshness`). */
export type ExpectationCheck =
  | 'required'
  | 'type'
  | 'range'
  | 'pattern'
  | 'one-of'
  | 'predicate'
  | 'unique'
  | 'row-count'
  | 'freshness';

/** Every {@link ExpectationCheck}. */
export const EXPECTATION_CHECKS: readonly ExpectationCheck[] = [
  'required',
  'type',
  'range',
  'pattern',
  'one-of',
  'predicate',
  'unique',
  'row-count',
  'freshness',
];

/** JSON types a `type` expectation names (`integer`: a number without fraction). */
export type ExpectedType =
  'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

/** Every {@link ExpectedType}. */
export const EXPECTED_TYPES: readonly ExpectedType[] = [
  'string',
  'number',
  'integer',
  'boolean',
  'object',
  'array',
  'null',
];

/**
 * One declarative expectation of a route or a destination (`expect: [...]`): a check, the
 * field it reads (a field path), its arguments and the action on a violation. Record checks
 * (`required`, `type`, `range`, `pattern`, `one-of`, `predicate`, `unique`) test every record;
 * run checks (`row-count`, `freshness`) test the run once at its end and take `warn` or
 * `fail-run` only.
 *
 * @example
 * ```ts
 * const expect: ExpectationSpec[] = [
 *   { check: 'required', field: 'order_id', action: 'dead-letter' },
 *   { check: 'range', field: 'amount', min: 0, max: 100000, action: 'drop' },
 *   { check: 'row-count', minRatio: 1, action: 'fail-run' },
 * ];
 * ```
 */
export interface ExpectationSpec {
  check: ExpectationCheck;
  /** Names the check in metrics, the run summary and dead letters. Default `<check>:<field>`. */
  name?: string;
  /** The field the check reads: a name or a singular JSONPath. */
  field?: string;
  /** Default `dead-letter` for record checks, `fail-run` for run checks. */
  action?: ExpectationAction;
  /** `type`: the JSON type the value must have. */
  type?: ExpectedType;
  /** `range`: bounds (numbers, or strings such as ISO dates), inclusive. */
  min?: number | string;
  max?: number | string;
  /** `pattern`: a regular expression (checked like the `matches` operator) and its flags. */
  pattern?: string;
  flags?: string;
  /** `one-of`: the allowed values. */
  values?: JsonValue[];
  /** `predicate`: a condition the record must match. */
  when?: ConditionSpec;
  /** `row-count`: bounds of (records this route or destination got) ÷ (records read). */
  minRatio?: number;
  maxRatio?: number;
  /** `freshness`: the newest value of `field` (an ISO timestamp) may be at most this old. */
  maxAgeMs?: number;
}

/**
 * One route of a pipeline.
 *
 * @example
 * ```ts
 * const route: RouteSpec = {
 *   name: 'big-drops',
 *   priority: 10,
 *   when: { path: '$.change', op: 'lt', value: -0.2 },
 *   to: ['slack-alerts'],
 *   mode: 'continue',
 * };
 * ```
 */
export interface RouteSpec {
  name: string;
  /** Higher runs first; ties keep config order. Default 0. */
  priority?: number;
  /** Absent: matches every record. */
  when?: ConditionSpec;
  transform?: TransformSpec[];
  /** Destination names. */
  to: string[];
  /** Default `continue`. */
  mode?: RouteMode;
  /** Default `dead-letter`. */
  onError?: OnError;
  /** Expectations on the records this route produces (see {@link ExpectationSpec}). */
  expect?: ExpectationSpec[];
}

/** How a destination's buffer turns records into batches. */
export interface BatchPolicy {
  /** Flush when this many records are buffered. */
  maxRecords?: number;
  /** Flush when the buffered records' JSON size reaches this many bytes. */
  maxBytes?: number;
  /** Flush a non-empty buffer after this long. */
  maxWaitMs?: number;
}

/**
 * Retries of a failed batch as a config writes them: core's {@link BackoffPolicy}, any key left
 * out taking `RETRY_DEFAULTS.delivery`.
 *
 * @example
 * ```ts
 * const retry: RetryPolicy = { maxAttempts: 8, maxDelayMs: 60_000 };
 * ```
 */
export type RetryPolicy = Partial<BackoffPolicy>;

/** Engine-side delivery settings of one destination (next to its plugin config). */
export interface DeliveryPolicy {
  batch?: BatchPolicy;
  retry?: RetryPolicy;
  /** Batches written at once (never more than the destination's `maxInFlight`). */
  concurrency?: number;
}

/**
 * A record that could not be delivered, with everything needed to understand and replay it.
 *
 * @example
 * ```ts
 * await sink.write([{ pipeline: 'daily', runId, route: 'all', destination: 'warehouse',
 *   record, error: { name: 'FatalError', message: 'column "x" missing' }, attempts: 5, failedAt: new Date().toISOString() }]);
 * ```
 */
export interface DeadLetter {
  pipeline: string;
  runId: string;
  route: string;
  destination: string;
  /** The record as the route's transforms produced it. */
  record: SluiceRecord;
  /** The record as it came from the source, for replay through the current routes. */
  original?: SluiceRecord;
  error: { name: string; message: string; code?: string };
  attempts: number;
  failedAt: string;
  /**
   * Source position of the input record (`<runId>-<segment>-<offset>`): a replay delivers it
   * with the record key and batch id it had, so a destination that got it before recognises it.
   */
  position?: string;
}

/** Where the router puts dead letters; `@sluice/store` implements it. */
export interface DeadLetterSink {
  write(letters: readonly DeadLetter[]): Promise<void>;
}

/** Where incremental cursors are kept between runs; `@sluice/store` implements it. */
export interface CheckpointStore {
  get(pipeline: string, stream?: string): Promise<JsonValue | undefined>;
  commit(pipeline: string, state: JsonValue, stream?: string): Promise<void>;
}
