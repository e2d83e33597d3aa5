import { RETRY_DEFAULTS, backoffPolicySchema } from '@sluice/core';
import { ssrfOption } from '@sluice/core/net';
import * as v from 'valibot';

/** Column types the incremental cursor may have. */
export const CURSOR_TYPES = [
  'TIMESTAMP',
  'DATETIME',
  'DATE',
  'INT64',
  'NUMERIC',
  'BIGNUMERIC',
  'FLOAT64',
  'STRING',
] as const;

/** One of {@link CURSOR_TYPES}. */
export type CursorType = (typeof CURSOR_TYPES)[number];

const scalarParam = v.union([v.string(), v.number(), v.boolean(), v.null()]);

/**
 * How the connector authenticates. `application-default` uses Google's Application Default
 * Credentials (the `GOOGLE_APPLICATION_CREDENTIALS` file, gcloud login or the metadata server);
 * `service-account` takes the two fields of a service-account key; `access-token` a ready OAuth
 * token (short-lived; useful for tests and for tokens minted elsewhere).
 */
const CREDENTIAL_TYPE =
  'How to authenticate: `application-default`, `service-account` or `access-token`.';
const credentialObjects = v.variant('type', [
  v.object({ type: v.pipe(v.literal('application-default'), v.description(CREDENTIAL_TYPE)) }),
  v.object({
    type: v.pipe(v.literal('service-account'), v.description(CREDENTIAL_TYPE)),
    clientEmail: v.pipe(
      v.string(),
      v.email('must be the service account e-mail (client_email)'),
      v.description("The service account's e-mail (`client_email` of its key file)."),
      v.metadata({ examples: ['sluice@acme-analytics.iam.gserviceaccount.com'] }),
    ),
    privateKey: v.pipe(
      v.string(),
      v.includes('PRIVATE KEY', 'must be a PEM private key (private_key)'),
      v.description(
        'The PEM private key (`private_key` of the key file); use a reference such as `${env:BQ_PRIVATE_KEY}`.',
      ),
    ),
  }),
  v.object({
    type: v.pipe(v.literal('access-token'), v.description(CREDENTIAL_TYPE)),
    accessToken: v.pipe(
      v.string(),
      v.minLength(1, 'must not be empty'),
      v.description(
        'A ready OAuth 2 access token (short-lived; for tests and tokens minted elsewhere).',
      ),
    ),
  }),
]);

/** A service-account key file as Google issues it (`${file:/run/secrets/sa.json}`), parsed from JSON text. */
const serviceAccountKeyFile = v.pipe(
  v.string(),
  v.parseJson(
    undefined,
    () => 'must be a credentials object or the JSON text of a service-account key file',
  ),
  v.object({
    type: v.literal('service_account', 'the key file\'s "type" must be "service_account"'),
    client_email: v.pipe(v.string(), v.email("the key file's client_email must be an e-mail")),
    private_key: v.pipe(
      v.string(),
      v.includes('PRIVATE KEY', "the key file's private_key must be a PEM private key"),
    ),
  }),
  v.transform((key) => ({
    type: 'service-account' as const,
    clientEmail: key.client_email,
    privateKey: key.private_key,
  })),
);

