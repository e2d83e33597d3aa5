import { RETRY_DEFAULTS, backoffPolicySchema } from '@sluice/core';
import { ssrfOption } from '@sluice/core/net';
import * as v from 'valibot';
import { isGa4Date, isTimeZone } from './dates.js';
import { filterIssues, type FilterExpression } from './filter.js';

/**
 * How the connector authenticates: Application Default Credentials, a service-account key's two
 * fields, or a ready OAuth access token. The account needs the Viewer role on the property.
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
      v.metadata({ examples: ['sluice@acme.iam.gserviceaccount.com'] }),
    ),
    privateKey: v.pipe(
      v.string(),
      v.includes('PRIVATE KEY', 'must be a PEM private key (private_key)'),
      v.description(
        'The PEM private key (`private_key` of the key file); use a reference such as `${env:GA4_PRIVATE_KEY}`.',
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

export const ga4CredentialsSchema = v.pipe(
  v.union([credentialObjects, serviceAccountKeyFile]),
  v.description(
    'How the connector authenticates (the account needs the Viewer role on the property): `{ type: application-default }` (Google Application Default Credentials), `{ type: service-account, clientEmail, privateKey }`, `{ type: access-token, accessToken }`, or the JSON text of a service-account key file (`${file:./sa.json}`).',
  ),
);

const ga4Date = v.pipe(
  v.string(),
  v.check(isGa4Date, 'must be YYYY-MM-DD, today, yesterday or NdaysAgo'),
);
const apiName = v.pipe(
  v.string(),
  v.regex(
    /^[A-Za-z][\w:]*$/,
    'must be a GA4 API name such as sessionDefaultChannelGroup or customEvent:plan',
  ),
);

const DESCENDING = 'Sort from the largest value down. Default: ascending.';
const orderBySchema = v.union([
  v.object({
    dimension: v.pipe(
      v.object({
        dimensionName: v.pipe(apiName, v.description('A dimension of the report.')),
        orderType: v.optional(
          v.pipe(
            v.picklist(['ALPHANUMERIC', 'CASE_INSENSITIVE_ALPHANUMERIC', 'NUMERIC']),
            v.description('How dimension values compare. Default: `ALPHANUMERIC`.'),
          ),
        ),
      }),
      v.description("Sort by a dimension's values."),
    ),
    desc: v.optional(v.pipe(v.boolean(), v.description(DESCENDING))),
  }),
  v.object({
    metric: v.pipe(
      v.object({ metricName: v.pipe(apiName, v.description('A metric of the report.')) }),
      v.description("Sort by a metric's values."),
    ),
    desc: v.optional(v.pipe(v.boolean(), v.description(DESCENDING))),
  }),
]);

type PathItem = {
  type: 'object';
  origin: 'value';
  input: Record<string, unknown>;
  key: string | number;
  value: unknown;
};
const pathItems = (path: string): PathItem[] =>
  // Re-split "dimensionFilter.andGroup.expressions[1].filter" into keys for valibot's issue path.
  [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => ({
    type: 'object',
    origin: 'value',
    input: {},
    key: m[2] !== undefined ? Number(m[2]) : m[1]!,
    value: undefined,
  }));

/**
 * Config of the GA4 connector: one report (dimensions × metrics over a date range), read page by
 * page, re-reading the last `restateDays` days until GA4 finalises them.
 *
 * @example
 * ```ts
 * const config = v.parse(ga4ConfigSchema, {
 *   propertyId: '123456',
 *   dimensions: ['date', 'sessionDefaultChannelGroup'],
 *   metrics: ['sessions', 'purchaseRevenue'],
 *   dateRange: { startDate: '28daysAgo', endDate: 'yesterday' },
 * });
 * ```
 */
