/**
 * Schemas of the reference server's sections: `store`, `server` (with API keys), `logging` and `scheduler`.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import {
  API_KEY_SCOPES,
  DEFAULTS,
  LIMITS,
  LOG_FORMATS,
  LOG_LEVELS,
  WASM_COMPILERS,
  defaultOf,
} from './defaults.js';
import { NameSchema, integer, picklist, strictObject } from './schema-helpers.js';

/**
 * Shortest accepted API key, in characters.
 *
 * @example
 * ```ts
 * MIN_API_KEY_LENGTH; // 16
 * ```
 */
export const MIN_API_KEY_LENGTH = 16;

/**
 * Where the server keeps runs, checkpoints and dead letters.
 *
 * @example
 * ```ts
 * v.parse(StoreSchema, {});                                       // { dataDir: './.sluice', wasmCompiler: 'baseline' } (PGlite)
 * v.parse(StoreSchema, { url: 'postgres://sluice@db/sluice' });   // PostgreSQL
 * ```
 */
export const StoreSchema = v.pipe(
  strictObject(
    {
      url: v.optional(
        v.pipe(
          v.string(),
          // An unresolved reference passes, so `parseSluiceConfig` can check a file's structure
          // without its secrets; `loadConfig` checks the resolved URL.
          v.regex(
            /^(?:postgres(?:ql)?:\/\/|\$\{(?:env|file):)/,
            'expected a postgres:// or postgresql:// connection URL',
          ),
          v.description(
            'PostgreSQL connection URL (`postgres://user:pass@host:5432/db`); usually `${env:DATABASE_URL}`. Absent: the embedded PGlite store in `dataDir`.',
          ),
        ),
      ),
      dataDir: v.optional(
        v.pipe(
          v.string(),
          v.minLength(1),
          v.description('Folder of the embedded PGlite store (used when `url` is absent).'),
        ),
        DEFAULTS.store.dataDir,
      ),
      wasmCompiler: v.optional(
        v.pipe(
          picklist(WASM_COMPILERS),
          v.description(
            "How the embedded PGlite store's WebAssembly is compiled (used when `url` is absent): `baseline` (Liftoff only: about 45 MB less resident memory and less CPU at start-up) or `optimizing` (V8 tiers hot code up to TurboFan: SQL some 10-30 % faster in a long-running, busy process).",
          ),
        ),
        DEFAULTS.store.wasmCompiler,
      ),
    },
    'a store object',
  ),
  v.description(
    'The job store: PostgreSQL when `url` is set (several server instances share it), otherwise embedded PGlite.',
  ),
);

/**
 * An API key: a plain `key` (usually a reference) or its `keyHash` (sha256, hex), and scopes.
 *
 * @example
 * ```ts
 * v.parse(ApiKeySchema, { name: 'ci', key: '${env:SLUICE_CI_KEY}', scopes: ['run'] });
 * ```
 */
export const ApiKeySchema = v.pipe(
  strictObject(
    {
      name: v.pipe(
        NameSchema,
        v.description('Name of the key, shown in logs and audit entries (never the key itself).'),
      ),
      key: v.optional(
        v.pipe(
          v.string(),
          v.minLength(
            MIN_API_KEY_LENGTH,
            `an API key must be at least ${MIN_API_KEY_LENGTH} characters long`,
          ),
          v.description('The key itself; use a reference such as `${env:SLUICE_API_KEY}`.'),
        ),
      ),
      keyHash: v.optional(
        v.pipe(
          v.string(),
          v.regex(/^[0-9a-fA-F]{64}$/, 'expected a sha256 hash as 64 hexadecimal characters'),
          v.description(
            'sha256 of the key, hex-encoded (`printf %s "$KEY" | sha256sum`), so the config holds no secret.',
          ),
        ),
      ),
      scopes: v.pipe(
        v.array(picklist(API_KEY_SCOPES)),
        v.minLength(1, 'an API key needs at least one scope'),
        v.description(
          '`read`: list and inspect; `run`: trigger runs and replay dead letters; `admin`: everything.',
        ),
      ),
    },
    'an API key object',
  ),
  v.check(
    (k) => (k.key === undefined) !== (k.keyHash === undefined),
    'give exactly one of "key" or "keyHash"',
  ),
  v.description('A key accepted in the `Authorization: Bearer` header.'),
);

/**
 * The HTTP server.
 *
 * @example
 * ```ts
 * v.parse(ServerSchema, { port: 9000 }).host; // "127.0.0.1"
 * ```
 */
export const ServerSchema = v.pipe(
  strictObject(
    {
      host: v.optional(
        v.pipe(
          v.string(),
          v.minLength(1),
          v.description('Address to listen on; `0.0.0.0` to accept remote connections.'),
        ),
        DEFAULTS.server.host,
      ),
      port: v.optional(
        v.pipe(integer(0), v.maxValue(65535), v.description('TCP port; 0 picks a free one.')),
        DEFAULTS.server.port,
      ),
      apiKeys: v.optional(
        v.pipe(v.array(ApiKeySchema), v.description('Keys accepted by the API.')),
        defaultOf(DEFAULTS.server.apiKeys),
      ),
      auth: v.optional(
        v.pipe(
          v.boolean(),
          v.description(
            'Require an API key on every API route. Webhook routes always require a signature.',
          ),
        ),
        DEFAULTS.server.auth,
      ),
      cors: v.optional(
        v.pipe(
          v.boolean(),
          v.description('Send CORS headers allowing browsers on other origins to call the API.'),
        ),
        DEFAULTS.server.cors,
      ),
      bodyLimitBytes: v.optional(
        v.pipe(
          integer(1),
          v.maxValue(LIMITS.bodyBytes),
          v.description('Largest accepted API request body in bytes (at most 64 MiB).'),
        ),
        DEFAULTS.server.bodyLimitBytes,
      ),
      dashboard: v.optional(
        v.pipe(
          v.boolean(),
          v.description(
            'Serve the web dashboard at `/` (a single-page app that signs in with an API key and calls only this API). `false` serves nothing at `/`. Never served when `auth` is `false`.',
          ),
        ),
        DEFAULTS.server.dashboard,
      ),
      rateLimit: v.optional(
        v.pipe(
          strictObject(
            {
              perMinute: v.optional(
                v.pipe(
                  integer(1),
                  v.description(
                    'Requests per minute in each rate-limit budget: one per valid API key; requests without a valid key, and /metrics apart, one per client address; webhooks one per pipeline (new deliveries) and one per sender address and pipeline (deliveries that start no run). /healthz and /readyz are never limited.',
                  ),
                ),
                DEFAULTS.server.rateLimit.perMinute,
              ),
            },
            'a rateLimit object',
          ),
          v.description('Rate limit of the API.'),
        ),
        defaultOf(DEFAULTS.server.rateLimit),
      ),
    },
    'a server object',
  ),
  v.description('The reference server: HTTP API, webhooks, metrics.'),
);

/**
 * Logging.
 *
 * @example
 * ```ts
 * v.parse(LoggingSchema, {}); // { level: 'info', format: 'auto' }
 * ```
 */
export const LoggingSchema = v.pipe(
  strictObject(
    {
      level: v.optional(
        v.pipe(picklist(LOG_LEVELS), v.description('Lowest level written to the log.')),
        DEFAULTS.logging.level,
      ),
      format: v.optional(
        v.pipe(
          picklist(LOG_FORMATS),
          v.description(
            '`json`: one JSON object per line; `pretty`: readable lines; `auto`: pretty when standard output is a terminal, JSON otherwise. `sluice serve --log-format` overrides it.',
          ),
        ),
        DEFAULTS.logging.format,
      ),
    },
    'a logging object',
  ),
  v.description('Logging (pino, on standard output).'),
);

/**
 * The run scheduler of every instance sharing the store.
 *
 * @example
 * ```ts
 * v.parse(SchedulerSchema, {}); // { unclaimedRunTimeoutSeconds: 600, maxQueuedRuns: 1000 }
 * ```
 */
export const SchedulerSchema = v.pipe(
  strictObject(
    {
      unclaimedRunTimeoutSeconds: v.optional(
        v.pipe(
          integer(LIMITS.unclaimedRunTimeoutSeconds.min),
          v.maxValue(LIMITS.unclaimedRunTimeoutSeconds.max),
          v.description(
            'A run that could start but that no instance able to execute it claims for this many seconds fails with `RunUnclaimedError`, naming its pipeline and version. An instance executes only runs of the pipelines its configuration has enabled, at the version the run was enqueued under or a later one, so during a rolling deploy a run waits for a replica that has its version. From 10 to 604800 (7 days).',
          ),
        ),
        DEFAULTS.scheduler.unclaimedRunTimeoutSeconds,
      ),
      maxQueuedRuns: v.optional(
        v.pipe(
          integer(1),
          v.maxValue(LIMITS.maxQueuedRuns),
          v.description(
            "Back-pressure: once a pipeline has this many runs in status `queued`, its webhook deliveries and API triggers are refused with 429 and `Retry-After` instead of queued; a pipeline's own `maxQueuedRuns` overrides it. Cron ticks are never refused. With several triggers at once (or several instances) the backlog may pass it by the number of triggers in flight. From 1 to 1000000.",
          ),
        ),
        DEFAULTS.scheduler.maxQueuedRuns,
      ),
    },
    'a scheduler object',
  ),
  v.description(
    'The run scheduler: how long a run may wait for an instance that can execute it (docs/scheduler/delivery-and-scaling.md, rolling configuration changes), and how many queued runs a pipeline may have before its triggers are refused (docs/scheduler/triggers.md, back-pressure).',
  ),
);

/**
 * A validated API key entry.
 *
 * @example
 * ```ts
 * const keys: ApiKeyConfig[] = config.server.apiKeys;
 * ```
 */
export type ApiKeyConfig = v.InferOutput<typeof ApiKeySchema>;