export const googleCredentialsSchema = v.pipe(
  v.union([credentialObjects, serviceAccountKeyFile]),
  v.description(
    'How the connector authenticates: `{ type: application-default }` (Google Application Default Credentials), `{ type: service-account, clientEmail, privateKey }`, `{ type: access-token, accessToken }`, or the JSON text of a service-account key file (`${file:./sa.json}`).',
  ),
);

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
    projectId: v.pipe(
      v.string(),
      v.minLength(1, 'must not be empty'),
      v.description('Google Cloud project that runs (and pays for) the query jobs.'),
      v.metadata({ examples: ['acme-analytics'] }),
    ),
    credentials: v.optional(googleCredentialsSchema, { type: 'application-default' }),
    /** Standard SQL; named parameters as `@name`. */
    query: v.pipe(
      v.string(),
      v.description(
        'Standard SQL query; named parameters as `@name`. An incremental query uses `@cursor` and orders by the cursor column.',
      ),
      v.metadata({
        examples: ['SELECT * FROM shop.orders WHERE updated_at > @cursor ORDER BY updated_at'],
      }),
      v.trim(),
      v.minLength(1, 'must not be empty'),
    ),
    /** Values of named query parameters (besides the cursor). */
    params: v.optional(
      v.pipe(
        v.record(v.string(), v.union([scalarParam, v.array(scalarParam)])),
        v.description('Values of the named query parameters (besides the cursor), by name.'),
        v.metadata({ examples: [{ country: 'DE' }] }),
      ),
      {},
    ),
    /** BigQuery types of `params` where inference is not enough, e.g. `{ since: 'DATE' }`. */
    paramTypes: v.optional(
      v.pipe(
        v.record(v.string(), v.pipe(v.string(), v.toUpperCase())),
        v.description(
          'BigQuery types of `params` where inference from the value is not enough, by name.',
        ),
        v.metadata({ examples: [{ since: 'DATE' }] }),
      ),
      {},
    ),
    /** Incremental reads: the column whose maximum is the checkpoint, bound to `@param` in the query. */
    cursor: v.optional(
      v.pipe(
        v.object({
          column: v.pipe(
            v.string(),
            v.minLength(1, 'must not be empty'),
            v.description(
              'Column whose largest value read becomes the checkpoint; the query must ORDER BY it ascending.',
            ),
            v.metadata({ examples: ['updated_at'] }),
          ),
          param: v.optional(
            v.pipe(
              v.string(),
              v.regex(/^[A-Za-z_]\w*$/, 'must be a parameter name (letters, digits, _)'),
              v.description('Query parameter (`@name`) bound to the last checkpoint.'),
            ),
            'cursor',
          ),
          type: v.optional(
            v.pipe(v.picklist(CURSOR_TYPES), v.description('BigQuery type of the cursor column.')),
            'TIMESTAMP',
          ),
          /** Cursor value of the very first run (default: the smallest value of the type). */
          initial: v.optional(
            v.pipe(
              v.union([v.string(), v.number()]),
              v.description(
                'Cursor value of the very first run. Absent: the smallest value of the type.',
              ),
              v.metadata({ examples: ['2026-01-01T00:00:00Z'] }),
            ),
          ),
        }),
        v.description(
          'Incremental reads: each run reads the rows after the last checkpoint. Absent: every run reads the whole result.',
        ),
      ),
    ),
    /** Job location (`US`, `EU`, `europe-west3`, ...). */
    location: v.optional(
      v.pipe(
        v.string(),
        v.minLength(1),
        v.description(
          'Location the query job runs in. Absent: BigQuery picks it from the datasets.',
        ),
        v.metadata({ examples: ['EU'] }),
      ),
    ),
    /** Rows per page (`maxResults`); memory is bounded by one page. */
    pageSize: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1),
        v.maxValue(100_000),
        v.description('Rows per page (`maxResults`); memory holds one page at a time.'),
      ),
      10_000,
    ),
    /** The job is cancelled by BigQuery after this long. */
    jobTimeoutMs: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1),
        v.description(
          'BigQuery cancels the query job after this many milliseconds. Absent: no limit.',
        ),
      ),
    ),
    /** The job fails instead of billing more than this many bytes. */
    maximumBytesBilled: v.optional(
      v.pipe(
        v.union([
          v.pipe(v.number(), v.integer(), v.minValue(1)),
          v.pipe(v.string(), v.regex(/^\d+$/, 'must be a whole number of bytes')),
        ]),
        v.description(
          'The query job fails instead of billing more than this many bytes (a number, or a string for large values).',
        ),
        v.metadata({ examples: [10_000_000_000] }),
        v.transform((n) => String(n)),
      ),
    ),
    labels: v.optional(
      v.pipe(
        v.record(v.string(), v.string()),
        v.description('Labels set on each query job (for billing reports), by name.'),
        v.metadata({ examples: [{ team: 'growth' }] }),
      ),
    ),
    /** Overrides the API root (emulators, tests), e.g. `http://127.0.0.1:9050`. */
    apiEndpoint: v.optional(
      v.pipe(
        v.string(),
        v.url('must be a URL such as http://127.0.0.1:9050'),
        v.description('Overrides the BigQuery API root (emulators, tests).'),
        v.metadata({ examples: ['http://127.0.0.1:9050'] }),
      ),
    ),
    /** Outgoing-connection guard for `apiEndpoint`: internal addresses are refused unless allowed. */
    ssrf: ssrfOption,
    /** Stream name reported by `discover()`. */
    stream: v.optional(
      v.pipe(
        v.string(),
        v.minLength(1),
        v.description("Stream name reported by the connector's field discovery."),
      ),
      'query',
    ),
    /** Transient failures (rate limits, 5xx, network) are retried in place: core's backoff policy. */
    retry: backoffPolicySchema(RETRY_DEFAULTS.request, 'one API request', { maxAttempts: 20 }),
    /** How long `check()` may take before reporting a failure. */
    checkTimeoutMs: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(100),
        v.description('How long a connection check may take before it reports a failure.'),
      ),
      30_000,
    ),
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
      (c) =>
        !c.cursor ||
        new RegExp(
          `order\\s+by[\\s\\S]*\\b${escapeRegExp(c.cursor.column.split('.').pop()!)}\\b`,
          'i',
        ).test(c.query),
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
