/**
 * Plugin definitions: connectors read records, destinations write them, transforms reshape
 * them. A plugin package bundles any number of each with {@link definePlugin}.
 *
 * @packageDocumentation
 */
import type * as v from 'valibot';
import type { Batch, JsonValue, SluiceRecord } from './record.js';
import type { PluginContext } from './context.js';
import { FatalError } from './errors.js';

/** The version of the plugin API this build of `@sluice/core` implements. */
export const PLUGIN_API_VERSION = '1.0.0';

/** A valibot schema that validates a plugin's config section and types its output. */
export type ConfigSchema<TConfig = unknown> = v.GenericSchema<unknown, TConfig>;

/** Result of a connection or destination check. */
export interface CheckResult {
  ok: boolean;
  /** Human-readable outcome; on failure, what to do about it. */
  message: string;
  details?: Record<string, JsonValue>;
}

// ---------------------------------------------------------------------------------------------
// Connectors

/** What a run asks a connector to read. */
export interface ReadRequest {
  /** Checkpoint committed after the last successful run (or `undefined` for a first/full read). */
  state?: JsonValue | undefined;
  /** Run parameters, e.g. a backfill range `{ from: '2026-11-01', to: '2026-11-07' }`. */
  params?: Record<string, JsonValue>;
}

/**
 * One page of records. When `state` is present it is a checkpoint: the engine commits it only
 * after every destination acknowledged every record of this page and the pages before it, and
 * hands it back as `ReadRequest.state` on the next run.
 */
export interface Page {
  records: readonly SluiceRecord[];
  state?: JsonValue;
}

/** A field a connector can produce, as reported by `discover()`. */
export interface DiscoveredField {
  name: string;
  /** Source type as the remote system names it (e.g. `INT64`, `TYPE_INTEGER`, `number`). */
  type: string;
  nullable?: boolean;
  description?: string;
}

/** A stream (table, report, object type) and its fields. */
export interface DiscoveredStream {
  name: string;
  fields: DiscoveredField[];
}

/**
 * A live connector created from config.
 *
 * @example
 * ```ts
 * for await (const page of connector.read({ state }, signal)) {
 *   await deliver(page.records);
 *   if (page.state !== undefined) await commit(page.state);
 * }
 * ```
 */
export interface ConnectorInstance {
  /** Streams pages; memory must not depend on the size of the result. Stops promptly when `signal` aborts. */
  read(request: ReadRequest, signal: AbortSignal): AsyncIterable<Page>;
  /** Tests credentials and access without reading data. */
  check?(): Promise<CheckResult>;
  /** Lists the fields the connector can produce. */
  discover?(): Promise<DiscoveredStream[]>;
  close?(): Promise<void>;
}

/**
 * Checks what a connector's `read()` returned and hands it back as an `AsyncIterable<Page>`.
 * The engine and the contract suite of `@sluice/testing` both go through this, so they accept
 * and refuse the same shapes: an async iterable (an `async *read()` generator, or an object with
 * `[Symbol.asyncIterator]`) is accepted; a sync generator, an array, a promise or anything else
 * is refused at once (thrown) with a `FatalError` that names the connector and says what to write instead.
 *
 * @example
 * ```ts
 * for await (const page of connectorPages(connector.read(request, signal), 'my-kind')) { ... }
 * ```
 */
