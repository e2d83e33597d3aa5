import * as v from 'valibot';

/** Column types the incremental cursor may have. */
export const CURSOR_TYPES = ['TIMESTAMP', 'DATETIME', 'DATE', 'INT64', 'NUMERIC', 'BIGNUMERIC', 'FLOAT64', 'STRING'] as const;

/** One of {@link CURSOR_TYPES}. */
export type CursorType = (typeof CURSOR_TYPES)[number];

const scalarParam = v.union([v.string(), v.number(), v.boolean(), v.null()]);

/**
 * How the connector authenticates. `application-default` uses Google's Application Default
 * Credentials (the `GOOGLE_APPLICATION_CREDENTIALS` file, gcloud login or the metadata server);
 * `service-account` takes the two fields of a service-account key; `access-token` a ready OAuth
 * token (short-lived; useful for tests and for tokens minted elsewhere).
 */
const credentialObjects = v.variant('type', [
  v.object({ type: v.literal('application-default') }),
  v.object({
    type: v.literal('service-account'),
    clientEmail: v.pipe(v.string(), v.email('must be the service account e-mail (client_email)')),
    privateKey: v.pipe(v.string(), v.includes('PRIVATE KEY', 'must be a PEM private key (private_key)')),
  }),
  v.object({ type: v.literal('access-token'), accessToken: v.pipe(v.string(), v.minLength(1, 'must not be empty')) }),
]);

/** A service-account key file as Google issues it (`${file:/run/secrets/sa.json}`), parsed from JSON text. */
const serviceAccountKeyFile = v.pipe(
  v.string(),
  v.parseJson(undefined, () => 'must be a credentials object or the JSON text of a service-account key file'),
  v.object({
    type: v.literal('service_account', 'the key file\'s "type" must be "service_account"'),
    client_email: v.pipe(v.string(), v.email('the key file\'s client_email must be an e-mail')),
    private_key: v.pipe(v.string(), v.includes('PRIVATE KEY', 'the key file\'s private_key must be a PEM private key')),
  }),
  v.transform((key) => ({ type: 'service-account' as const, clientEmail: key.client_email, privateKey: key.private_key })),
);

export const googleCredentialsSchema = v.union([credentialObjects, serviceAccountKeyFile]);

/** Google credentials, see {@link googleCredentialsSchema}. */
export type GoogleCredentials = v.InferOutput<typeof googleCredentialsSchema>;

/**
 * Config of the BigQuery connector.
 *
 * @example
 * ```ts
 * const config = v.parse(bigQueryConfigSchema, {
 *   projectId: 'acme-analytics',
 *   query: 'SELECT * FROM shop.orders WHERE updated_at > @cursor ORDER BY updated_at',
 *   cursor: { column: 'updated_at', type: 'TIMESTAMP' },
 * });
 * ```
 */
export const bigQueryConfigSchema = v.pipe(
  v.object({
    /** Project that runs (and pays for) the query jobs. */
    projectId: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
    credentials: v.optional(googleCredentialsSchema, { type: 'application-default' }),
    /** Standard SQL; named parameters as `@name`. */
    query: v.pipe(v.string(), v.trim(), v.minLength(1, 'must not be empty')),
    /** Values of named query parameters (besides the cursor). */
    params: v.optional(v.record(v.string(), v.union([scalarParam, v.array(scalarParam)])), {}),
    /** BigQuery types of `params` where inference is not enough, e.g. `{ since: 'DATE' }`. */
    paramTypes: v.optional(v.record(v.string(), v.pipe(v.string(), v.toUpperCase())), {}),
    /** Incremental reads: the column whose maximum is the checkpoint, bound to `@param` in the query. */
    cursor: v.optional(
      v.object({
        column: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
        param: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z_]\w*$/, 'must be a parameter name (letters, digits, _)')), 'cursor'),
        type: v.optional(v.picklist(CURSOR_TYPES), 'TIMESTAMP'),
        /** Cursor value of the very first run (default: the smallest value of the type). */
        initial: v.optional(v.union([v.string(), v.number()])),
      }),
    ),
    /** Job location (`US`, `EU`, `europe-west3`, ...). */
    location: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** Rows per page (`maxResults`); memory is bounded by one page. */
    pageSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000)), 10_000),
    /** The job is cancelled by BigQuery after this long. */
    jobTimeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
    /** The job fails instead of billing more than this many bytes. */
    maximumBytesBilled: v.optional(
      v.pipe(
        v.union([v.pipe(v.number(), v.integer(), v.minValue(1)), v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number of bytes'))]),
        v.transform((n) => String(n)),
      ),
    ),
    labels: v.optional(v.record(v.string(), v.string())),
    /** Overrides the API root (emulators, tests), e.g. `http://127.0.0.1:9050`. */
    apiEndpoint: v.optional(v.pipe(v.string(), v.url('must be a URL such as http://127.0.0.1:9050'))),
    /** Stream name reported by `discover()`. */
    stream: v.optional(v.pipe(v.string(), v.minLength(1)), 'query'),
    /** Transient failures (rate limits, 5xx, network) are retried in place this many times per request. */
    retry: v.optional(
      v.object({
        maxAttempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(20)), 5),
        baseDelayMs: v.optional(v.pipe(v.number(), v.minValue(0)), 1000),
        maxDelayMs: v.optional(v.pipe(v.number(), v.minValue(0)), 60_000),
      }),
      {},
    ),
    /** How long `check()` may take before reporting a failure. */
    checkTimeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100)), 30_000),
  }),
  v.forward(
    v.check(
      (c) => !c.cursor || new RegExp(`@${c.cursor.param}\\b`).test(c.query),
      'the query must use the cursor parameter, e.g. "WHERE updated_at > @cursor"',
    ),
    ['query'],
  ),
  v.forward(
    v.check(
      (c) => !c.cursor || new RegExp(`order\\s+by[\\s\\S]*\\b${escapeRegExp(c.cursor.column.split('.').pop()!)}\\b`, 'i').test(c.query),
      'an incremental query must ORDER BY the cursor column ascending, so each page can be checkpointed',
    ),
    ['query'],
  ),
);

/** Parsed config of the BigQuery connector. */
export type BigQueryConfig = v.InferOutput<typeof bigQueryConfigSchema>;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