export const ga4ConfigSchema = v.pipe(
  v.object({
    /** Numeric GA4 property id (`properties/123` is accepted too). */
    propertyId: v.pipe(
      v.union([v.string(), v.number()]),
      v.description(
        'Numeric GA4 property id (Admin > Property settings); `properties/123456789` is accepted too.',
      ),
      v.metadata({ examples: ['123456789'] }),
      v.transform((id) => String(id).replace(/^properties\//, '')),
      v.regex(
        /^\d+$/,
        'must be the numeric GA4 property id (Admin > Property settings), e.g. "123456789"',
      ),
    ),
    credentials: v.optional(ga4CredentialsSchema, { type: 'application-default' }),
    dimensions: v.optional(
      v.pipe(
        v.array(apiName),
        v.maxLength(9, 'GA4 allows at most 9 dimensions per report'),
        v.description(
          "GA4 API names of the report's dimensions (at most 9); each becomes a field of every record.",
        ),
        v.metadata({ examples: [['date', 'sessionDefaultChannelGroup']] }),
      ),
      [],
    ),
    metrics: v.pipe(
      v.array(apiName),
      v.minLength(1, 'name at least one metric'),
      v.maxLength(10, 'GA4 allows at most 10 metrics per report'),
      v.description(
        "GA4 API names of the report's metrics (1 to 10); each becomes a numeric field of every record.",
      ),
      v.metadata({ examples: [['sessions', 'purchaseRevenue']] }),
    ),
    /** Report range; relative dates resolve in the property's time zone (or `timeZone`). */
    dateRange: v.optional(
      v.pipe(
        v.object({
          startDate: v.optional(
            v.pipe(
              ga4Date,
              v.description('First day: `YYYY-MM-DD`, `today`, `yesterday` or `NdaysAgo`.'),
            ),
            '28daysAgo',
          ),
          endDate: v.optional(
            v.pipe(
              ga4Date,
              v.description(
                'Last day (included): `YYYY-MM-DD`, `today`, `yesterday` or `NdaysAgo`.',
              ),
            ),
            'today',
          ),
        }),
        v.description(
          "Days the report covers; relative dates resolve in the property's time zone (or `timeZone`).",
        ),
      ),
      {},
    ),
    dimensionFilter: v.optional(
      v.pipe(
        v.custom<FilterExpression>(() => true),
        v.description(
          'GA4 Data API `FilterExpression` on dimensions (`filter`, `andGroup`, `orGroup`, `notExpression`), naming dimensions of the report.',
        ),
        v.metadata({
          examples: [
            {
              filter: { fieldName: 'sessionDefaultChannelGroup', stringFilter: { value: 'Email' } },
            },
          ],
        }),
      ),
    ),
    metricFilter: v.optional(
      v.pipe(
        v.custom<FilterExpression>(() => true),
        v.description(
          'GA4 Data API `FilterExpression` on metrics, applied after aggregation, naming metrics of the report.',
        ),
        v.metadata({
          examples: [
            {
              filter: {
                fieldName: 'sessions',
                numericFilter: { operation: 'GREATER_THAN', value: { int64Value: '100' } },
              },
            },
          ],
        }),
      ),
    ),
    orderBys: v.optional(
      v.pipe(
        v.array(orderBySchema),
        v.description(
          'Sort order of the rows: `{ dimension: { dimensionName } }` or `{ metric: { metricName } }`, each with `desc`.',
        ),
      ),
      [],
    ),
    /** Rows per request (`limit`); GA4 allows up to 250,000. */
    pageSize: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1),
        v.maxValue(250_000),
        v.description('Rows per request (`limit`); GA4 allows up to 250,000.'),
      ),
      10_000,
    ),
    /**
     * `previousDay`: every row also gets the previous day's values (`<metric>_previous`), the
     * relative change (`<metric>_change`) and `change` (the first metric's). Needs the `date` dimension.
     */
    compareWith: v.optional(
      v.pipe(
        v.picklist(['previousDay'], 'must be "previousDay"'),
        v.description(
          "`previousDay`: every row also gets the previous day's values (`<metric>_previous`), the relative change (`<metric>_change`) and `change` (the first metric's). Needs the `date` dimension.",
        ),
      ),
    ),
    /** Days before today that GA4 may still change; they are re-read on every run and marked `_final: false`. */
    restateDays: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(0),
        v.maxValue(30),
        v.description(
          'Days before today that GA4 may still change: re-read on every run, their records marked `_final: false`.',
        ),
      ),
      2,
    ),
    /** IANA time zone to resolve dates in (default: the property's, learned with one small request). */
    timeZone: v.optional(
      v.pipe(
        v.string(),
        v.check(isTimeZone, 'must be an IANA time zone such as Europe/Berlin'),
        v.description(
          "IANA time zone to resolve dates in. Absent: the property's, learned with one small request.",
        ),
        v.metadata({ examples: ['Europe/Berlin'] }),
      ),
    ),
    keepEmptyRows: v.optional(
      v.pipe(v.boolean(), v.description('Also return rows whose metrics are all zero.')),
      false,
    ),
    /** Property quota: pause between requests when a window has fewer than `slowDownBelowTokens` left, stop (retry after the window refills) below `stopBelowTokens`. */
    quota: v.optional(
      v.pipe(
        v.object({
          slowDownBelowTokens: v.optional(
            v.pipe(
              v.number(),
              v.integer(),
              v.minValue(0),
              v.description(
                'Pause between requests when a quota window has fewer tokens left than this.',
              ),
            ),
            2_000,
          ),
          pauseMs: v.optional(
            v.pipe(
              v.number(),
              v.integer(),
              v.minValue(0),
              v.description('Length of that pause, in milliseconds.'),
            ),
            2_000,
          ),
          stopBelowTokens: v.optional(
            v.pipe(
              v.number(),
              v.integer(),
              v.minValue(0),
              v.description(
                'Stop reading (the run is retried after the window refills) when fewer tokens than this are left.',
              ),
            ),
            100,
          ),
        }),
        v.description(
          "How to spend the property's GA4 quota tokens, which every report request reports back.",
        ),
      ),
      {},
    ),
    /** Overrides the API root (tests, proxies), e.g. `http://127.0.0.1:8085`. */
    apiEndpoint: v.optional(
      v.pipe(
        v.string(),
        v.url('must be a URL such as http://127.0.0.1:8085'),
        v.description('Overrides the GA4 Data API root (tests, proxies).'),
        v.metadata({ examples: ['http://127.0.0.1:8085'] }),
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
      'report',
    ),
    /** Transient failures (rate limits, 5xx, network) are retried in place: core's backoff policy. */
    retry: backoffPolicySchema(RETRY_DEFAULTS.request, 'one runReport request', {
      maxAttempts: 20,
    }),
    checkTimeoutMs: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(100),
        v.description('How long a connection check may take before it reports a failure.'),
      ),
      30_000,
    ),
    requestTimeoutMs: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1000),
        v.description('How long one runReport request may take before it is retried.'),
      ),
      60_000,
    ),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const c = dataset.value;
    const report = (issues: { path: string; message: string }[]) => {
      for (const i of issues) addIssue({ message: i.message, path: pathItems(i.path) as never });
    };
    if (c.dimensionFilter !== undefined)
      report(filterIssues(c.dimensionFilter, ['dimensionFilter'], c.dimensions, 'dimension'));
    if (c.metricFilter !== undefined)
      report(filterIssues(c.metricFilter, ['metricFilter'], c.metrics, 'metric'));
    c.orderBys.forEach((o, i) => {
      if ('dimension' in o && !c.dimensions.includes(o.dimension.dimensionName)) {
        report([
          {
            path: `orderBys[${i}].dimension.dimensionName`,
            message: `must be one of the report's dimensions (${c.dimensions.join(', ')})`,
          },
        ]);
      }
      if ('metric' in o && !c.metrics.includes(o.metric.metricName)) {
        report([
          {
            path: `orderBys[${i}].metric.metricName`,
            message: `must be one of the report's metrics (${c.metrics.join(', ')})`,
          },
        ]);
      }
    });
    if (c.compareWith !== undefined && !c.dimensions.includes('date')) {
      report([
        {
          path: 'compareWith',
          message: 'needs the "date" dimension (the comparison is day on day)',
        },
      ]);
    }
    const dupes = [...c.dimensions, ...c.metrics].filter((name, i, all) => all.indexOf(name) !== i);
    if (dupes.length > 0)
      report([
        {
          path: 'metrics',
          message: `names must be unique across dimensions and metrics (repeated: ${dupes.join(', ')})`,
        },
      ]);
  }),
);

/** Parsed config of the GA4 connector. */
export type Ga4Config = v.InferOutput<typeof ga4ConfigSchema>;