export function connectorPages(result: unknown, kind?: string): AsyncIterable<Page> {
  if (
    result !== null &&
    (typeof result === 'object' || typeof result === 'function') &&
    typeof (result as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  ) {
    return result as AsyncIterable<Page>;
  }
  const who = kind === undefined ? 'the connector' : `connector "${kind}"`;
  let got: string;
  if (Array.isArray(result)) got = 'an array';
  else if (
    result !== null &&
    typeof result === 'object' &&
    typeof (result as { then?: unknown }).then === 'function'
  )
    got = 'a promise';
  else if (
    result !== null &&
    typeof result === 'object' &&
    typeof (result as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  )
    got = 'a sync iterable (a function* generator?)';
  else got = result === null ? 'null' : typeof result;
  throw new FatalError(
    `${who}: read() must return an AsyncIterable<Page> (write it as "async *read(request, signal) { yield { records } }"), but it returned ${got}`,
    { details: { ...(kind === undefined ? {} : { connector: kind }), returned: got } },
  );
}

/** A connector kind. Create one with {@link defineConnector}. */
export interface ConnectorDefinition<TConfig = unknown> {
  readonly type: 'connector';
  /** Unique kind name used in config (`kind: bigquery`). */
  readonly kind: string;
  /** Semver of the connector implementation. */
  readonly version: string;
  readonly description?: string;
  readonly configSchema: ConfigSchema<TConfig>;
  /**
   * Whether reading again from the same `state` yields the same records in the same order
   * (`'same'`), as long as the source did not change what lies before the next checkpoint; or
   * whether it may not (`'may-differ'`, the default: e.g. a keyset over `updatedAt`, where
   * records move as they are updated). With `'same'`, a run taken over after a crash gives the
   * records it re-reads the record keys and batch ids they had, and destinations keyed by them
   * absorb the repeat (effectively once). With `'may-differ'`, a take-over's records get keys of
   * their own (at-least-once), so a destination never skips or overwrites a batch whose records
   * changed. See docs/connectors/writing-a-plugin.md, "Re-reads are the same records".
   */
  readonly rereads?: 'same' | 'may-differ';
  create(config: TConfig, ctx: PluginContext): ConnectorInstance | Promise<ConnectorInstance>;
}

/**
 * Declares a connector kind. `config` in `create` is typed from the valibot schema.
 *
 * @example
 * ```ts
 * import * as v from 'valibot';
 * export const counterConnector = defineConnector({
 *   kind: 'counter',
 *   version: '1.0.0',
 *   configSchema: v.object({ to: v.number() }),
 *   create: (config) => ({
 *     async *read(request) {
 *       const from = typeof request.state === 'number' ? request.state : 0;
 *       for (let i = from; i < config.to; i++) yield { records: [{ i }], state: i + 1 };
 *     },
 *   }),
 * });
 * ```
 */
export function defineConnector<const TSchema extends ConfigSchema>(definition: {
  kind: string;
  version: string;
  description?: string;
  configSchema: TSchema;
  /** See {@link ConnectorDefinition.rereads}. */
  rereads?: 'same' | 'may-differ';
  create(
    config: v.InferOutput<TSchema>,
    ctx: PluginContext,
  ): ConnectorInstance | Promise<ConnectorInstance>;
}): ConnectorDefinition<v.InferOutput<TSchema>> {
  assertDefinition(definition, 'connector');
  return Object.freeze({ ...definition, type: 'connector' as const });
}

// ---------------------------------------------------------------------------------------------
// Destinations

/** What a destination declares about itself; the router batches and parallelises accordingly. */
export interface DestinationCapabilities {
  /** Largest batch the destination accepts (the router never sends more). */
  maxBatch?: number;
  /** How many batches may be written concurrently. Default 1. */
  maxInFlight?: number;
  /**
   * The batch the destination works best with, used where the destination's delivery policy
   * (`batch` in sluice.yaml) sets none; the router's own defaults are 500 records and 1000 ms.
   * A file appends 10 000 records at once rather than twenty appends of 500; a database loads
   * a batch per transaction, with COPY from `bulkThreshold` rows.
   */
  preferredBatch?: { maxRecords?: number; maxWaitMs?: number };
  /** Writing the same batch twice leaves the same result (upserts, deterministic keys). */
  idempotent: boolean;
  /**
   * How the destination absorbs a repeat of what it already received (a retry, a take-over
   * after a crash re-reading the source from the last checkpoint, a dead-letter replay):
   * - `'batch'`: it keys what it writes by `batch.id` (object names, Message-IDs, a ledger of
   *   written batches). The router then cuts this destination's batches only where every
   *   attempt cuts them: at checkpoint boundaries and batch-size limits, never on `maxWaitMs`.
   * - `'record'`: it keys each record by `batch.recordKeys` (webhook ids, alert dedupe).
   * - `'content'`: the result depends on the records only (upserts, last value wins).
   * Absent: at-least-once; a repeat is written again. See docs/architecture.md, "Delivery guarantees".
   */
  idempotency?: 'batch' | 'record' | 'content';
}

/** Per-call options of `write`. */
export interface WriteOptions {
  /** Aborts when the run is cancelled or the server shuts down. */
  signal: AbortSignal;
}

/**
 * A live destination created from config.
 *
 * `write` resolves when every record is durably accepted. It throws a `RetryableError` for
 * transient failures, a `FatalError` when retrying cannot help, and a `PartialBatchError`
 * naming the indexes that failed when only some records did.
 */
export interface DestinationInstance {
  open?(): Promise<void>;
  write(batch: Batch, options: WriteOptions): Promise<void>;
  check?(): Promise<CheckResult>;
  /** Flushes and releases resources; called once, after the last write. */
  close?(): Promise<void>;
}

/** A destination kind. Create one with {@link defineDestination}. */
export interface DestinationDefinition<TConfig = unknown> {
  readonly type: 'destination';
  readonly kind: string;
  readonly version: string;
  readonly description?: string;
  readonly configSchema: ConfigSchema<TConfig>;
  /** Capabilities; a function when they depend on config (e.g. upsert vs insert mode). */
  readonly capabilities: DestinationCapabilities | ((config: TConfig) => DestinationCapabilities);
  create(config: TConfig, ctx: PluginContext): DestinationInstance | Promise<DestinationInstance>;
}

/**
 * Declares a destination kind.
 *
 * @example
 * ```ts
 * import * as v from 'valibot';
 * export const consoleDestination = defineDestination({
 *   kind: 'console',
 *   version: '1.0.0',
 *   configSchema: v.object({ prefix: v.optional(v.string(), '') }),
 *   capabilities: { idempotent: false },
 *   create: (config) => ({
 *     async write(batch) { for (const r of batch.records) console.log(config.prefix, r); },
 *   }),
 * });
 * ```
 */
export function defineDestination<const TSchema extends ConfigSchema>(definition: {
  kind: string;
  version: string;
  description?: string;
  configSchema: TSchema;
  capabilities:
    DestinationCapabilities | ((config: v.InferOutput<TSchema>) => DestinationCapabilities);
  create(
    config: v.InferOutput<TSchema>,
    ctx: PluginContext,
  ): DestinationInstance | Promise<DestinationInstance>;
}): DestinationDefinition<v.InferOutput<TSchema>> {
  assertDefinition(definition, 'destination');
  return Object.freeze({ ...definition, type: 'destination' as const });
}

/**
 * Resolves a destination's capabilities for one config.
 *
 * @example
 * ```ts
 * const { maxBatch = 1000, maxInFlight = 1 } = capabilitiesOf(definition, config);
 * ```
 */
export function capabilitiesOf<TConfig>(
  definition: DestinationDefinition<TConfig>,
  config: NoInfer<TConfig>,
): DestinationCapabilities {
  return typeof definition.capabilities === 'function'
    ? definition.capabilities(config)
    : definition.capabilities;
}

// ---------------------------------------------------------------------------------------------
// Transforms

/**
 * One transform step applied to one record. Returns the new record, several records
 * (e.g. unnest), or `null` to drop the record. Must be pure and synchronous: it runs on the
 * hot path for every record. Throwing marks only this record as failed.
 */
export type TransformFn = (record: SluiceRecord) => SluiceRecord | readonly SluiceRecord[] | null;

/** A transform kind. Create one with {@link defineTransform}. */
export interface TransformDefinition<TConfig = unknown> {
  readonly type: 'transform';
  readonly kind: string;
  readonly version: string;
  readonly description?: string;
  readonly configSchema: ConfigSchema<TConfig>;
  /** Compiles the step once per route table; the returned function runs per record. */
  create(config: TConfig, ctx: PluginContext): TransformFn;
}

/**
 * Declares a transform kind.
 *
 * @example
 * ```ts
 * import * as v from 'valibot';
 * export const upperCase = defineTransform({
 *   kind: 'upper-case',
 *   version: '1.0.0',
 *   configSchema: v.object({ field: v.string() }),
 *   create: ({ field }) => (record) => ({ ...record, [field]: String(record[field] ?? '').toUpperCase() }),
 * });
 * ```
 */
export function defineTransform<const TSchema extends ConfigSchema>(definition: {
  kind: string;
  version: string;
  description?: string;
  configSchema: TSchema;
  create(config: v.InferOutput<TSchema>, ctx: PluginContext): TransformFn;
}): TransformDefinition<v.InferOutput<TSchema>> {
  assertDefinition(definition, 'transform');
  return Object.freeze({ ...definition, type: 'transform' as const });
}

// ---------------------------------------------------------------------------------------------
// Plugins

/** Any connector, destination or transform definition. */
export type AnyDefinition =
  | ConnectorDefinition<any> // eslint-disable-line @typescript-eslint/no-explicit-any
  | DestinationDefinition<any> // eslint-disable-line @typescript-eslint/no-explicit-any
  | TransformDefinition<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A plugin package's export. */
export interface PluginDefinition {
  readonly type: 'plugin';
  /** Usually the npm package name. */
  readonly name: string;
  readonly version?: string;
  /** Semver range of the plugin API this plugin was built for, e.g. `^1`. */
  readonly sluice: string;
  readonly connectors: readonly ConnectorDefinition<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly destinations: readonly DestinationDefinition<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly transforms: readonly TransformDefinition<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * Declares a plugin: what a third-party package exports as its default export.
 *
 * @example
 * ```ts
 * export default definePlugin({
 *   name: 'sluice-plugin-http-json',
 *   sluice: '^1',
 *   connectors: [httpJsonConnector],
 * });
 * ```
 */
export function definePlugin(definition: {
  name: string;
  version?: string;
  sluice: string;
  connectors?: readonly ConnectorDefinition<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  destinations?: readonly DestinationDefinition<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  transforms?: readonly TransformDefinition<any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
}): PluginDefinition {
  if (typeof definition.name !== 'string' || definition.name.trim() === '') {
    throw new TypeError('definePlugin: "name" must be a non-empty string');
  }
  return Object.freeze({
    type: 'plugin' as const,
    name: definition.name,
    ...(definition.version === undefined ? {} : { version: definition.version }),
    sluice: definition.sluice,
    connectors: definition.connectors ?? [],
    destinations: definition.destinations ?? [],
    transforms: definition.transforms ?? [],
  });
}

const KIND = /^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*$/;

type DefinitionType = 'connector' | 'destination' | 'transform';

/**
 * What is wrong with a connector, destination or transform definition (empty when nothing):
 * each message names the kind, so a plugin that ships a broken definition is told which one at
 * `define*` or at registration, not later as `Cannot read properties of undefined`.
 *
 * @example
 * ```ts
 * definitionProblems({ kind: 'x', version: '1.0.0', create: () => ({}) }, 'destination');
 * // ['destination "x": configSchema must be a valibot schema (e.g. v.object({...}))',
 * //  'destination "x": capabilities must be an object like { idempotent: false } or a function returning one']
 * ```
 */
export function definitionProblems(definition: unknown, type: DefinitionType): string[] {
  if (definition === null || typeof definition !== 'object') {
    return [
      `${type} definition must be an object (the result of define${capitalised(type)}(...)), got ${describeValue(definition)}`,
    ];
  }
  const d = definition as Record<string, unknown>;
  const problems: string[] = [];
  const kindOk = typeof d.kind === 'string' && KIND.test(d.kind);
  const name = `${type} ${kindOk ? JSON.stringify(d.kind) : '(no valid kind)'}`;
  if (!kindOk) {
    problems.push(
      d.kind === undefined
        ? `${name}: kind is missing: a lower-case name like "http-json"`
        : `${name}: kind ${JSON.stringify(d.kind)} must be lower-case letters, digits and - _ . (e.g. "http-json")`,
    );
  }
  if (typeof d.version !== 'string' || d.version.trim() === '') {
    problems.push(`${name}: version must be a non-empty string (the semver of the implementation)`);
  }
  if (!isValibotSchema(d.configSchema)) {
    problems.push(`${name}: configSchema must be a valibot schema (e.g. v.object({...}))`);
  }
  if (typeof d.create !== 'function') problems.push(`${name}: create must be a function`);
  if (type === 'destination') {
    const c = d.capabilities;
    if (typeof c !== 'function') {
      if (c === null || typeof c !== 'object' || Array.isArray(c)) {
        problems.push(
          `${name}: capabilities must be an object like { idempotent: false } or a function returning one`,
        );
      } else {
        const caps = c as Record<string, unknown>;
        if (typeof caps.idempotent !== 'boolean')
          problems.push(`${name}: capabilities.idempotent must be true or false`);
        for (const key of ['maxBatch', 'maxInFlight'] as const) {
          const value = caps[key];
          if (
            value !== undefined &&
            !(typeof value === 'number' && Number.isInteger(value) && value >= 1)
          ) {
            problems.push(`${name}: capabilities.${key} must be a whole number >= 1`);
          }
        }
      }
    }
  }
  return problems;
}

function assertDefinition(definition: unknown, type: DefinitionType): void {
  const problems = definitionProblems(definition, type);
  if (problems.length > 0) {
    throw new TypeError(`define${capitalised(type)}: ${problems.join('; ')}`);
  }
}

function isValibotSchema(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as { kind?: unknown }).kind === 'schema' &&
    typeof (value as { '~run'?: unknown })['~run'] === 'function'
  );
}

function capitalised(type: string): string {
  return `${type[0]!.toUpperCase()}${type.slice(1)}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
