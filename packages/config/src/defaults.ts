/**
 * Every default of the Sluice configuration, in one place. The schemas take their defaults
 * from here (so the JSON Schema and the docs show them), and nothing else in Sluice hard-codes
 * a configuration default.
 *
 * | key | default | why |
 * |---|---|---|
 * | `version` | `1` | the only config format so far |
 * | `store.dataDir` | `./.sluice` | embedded PGlite store, zero setup; ignored when `store.url` is set |
 * | `store.wasmCompiler` | `baseline` | the embedded store's WebAssembly compiled by Liftoff only: ~45 MB less resident memory and less start-up CPU (issues 19 and 20); `optimizing` for a busy embedded store |
 * | `server.host` | `127.0.0.1` | loopback until the operator decides to expose the server |
 * | `server.port` | `8080` | |
 * | `server.apiKeys` | `[]` | |
 * | `server.auth` | `true` | every API route requires a key unless turned off (DESIGN §8) |
 * | `server.cors` | `false` | the API is for machines; browsers must be allowed explicitly |
 * | `server.bodyLimitBytes` | `1048576` (1 MiB) | |
 * | `server.dashboard` | `true` | the web dashboard at `/` (static files; every call it makes needs an API key) |
 * | `server.rateLimit.perMinute` | `600` | per budget: each valid API key; each client address for requests without a valid key, and for `/metrics` apart; webhooks per pipeline and per sender (docs/api.md, rate limits) |
 * | `logging.level` | `info` | |
 * | `logging.format` | `auto` | readable lines on a terminal, JSON lines anywhere else (files, pipes, log collectors) |
 * | `scheduler.unclaimedRunTimeoutSeconds` | `600` | longer than a rolling deploy of a few replicas takes; a run no replica can execute is reported the same hour |
 * | `scheduler.maxQueuedRuns` | `1000` | back-pressure: a pipeline's triggers get 429 past this many queued runs, instead of a backlog of hours (issue 20); `pipelines.*.maxQueuedRuns` overrides it |
 * | `plugins` | `[]` | |
 * | `pipelines.*.enabled` | `true` | |
 * | `pipelines.*.routes` | `[]` | a pipeline still needs a route or a `defaultRoute` |
 * | `pipelines.*.api.enabled` | `true` | every pipeline can be run through the API |
 * | `pipelines.*.concurrency.allowOverlap` | `false` | runs of one pipeline do not overlap (DESIGN §5) |
 * | `pipelines.*.schedule.timezone` | `UTC` | |
 * | `pipelines.*.schedule.missed` | `skip` | after downtime, do not replay missed fires unless asked |
 * | `pipelines.*.schedule.jitterMs` | `0` | |
 * | `pipelines.*.schedule.enabled` | `true` | |
 * | `pipelines.*.webhook.toleranceSeconds` | `300` | 5 minutes of clock skew (DESIGN §5) |
 * | `pipelines.*.webhook.maxBytes` | `1048576` (1 MiB) | |
 * | `pipelines.*.webhook.payload` | `input` | the body becomes the run's input for the connector |
 * | `pipelines.*.webhook.delivery` | `run` (when absent) | one run per delivery; `inbox` appends to the durable inbox, drained in micro-batches |
 * | `pipelines.*.webhook.inbox.maxRecords` | `1000` | records one drain run routes at most |
 * | `pipelines.*.webhook.inbox.maxWaitMs` | `500` | a drain run ends after this long with nothing new |
 * | `pipelines.*.webhook.inbox.maxDepth` | `100000` | undelivered deliveries before 429 with `Retry-After` |
 * | `pipelines.*.retry.*` | 3 attempts, 1 s initial delay, 60 s cap, ×2 | only when `retry` is present; without it a failed run is not retried |
 * | `destinations.*.retry.*` | 5 attempts, 200 ms initial delay, 30 s cap, ×2 | a failed batch is retried in place (the router applies it) |
 * | `routes[].priority` | `0` | |
 * | `routes[].mode` | `continue` | fan-out: later routes may match the same record |
 * | `routes[].onError`, `defaultRoute.onError` | `dead-letter` | a failed record is kept for replay, never silently lost |
 *
 * Destination `batch` policies have no config-level defaults: a key left out means "the
 * router's default, bounded by the destination's declared capabilities". The two retry defaults
 * are core's `RETRY_DEFAULTS` (the router and the scheduler may import only core), listed here
 * with every other default.
 *
 * @example
 * ```ts
 * import { DEFAULTS } from '@sluice/config';
 * DEFAULTS.server.port;              // 8080
 * DEFAULTS.schedule.timezone;        // "UTC"
 * ```
 *
 * @packageDocumentation
 */
