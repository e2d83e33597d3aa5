/**
 * Schemas of a pipeline: its source, triggers (schedule, webhook, API), routes and run policy.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { parseStandardWebhooksSecret } from '@sluice/core/standard-webhooks';
import { DEFAULTS, LIMITS, MIB, WEBHOOK_VERIFIERS, defaultOf } from './defaults.js';
import { cronProblem, isValidTimeZone, knownTimeZones } from './cron.js';
import { DefaultRouteSchema, RouteSchema, TransformSchema } from './route-schema.js';
import {
  KindSchema,
  NameSchema,
  integer,
  looseObject,
  picklist,
  strictObject,
} from './schema-helpers.js';
import { didYouMean } from './suggest.js';

/**
 * Where a pipeline reads from: either `connection` (a name in `connections`) or `kind` (a
 * connector kind), plus connector options. The connector receives the connection's options
 * overlaid with these (see `pipelineSourceOptions`).
 *
 * @example
 * ```ts
 * v.parse(SourceSchema, { connection: 'ga4-main', report: 'sessions-by-channel' });
 * ```
 */
export const SourceSchema = v.pipe(
  looseObject(
    {
      connection: v.optional(
        v.pipe(
          NameSchema,
          v.description('Name of a connection in `connections` whose options this source uses.'),
        ),
      ),
      kind: v.optional(
        v.pipe(
          KindSchema,
          v.description('Connector kind, when the source does not use a named connection.'),
        ),
      ),
    },
    'a source object',
  ),
  v.description(
    "The connector this pipeline reads from: exactly one of `connection` or `kind`; every other key is a connector option (overriding the connection's).",
  ),
);

const CronSchema = v.pipe(
  v.string(),
  v.check(
    (expression) => cronProblem(expression) === undefined,
    (issue) => cronProblem(issue.input as string) ?? 'invalid cron expression',
  ),
  v.description(
    'Cron expression in croner syntax: 5 fields, or 6 with seconds first (`0 0 8 * * *`), or 7 with a year last (`0 0 8 * * * 2030`), or a nickname: `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`.',
  ),
  v.metadata({ examples: ['0 8 * * *', '*/30 * * * * *', '@hourly'] }),
);

const TimeZoneSchema = v.pipe(
  v.string(),
  v.check(isValidTimeZone, (issue) => {
    const zone = String(issue.input);
    return `unknown time zone "${zone}"${didYouMean(zone, knownTimeZones()) || ' (use an IANA name such as "Europe/Berlin")'}`;
  }),
  v.description('IANA time zone the cron expression is read in, e.g. `Europe/Berlin`.'),
);

const MissedSchema = v.union(
  [
    v.literal('skip'),
    strictObject(
      {
        catchUp: v.pipe(
          integer(1),
          v.maxValue(LIMITS.catchUp),
          v.description('Fire at most this many of the missed ticks (the newest), oldest first.'),
        ),
      },
      'a { catchUp } object',
    ),
  ],
  'expected "skip" or { catchUp: <number of runs> }',
);

/**
 * A cron trigger.
 *
 * @example
 * ```ts
 * v.parse(ScheduleSchema, { cron: '0 8 * * *', timezone: 'Europe/Berlin' });
 * ```
 */
export const ScheduleSchema = v.pipe(
  strictObject(
    {
      cron: CronSchema,
      timezone: v.optional(TimeZoneSchema, DEFAULTS.schedule.timezone),
      missed: v.optional(
        v.pipe(
          MissedSchema,
          v.description(
            'After downtime: `skip` missed fires, or `{ catchUp: n }` to run up to n of them.',
          ),
        ),
        DEFAULTS.schedule.missed,
      ),
      jitterMs: v.optional(
        v.pipe(
          integer(0),
          v.description(
            'Random delay up to this many milliseconds added to each fire, to spread load.',
          ),
        ),
        DEFAULTS.schedule.jitterMs,
      ),
      enabled: v.optional(
        v.pipe(v.boolean(), v.description('Turns the schedule off without deleting it.')),
        DEFAULTS.schedule.enabled,
      ),
    },
    'a schedule object',
  ),
  v.description('Cron trigger: one run per tick across any number of server instances.'),
);

