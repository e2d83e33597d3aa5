import * as v from 'valibot';
import { isGa4Date, isTimeZone } from './dates.js';
import { filterIssues, type FilterExpression } from './filter.js';

/**
 * How the connector authenticates: Application Default Credentials, a service-account key's two
 * fields, or a ready OAuth access token. The account needs the Viewer role on the property.
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

export const ga4CredentialsSchema = v.union([credentialObjects, serviceAccountKeyFile]);

const ga4Date = v.pipe(v.string(), v.check(isGa4Date, 'must be YYYY-MM-DD, today, yesterday or NdaysAgo'));
const apiName = v.pipe(v.string(), v.regex(/^[A-Za-z][\w:]*$/, 'must be a GA4 API name such as sessionDefaultChannelGroup or customEvent:plan'));

const orderBySchema = v.union([
  v.object({
    dimension: v.object({
      dimensionName: apiName,
      orderType: v.optional(v.picklist(['ALPHANUMERIC', 'CASE_INSENSITIVE_ALPHANUMERIC', 'NUMERIC'])),
    }),
    desc: v.optional(v.boolean()),
  }),
  v.object({ metric: v.object({ metricName: apiName }), desc: v.optional(v.boolean()) }),
]);

type PathItem = { type: 'object'; origin: 'value'; input: Record<string, unknown>; key: string | number; value: unknown };
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
      v.transform((id) => String(id).replace(/^properties\//, '')),
      v.regex(/^\d+$/, 'must be the numeric GA4 property id (Admin > Property settings), e.g. "123456789"'),
    ),
    credentials: v.optional(ga4CredentialsSchema, { type: 'application-default' }),
    dimensions: v.optional(v.pipe(v.array(apiName), v.maxLength(9, 'GA4 allows at most 9 dimensions per report')), []),
    metrics: v.pipe(v.array(apiName), v.minLength(1, 'name at least one metric'), v.maxLength(10, 'GA4 allows at most 10 metrics per report')),
    /** Report range; relative dates resolve in the property's time zone (or `timeZone`). */
    dateRange: v.optional(v.object({ startDate: v.optional(ga4Date, '28daysAgo'), endDate: v.optional(ga4Date, 'today') }), {}),
    dimensionFilter: v.optional(v.custom<FilterExpression>(() => true)),
    metricFilter: v.optional(v.custom<FilterExpression>(() => true)),
    orderBys: v.optional(v.array(orderBySchema), []),
    /** Rows per request (`limit`); GA4 allows up to 250,000. */
    pageSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(250_000)), 10_000),
    /** Days before today that GA4 may still change; they are re-read on every run and marked `_final: false`. */
    restateDays: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(30)), 2),
    /** IANA time zone to resolve dates in (default: the property's, learned with one small request). */
    timeZone: v.optional(v.pipe(v.string(), v.check(isTimeZone, 'must be an IANA time zone such as Europe/Berlin'))),
    keepEmptyRows: v.optional(v.boolean(), false),
    /** Property quota: pause between requests when a window has fewer than `slowDownBelowTokens` left, stop (retry after the window refills) below `stopBelowTokens`. */
    quota: v.optional(
      v.object({
        slowDownBelowTokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 2_000),
        pauseMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 2_000),
        stopBelowTokens: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 100),
      }),
      {},
    ),
    /** Overrides the API root (tests, proxies), e.g. `http://127.0.0.1:8085`. */
    apiEndpoint: v.optional(v.pipe(v.string(), v.url('must be a URL such as http://127.0.0.1:8085'))),
    /** Stream name reported by `discover()`. */
    stream: v.optional(v.pipe(v.string(), v.minLength(1)), 'report'),
    retry: v.optional(
      v.object({
        maxAttempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(20)), 5),
        baseDelayMs: v.optional(v.pipe(v.number(), v.minValue(0)), 1000),
        maxDelayMs: v.optional(v.pipe(v.number(), v.minValue(0)), 60_000),
      }),
      {},
    ),
    checkTimeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100)), 30_000),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const c = dataset.value;
    const report = (issues: { path: string; message: string }[]) => {
      for (const i of issues) addIssue({ message: i.message, path: pathItems(i.path) as never });
    };
    if (c.dimensionFilter !== undefined) report(filterIssues(c.dimensionFilter, ['dimensionFilter'], c.dimensions, 'dimension'));
    if (c.metricFilter !== undefined) report(filterIssues(c.metricFilter, ['metricFilter'], c.metrics, 'metric'));
    c.orderBys.forEach((o, i) => {
      if ('dimension' in o && !c.dimensions.includes(o.dimension.dimensionName)) {
        report([{ path: `orderBys[${i}].dimension.dimensionName`, message: `must be one of the report's dimensions (${c.dimensions.join(', ')})` }]);
      }
      if ('metric' in o && !c.metrics.includes(o.metric.metricName)) {
        report([{ path: `orderBys[${i}].metric.metricName`, message: `must be one of the report's metrics (${c.metrics.join(', ')})` }]);
      }
    });
    const dupes = [...c.dimensions, ...c.metrics].filter((name, i, all) => all.indexOf(name) !== i);
    if (dupes.length > 0) report([{ path: 'metrics', message: `names must be unique across dimensions and metrics (repeated: ${dupes.join(', ')})` }]);
  }),
);

/** Parsed config of the GA4 connector. */
export type Ga4Config = v.InferOutput<typeof ga4ConfigSchema>;