import { RETRY_DEFAULTS } from '@sluice/core';

/**
 * One mebibyte, the unit of the size limits.
 *
 * @example
 * ```ts
 * DEFAULTS.server.bodyLimitBytes === MIB; // true
 * ```
 */
export const MIB = 1024 * 1024;

/**
 * Upper bounds of engine settings: what the server and the scheduler can actually apply, so a
 * value `sluice validate` accepts never fails later (`bodyLimitBytes: 1e20` is refused here, not
 * at the first request).
 *
 * @example
 * ```ts
 * LIMITS.bodyBytes; // 67108864 (64 MiB)
 * ```
 */
export const LIMITS = {
  /** `server.bodyLimitBytes` and `webhook.maxBytes`: request bodies are held in memory. */
  bodyBytes: 64 * MIB,
  /** `webhook.toleranceSeconds`: one hour. */
  toleranceSeconds: 3600,
  /** `pipelines.*.timeoutMs`: at least one second. */
  minTimeoutMs: 1000,
  /** `pipelines.*.retry.maxAttempts`: the first try and 100 retries. */
  runAttempts: 101,
  /** `schedule.missed.catchUp`. */
  catchUp: 1000,
  /**
   * `scheduler.unclaimedRunTimeoutSeconds`: at least several worker poll intervals, at most 7 days
   * (the scheduler's `UNCLAIMED_RUN_TIMEOUT_LIMITS`).
   */
  unclaimedRunTimeoutSeconds: { min: 10, max: 7 * 24 * 3600 },
  /** `scheduler.maxQueuedRuns` and `pipelines.*.maxQueuedRuns` (the scheduler's `MAX_QUEUED_RUNS_LIMIT`). */
  maxQueuedRuns: 1_000_000,
  /** `webhook.inbox.maxRecords`: records one drain run holds. */
  inboxMaxRecords: 100_000,
  /** `webhook.inbox.maxWaitMs`: one minute. */
  inboxMaxWaitMs: 60_000,
  /** `webhook.inbox.maxDepth`: deliveries waiting in one pipeline's inbox. */
  inboxMaxDepth: 10_000_000,
} as const;

/**
 * Names of the pino log levels accepted by `logging.level`.
 *
 * @example
 * ```ts
 * LOG_LEVELS.includes('debug'); // true
 * ```
 */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * A log level.
 *
 * @example
 * ```ts
 * const level: LogLevel = 'warn';
 * ```
 */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * How V8 compiles the embedded PGlite store's WebAssembly, for `store.wasmCompiler`: `baseline`
 * (Liftoff only: smaller and quicker to start) or `optimizing` (V8's tier-up to TurboFan: faster
 * SQL in a process that runs many queries).
 *
 * @example
 * ```ts
 * WASM_COMPILERS.includes('optimizing'); // true
 * ```
 */
export const WASM_COMPILERS = ['baseline', 'optimizing'] as const;

/**
 * A value of `store.wasmCompiler`.
 *
 * @example
 * ```ts
 * const compiler: WasmCompiler = 'optimizing';
 * ```
 */
export type WasmCompiler = (typeof WASM_COMPILERS)[number];