/**
 * A webhook trigger (`POST /webhooks/<pipeline>`), verified by signature.
 *
 * @example
 * ```ts
 * v.parse(WebhookTriggerSchema, { verify: 'hubspot-v3', secret: 'app-secret' });
 * ```
 */
export const WebhookTriggerSchema = v.pipe(
  strictObject(
    {
      verify: v.pipe(
        picklist(WEBHOOK_VERIFIERS),
        v.description(
          'Signature scheme of the sender: Standard Webhooks, HubSpot v3, Slack signing secret, or `none` (unsigned; not recommended).',
        ),
      ),
      secret: v.optional(
        v.pipe(
          v.string(),
          v.minLength(1),
          v.description(
            'Signing secret; use a reference such as `${env:HUBSPOT_APP_SECRET}`. Required unless `verify: none`.',
          ),
        ),
      ),
      toleranceSeconds: v.optional(
        v.pipe(
          integer(1),
          v.maxValue(LIMITS.toleranceSeconds),
          v.description('Maximum age of a signed timestamp, against replays (at most 3600).'),
        ),
        DEFAULTS.webhook.toleranceSeconds,
      ),
      maxBytes: v.optional(
        v.pipe(
          integer(1),
          v.maxValue(LIMITS.bodyBytes),
          v.description('Largest accepted request body in bytes (at most 64 MiB).'),
        ),
        DEFAULTS.webhook.maxBytes,
      ),
      payload: v.optional(
        v.pipe(
          picklist(['input', 'records']),
          v.description(
            "`input`: the body becomes the run's input for the connector; `records`: the body (an object or an array of objects) is routed directly as records.",
          ),
        ),
        DEFAULTS.webhook.payload,
      ),
      delivery: v.optional(
        v.pipe(
          picklist(['run', 'inbox']),
          v.description(
            '`run` (when absent): each delivery starts a run. `inbox` (with `payload: records`): each delivery is appended to a durable inbox (2xx once committed) and drain runs route the waiting records in micro-batches.',
          ),
        ),
      ),
      inbox: v.optional(
        v.pipe(
          strictObject(
            {
              maxRecords: v.optional(
                v.pipe(
                  integer(1),
                  v.maxValue(LIMITS.inboxMaxRecords),
                  v.description(
                    'Records one drain run routes at most (it reads whole deliveries, so at least one).',
                  ),
                ),
                DEFAULTS.webhookInbox.maxRecords,
              ),
              maxWaitMs: v.optional(
                v.pipe(
                  integer(0),
                  v.maxValue(LIMITS.inboxMaxWaitMs),
                  v.description(
                    'A drain run waits this long for new deliveries before it ends (at most 60000).',
                  ),
                ),
                DEFAULTS.webhookInbox.maxWaitMs,
              ),
              maxDepth: v.optional(
                v.pipe(
                  integer(1),
                  v.maxValue(LIMITS.inboxMaxDepth),
                  v.description(
                    'Undelivered deliveries in the inbox before new ones get 429 with `Retry-After`.',
                  ),
                ),
                DEFAULTS.webhookInbox.maxDepth,
              ),
            },
            'an inbox object',
          ),
          v.description('Micro-batches and bound of `delivery: inbox`.'),
        ),
      ),
    },
    'a webhook object',
  ),
  // The inbox holds records: a body meant as a connector's input has no records to append.
  v.forward(
    v.check(
      (w) => w.delivery !== 'inbox' || w.payload === 'records',
      '`delivery: inbox` needs `payload: records` (the inbox holds records to route)',
    ),
    ['delivery'],
  ),
  v.forward(
    v.check(
      (w) => w.inbox === undefined || w.delivery === 'inbox',
      '`inbox` options apply only with `delivery: inbox`',
    ),
    ['inbox'],
  ),
  v.check(
    (w) => w.verify === 'none' || w.secret !== undefined,
    (issue) => `"secret" is required with verify "${(issue.input as { verify: string }).verify}"`,
  ),
  // The secret's format, checked by the one parser the receiver and the webhook destination use: a secret that does not decode
  // would refuse every delivery with 401 while the pipeline's check still said ok. The message
  // never quotes the secret.
  v.forward(
    v.check(
      (w) =>
        w.verify !== 'standard-webhooks' ||
        w.secret === undefined ||
        parseStandardWebhooksSecret(w.secret).ok,
      'a standard-webhooks secret must be "whsec_" followed by base64 key bytes (as the sender issued it)',
    ),
    ['secret'],
  ),
  v.description(
    `Webhook trigger at \`/webhooks/<pipeline>\`; bodies over maxBytes (default ${MIB} bytes) are rejected.`,
  ),
);

