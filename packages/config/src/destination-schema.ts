/**
 * Schemas of named connections and destinations: the engine's keys are checked here; the
 * rest belongs to the plugin kind and is checked by its `configSchema` when a registry is given.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { KindSchema, integer, looseObject, strictObject } from './schema-helpers.js';
import { DEFAULTS } from './defaults.js';
import { DestinationExpectListSchema } from './route-schema.js';

/**
 * How a destination's buffer turns records into batches (`BatchPolicy`). Keys left out use
 * the router's defaults, bounded by the destination's `maxBatch`.
 *
 * @example
 * ```ts
 * v.parse(BatchPolicySchema, { maxRecords: 500, maxWaitMs: 2000 });
 * ```
 */
export const BatchPolicySchema = v.pipe(
  strictObject(
    {
      maxRecords: v.optional(
        v.pipe(
          integer(1),
          v.description('Flush when this many records are buffered. Absent: router default.'),
        ),
      ),
      maxBytes: v.optional(
        v.pipe(
          integer(1),
          v.description(
            "Flush when the buffered records' JSON reaches this many bytes. Absent: router default.",
          ),
        ),
      ),
      maxWaitMs: v.optional(
        v.pipe(
          integer(0),
          v.description(
            'Flush a non-empty buffer after this many milliseconds. Absent: router default.',
          ),
        ),
      ),
    },
    'a batch object',
  ),
  v.description('Batching of records for this destination.'),
);

/**
 * Retries of a failed batch (`RetryPolicy`, core's backoff policy): exponential backoff with full
 * jitter, honouring `Retry-After`. Keys left out take `DEFAULTS.deliveryRetry`, which the router
 * applies.
 *
 * @example
 * ```ts
 * v.parse(RetryPolicySchema, { maxAttempts: 5, initialDelayMs: 500 });
 * ```
 */
export const RetryPolicySchema = v.pipe(
  strictObject(
    {
      maxAttempts: v.optional(
        v.pipe(
          integer(1),
          v.description(
            `Total tries of a batch, including the first. Absent: ${DEFAULTS.deliveryRetry.maxAttempts}.`,
          ),
        ),
      ),
      initialDelayMs: v.optional(
        v.pipe(
          integer(0),
          v.description(
            `Ceiling of the first retry's delay. Absent: ${DEFAULTS.deliveryRetry.initialDelayMs}.`,
          ),
        ),
      ),
      maxDelayMs: v.optional(
        v.pipe(
          integer(0),
          v.description(
            `Upper bound of a retry delay (a Retry-After may ask for longer). Absent: ${DEFAULTS.deliveryRetry.maxDelayMs}.`,
          ),
        ),
      ),
      multiplier: v.optional(
        v.pipe(
          v.number(),
          v.minValue(1),
          v.description(
            `Growth factor of the delay per retry. Absent: ${DEFAULTS.deliveryRetry.multiplier}.`,
          ),
        ),
      ),
    },
    'a retry object',
  ),
  v.check(
    (r) =>
      r.initialDelayMs === undefined ||
      r.maxDelayMs === undefined ||
      r.maxDelayMs >= r.initialDelayMs,
    'maxDelayMs must be at least initialDelayMs',
  ),
  v.description('Retry policy for failed batches of this destination.'),
);

/**
 * A destination: `kind`, delivery policy (`batch`, `retry`, `concurrency`), its own
 * expectations (`expect`), and the kind's own options.
 *
 * @example
 * ```ts
 * v.parse(DestinationSchema, { kind: 'database', url: '${env:PG_URL}', table: 'sessions', batch: { maxRecords: 1000 } });
 * ```
 */
export const DestinationSchema = v.pipe(
  looseObject(
    {
      kind: KindSchema,
      batch: v.optional(BatchPolicySchema),
      retry: v.optional(RetryPolicySchema),
      concurrency: v.optional(
        v.pipe(
          integer(1),
          v.description(
            "Batches written at once (never more than the destination's maxInFlight). Absent: router default.",
          ),
        ),
      ),
      expect: v.optional(DestinationExpectListSchema),
    },
    'a destination object',
  ),
  v.description(
    "A destination: `kind` selects the plugin; `batch`, `retry` and `concurrency` are delivery settings; `expect` lists expectations on every record it receives; every other key is the plugin's option.",
  ),
);

/**
 * A named connection: a connector kind and options (credentials, project, ...) shared by the
 * sources that refer to it.
 *
 * @example
 * ```ts
 * v.parse(ConnectionSchema, { kind: 'bigquery', projectId: 'acme', credentials: '${file:./sa.json}' });
 * ```
 */
export const ConnectionSchema = v.pipe(
  looseObject({ kind: KindSchema }, 'a connection object'),
  v.description(
    'Connector options shared by the pipelines whose `source.connection` names this connection.',
  ),
);

/**
 * A validated batch policy (assignable to core's `BatchPolicy`).
 *
 * @example
 * ```ts
 * const batch: BatchPolicyConfig = { maxRecords: 500 };
 * ```
 */
export type BatchPolicyConfig = v.InferOutput<typeof BatchPolicySchema>;
/**
 * A validated retry policy (assignable to core's `RetryPolicy`).
 *
 * @example
 * ```ts
 * const retry: RetryPolicyConfig = { maxAttempts: 5 };
 * ```
 */
export type RetryPolicyConfig = v.InferOutput<typeof RetryPolicySchema>;