/**
 * How log lines are written, for `logging.format`: `json` (one JSON object per line), `pretty`
 * (readable, for people) or `auto` (pretty when standard output is a terminal, else JSON).
 *
 * @example
 * ```ts
 * LOG_FORMATS.includes('pretty'); // true
 * ```
 */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/**
 * A log format.
 *
 * @example
 * ```ts
 * const format: LogFormat = 'json';
 * ```
 */
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Scopes an API key can hold: `read` (GET), `run` (trigger runs, replay), `admin` (everything).
 *
 * @example
 * ```ts
 * API_KEY_SCOPES; // ['read', 'run', 'admin']
 * ```
 */
export const API_KEY_SCOPES = ['read', 'run', 'admin'] as const;

/**
 * Webhook signature schemes a pipeline's webhook trigger can verify.
 *
 * @example
 * ```ts
 * WEBHOOK_VERIFIERS.includes('hubspot-v3'); // true
 * ```
 */
export const WEBHOOK_VERIFIERS = ['standard-webhooks', 'hubspot-v3', 'slack', 'none'] as const;

/**
 * Keys of a destination section that the engine owns (delivery settings and the destination's
 * own expectations, `expect`); everything else is the plugin's config.
 *
 * @example
 * ```ts
 * withoutKeys(config.destinations['warehouse']!, DESTINATION_ENGINE_KEYS); // the plugin's options
 * ```
 */
export const DESTINATION_ENGINE_KEYS = ['kind', 'batch', 'retry', 'concurrency', 'expect'] as const;

/**
 * Keys of a pipeline's `source` that the engine owns; everything else is the connector's config.
 *
 * @example
 * ```ts
 * withoutKeys(pipeline.source, SOURCE_ENGINE_KEYS); // the connector's own options
 * ```
 */
export const SOURCE_ENGINE_KEYS = ['kind', 'connection'] as const;

/** Keys of a connection or transform step that the engine owns. */
export const KIND_KEY = ['kind'] as const;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/**
 * The defaults, deeply frozen. See the table in this module's documentation.
 *
 * @example
 * ```ts
 * DEFAULTS.route.onError; // "dead-letter"
 * ```
 */
export const DEFAULTS = deepFreeze({
  version: 1 as const,
  store: { dataDir: './.sluice', wasmCompiler: 'baseline' as WasmCompiler },
  server: {
    host: '127.0.0.1',
    port: 8080,
    apiKeys: [] as never[],
    auth: true,
    cors: false,
    bodyLimitBytes: MIB,
    dashboard: true,
    rateLimit: { perMinute: 600 },
  },
  logging: { level: 'info' as LogLevel, format: 'auto' as LogFormat },
  scheduler: { unclaimedRunTimeoutSeconds: 600, maxQueuedRuns: 1000 },
  plugins: [] as never[],
  pipeline: {
    enabled: true,
    routes: [] as never[],
    api: { enabled: true },
    concurrency: { allowOverlap: false },
  },
  schedule: {
    timezone: 'UTC',
    missed: 'skip' as const,
    jitterMs: 0,
    enabled: true,
  },
  webhook: {
    toleranceSeconds: 300,
    maxBytes: MIB,
    payload: 'input' as const,
  },
  /** `webhook.inbox.*`, applied when `inbox` is given (it may be only with `delivery: inbox`). */
  webhookInbox: { maxRecords: 1000, maxWaitMs: 500, maxDepth: 100_000 },
  /** A failed run's retries (`pipelines.*.retry`): core's `RETRY_DEFAULTS.run`. */
  runRetry: RETRY_DEFAULTS.run,
  /** A failed batch's retries (`destinations.*.retry`): core's `RETRY_DEFAULTS.delivery`. */
  deliveryRetry: RETRY_DEFAULTS.delivery,
  route: {
    priority: 0,
    mode: 'continue' as const,
    onError: 'dead-letter' as const,
  },
});

/**
 * A fresh, mutable copy of a default value, for valibot's `optional(schema, default)`: every
 * parse gets its own object, so callers may mutate the parsed config without touching
 * {@link DEFAULTS}.
 *
 * @example
 * ```ts
 * v.optional(StoreSchema, defaultOf(DEFAULTS.store));
 * ```
 */
export function defaultOf<T>(value: T): () => T {
  return () => structuredClone(value);
}