/**
 * The API trigger (`POST /pipelines/<name>/runs`).
 *
 * @example
 * ```ts
 * v.parse(ApiTriggerSchema, {}); // { enabled: true }
 * ```
 */
export const ApiTriggerSchema = v.pipe(
  strictObject(
    {
      enabled: v.optional(
        v.pipe(v.boolean(), v.description('Allow runs through the HTTP API.')),
        DEFAULTS.pipeline.api.enabled,
      ),
    },
    'an api object',
  ),
  v.description('API trigger: lets API keys with the `run` scope start runs.'),
);

/**
 * Retries of a failed run (the whole run; per-batch retries are the destinations' `retry`).
 *
 * @example
 * ```ts
 * v.parse(RunRetrySchema, { maxAttempts: 5 }); // { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 60000 }
 * ```
 */
export const RunRetrySchema = v.pipe(
  strictObject(
    {
      maxAttempts: v.optional(
        v.pipe(
          integer(1),
          v.maxValue(LIMITS.runAttempts),
          v.description('Total tries of a run, including the first (at most 101).'),
        ),
        DEFAULTS.runRetry.maxAttempts,
      ),
      initialDelayMs: v.optional(
        v.pipe(integer(0), v.description('Delay before the first retry; doubles on each retry.')),
        DEFAULTS.runRetry.initialDelayMs,
      ),
      maxDelayMs: v.optional(
        v.pipe(integer(0), v.description('Upper bound of the delay between retries.')),
        DEFAULTS.runRetry.maxDelayMs,
      ),
      multiplier: v.optional(
        v.pipe(v.number(), v.minValue(1), v.description('Growth factor of the delay per retry.')),
        DEFAULTS.runRetry.multiplier,
      ),
    },
    'a retry object',
  ),
  v.check((r) => r.maxDelayMs >= r.initialDelayMs, 'maxDelayMs must be at least initialDelayMs'),
  v.description('Retry policy of failed runs. Absent: a failed run is not retried.'),
);

/**
 * One pipeline: a source, its triggers, and routes to destinations.
 *
 * @example
 * ```ts
 * v.parse(PipelineSchema, {
 *   source: { kind: 'ga4', property: '123' },
 *   schedule: { cron: '0 8 * * *', timezone: 'Europe/Berlin' },
 *   routes: [{ name: 'all', to: ['warehouse'] }],
 * });
 * ```
 */
export const PipelineSchema = v.pipe(
  strictObject(
    {
      description: v.optional(
        v.pipe(v.string(), v.description('What the pipeline does, for people.')),
      ),
      enabled: v.optional(
        v.pipe(v.boolean(), v.description('A disabled pipeline never runs (no trigger fires).')),
        DEFAULTS.pipeline.enabled,
      ),
      source: SourceSchema,
      schedule: v.optional(ScheduleSchema),
      webhook: v.optional(WebhookTriggerSchema),
      api: v.optional(ApiTriggerSchema, defaultOf(DEFAULTS.pipeline.api)),
      transform: v.optional(
        v.pipe(
          v.array(TransformSchema),
          v.description(
            'Transform steps run once on each record before routing: every condition and route sees their output. Each step gives one record or none (`drop`); `unnest` belongs in a route. A record a step fails on is dead-lettered (route `(pipeline transform)`, one letter per destination).',
          ),
        ),
      ),
      routes: v.optional(
        v.pipe(
          v.array(RouteSchema),
          v.description('Routing rules, evaluated by descending priority.'),
        ),
        defaultOf(DEFAULTS.pipeline.routes),
      ),
      defaultRoute: v.optional(DefaultRouteSchema),
      concurrency: v.optional(
        v.pipe(
          strictObject(
            {
              allowOverlap: v.optional(
                v.pipe(
                  v.boolean(),
                  v.description(
                    'Let a new run start while a previous run of this pipeline is still going.',
                  ),
                ),
                DEFAULTS.pipeline.concurrency.allowOverlap,
              ),
            },
            'a concurrency object',
          ),
          v.description('How runs of this pipeline may overlap.'),
        ),
        defaultOf(DEFAULTS.pipeline.concurrency),
      ),
      timeoutMs: v.optional(
        v.pipe(
          integer(LIMITS.minTimeoutMs),
          v.description('A run taking longer is cancelled (at least 1000). Absent: no time limit.'),
        ),
      ),
      retry: v.optional(RunRetrySchema),
      maxQueuedRuns: v.optional(
        v.pipe(
          integer(1),
          v.maxValue(LIMITS.maxQueuedRuns),
          v.description(
            'Back-pressure: once this pipeline has this many runs in status `queued`, its webhook deliveries and API triggers are refused with 429 and `Retry-After`. Absent: `scheduler.maxQueuedRuns` (default 1000). Cron ticks are never refused; approximate by the number of triggers in flight at once.',
          ),
        ),
      ),
    },
    'a pipeline object',
  ),
  // Drain runs read the inbox from its one checkpoint: two at once would route the same records twice.
  v.forward(
    v.check(
      (p) => p.webhook?.delivery !== 'inbox' || !p.concurrency.allowOverlap,
      '`concurrency.allowOverlap` cannot be on with `webhook.delivery: inbox` (drain runs of one inbox never overlap)',
    ),
    ['concurrency', 'allowOverlap'],
  ),
  v.description(
    'A pipeline: reads from a source when triggered and routes each record to destinations.',
  ),
);

/**
 * A pipeline's validated `source`.
 *
 * @example
 * ```ts
 * const source: SourceConfig = config.pipelines['daily']!.source;
 * ```
 */
export type SourceConfig = v.InferOutput<typeof SourceSchema>;
/**
 * A validated cron trigger.
 *
 * @example
 * ```ts
 * const schedule: ScheduleConfig | undefined = config.pipelines['daily']!.schedule;
 * ```
 */
export type ScheduleConfig = v.InferOutput<typeof ScheduleSchema>;
/**
 * A validated webhook trigger.
 *
 * @example
 * ```ts
 * const webhook: WebhookTriggerConfig | undefined = config.pipelines['deals']!.webhook;
 * ```
 */
export type WebhookTriggerConfig = v.InferOutput<typeof WebhookTriggerSchema>;
/**
 * A validated API trigger.
 *
 * @example
 * ```ts
 * const { enabled }: ApiTriggerConfig = config.pipelines['daily']!.api;
 * ```
 */
export type ApiTriggerConfig = v.InferOutput<typeof ApiTriggerSchema>;
/**
 * A validated run retry policy.
 *
 * @example
 * ```ts
 * const retry: RunRetryConfig | undefined = config.pipelines['daily']!.retry;
 * ```
 */
export type RunRetryConfig = v.InferOutput<typeof RunRetrySchema>;
