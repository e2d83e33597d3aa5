/**
 * A wire-compatible fake of the Google Analytics 4 Data API v1beta (`runReport`, `getMetadata`)
 * in the REST (fallback) transport of `@google-analytics/data`. Reports are generated lazily and
 * deterministically from a seed: every combination of the requested dimensions' values over the
 * date range is one row, so a large report costs no memory until read. Supports filters
 * (`dimensionFilter`, `metricFilter`), `orderBys`, `offset`/`limit`, property quotas
 * (`returnPropertyQuota`, 429 `RESOURCE_EXHAUSTED` when spent), restatement of recent days and
 * injected faults. One date range per request.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  FaultQueue,
  bearerToken,
  delay,
  googleError,
  random01,
  readJsonBody,
  sendJson,
  startLoopbackServer,
  type FakeFault,
  type FakeFaultHandle,
  type FakeRequestLogEntry,
} from './bigquery-ga4-http.js';

/** The GA4 metric types the fake knows. */
export type FakeGa4MetricType =
  | 'TYPE_INTEGER'
  | 'TYPE_FLOAT'
  | 'TYPE_SECONDS'
  | 'TYPE_MILLISECONDS'
  | 'TYPE_CURRENCY'
  | 'TYPE_STANDARD';

/** Options of one fake property. */
export interface FakeGa4PropertyOptions {
  /** IANA time zone of the property; relative dates resolve in it (default `America/Los_Angeles`). */
  timeZone?: string;
  currencyCode?: string;
  /** First date with data, `YYYY-MM-DD` (default: 400 days before the fake's today). */
  firstDate?: string;
  /** Seed of the generated numbers (default 1). */
  seed?: number;
  /** Replaces the value list of dimensions, e.g. `{ pagePath: ['/a', '/b'] }`. */
  dimensionValues?: Record<string, string[]>;
}

/** Quota limits of a property (GA4 standard-property defaults). */
export interface FakeGa4Quota {
  tokensPerDay: number;
  tokensPerHour: number;
  tokensPerProjectPerHour: number;
  concurrentRequests: number;
}

/** Options of {@link startFakeGa4}. */
export interface FakeGa4Options {
  /** Properties keyed by numeric id (default: `{ '123456': {} }`). */
  properties?: Record<string, FakeGa4PropertyOptions>;
  /** Access tokens the fake accepts (default: any non-empty bearer token). */
  accessTokens?: string[];
  /** The fake's clock (default `Date.now`): decides "today" and quota windows. */
  now?: () => number;
  /** Tokens one runReport costs (default 10). */
  tokensPerRequest?: number;
  /** Quota limits (defaults: 200,000/day, 40,000/hour, 14,000/project/hour, 10 concurrent). */
  quota?: Partial<FakeGa4Quota>;
}

/** A running fake GA4 Data API. */
export interface FakeGa4 {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Pass as the SDK's `port` (with `apiEndpoint: '127.0.0.1'`, `protocol: 'http'`). */
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: FakeRequestLogEntry[];
  /** Makes the next matching request(s) fail or slow down. Operations: `runReport`, `getMetadata`. */
  inject(fault: FakeFault): FakeFaultHandle;
  clearFaults(): void;
  /** Changes the numbers of one date (as GA4 does while it still processes recent days). */
  restate(propertyId: string, date: string): void;
  /** Sets the tokens already consumed in the current hour / day windows. */
  setQuotaUsage(propertyId: string, usage: { hour?: number; day?: number }): void;
  /** Today's date in the property's time zone. */
  today(propertyId: string): string;
  close(): Promise<void>;
}

interface DimensionSpec {
  values: string[];
}

const DIMENSIONS: Record<string, { uiName: string; category: string; values?: string[] }> = {
  date: { uiName: 'Date', category: 'Time' },
  country: {
    uiName: 'Country',
    category: 'Geography',
    values: [
      'United States',
      'Germany',
      'France',
      'Japan',
      'Brazil',
      'India',
      'Canada',
      'Kenya',
      'Spain',
      'Australia',
    ],
  },
  city: {
    uiName: 'City',
    category: 'Geography',
    values: [
      'Berlin',
      'Paris',
      'Tokyo',
      'São Paulo',
      'Mumbai',
      'Toronto',
      'Nairobi',
      'Madrid',
      'Sydney',
      'Austin',
    ],
  },
  deviceCategory: {
    uiName: 'Device category',
    category: 'Platform / Device',
    values: ['desktop', 'mobile', 'tablet'],
  },
  browser: {
    uiName: 'Browser',
    category: 'Platform / Device',
    values: ['Chrome', 'Safari', 'Firefox', 'Edge', 'Samsung Internet'],
  },
  sessionDefaultChannelGroup: {
    uiName: 'Session default channel group',
    category: 'Traffic source',
    values: [
      'Direct',
      'Organic Search',
      'Paid Search',
      'Email',
      'Referral',
      'Organic Social',
      'Display',
      'Affiliates',
    ],
  },
  sessionSource: {
    uiName: 'Session source',
    category: 'Traffic source',
    values: ['google', '(direct)', 'newsletter', 'bing', 'facebook.com', 'news.ycombinator.com'],
  },
  pagePath: {
    uiName: 'Page path',
    category: 'Page / screen',
    values: Array.from({ length: 1000 }, (_, i) => `/p/${i}`),
  },
  eventName: {
    uiName: 'Event name',
    category: 'Event',
    values: ['page_view', 'session_start', 'first_visit', 'scroll', 'click', 'purchase'],
  },
};

const METRICS: Record<string, { uiName: string; type: FakeGa4MetricType; scale: number }> = {
  sessions: { uiName: 'Sessions', type: 'TYPE_INTEGER', scale: 500 },
  activeUsers: { uiName: 'Active users', type: 'TYPE_INTEGER', scale: 400 },
  newUsers: { uiName: 'New users', type: 'TYPE_INTEGER', scale: 150 },
  screenPageViews: { uiName: 'Views', type: 'TYPE_INTEGER', scale: 2000 },
  eventCount: { uiName: 'Event count', type: 'TYPE_INTEGER', scale: 5000 },
  keyEvents: { uiName: 'Key events', type: 'TYPE_FLOAT', scale: 40 },
  engagementRate: { uiName: 'Engagement rate', type: 'TYPE_FLOAT', scale: 1 },
  bounceRate: { uiName: 'Bounce rate', type: 'TYPE_FLOAT', scale: 1 },
  averageSessionDuration: { uiName: 'Average session duration', type: 'TYPE_SECONDS', scale: 600 },
  userEngagementDuration: { uiName: 'User engagement', type: 'TYPE_SECONDS', scale: 100000 },
  purchaseRevenue: { uiName: 'Purchase revenue', type: 'TYPE_CURRENCY', scale: 10000 },
  totalRevenue: { uiName: 'Total revenue', type: 'TYPE_CURRENCY', scale: 12000 },
};

class ApiFailure extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

/** `YYYY-MM-DD` of `ms` in `timeZone`. */
function dateIn(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms);
}

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Starts a fake GA4 Data API on 127.0.0.1 (ephemeral port).
 *
 * @example
 * ```ts
 * import { BetaAnalyticsDataClient } from '@google-analytics/data';
 * import { OAuth2Client } from 'google-auth-library';
 * const fake = await startFakeGa4();
 * const authClient = new OAuth2Client();
 * authClient.setCredentials({ access_token: 'test-token' });
 * const client = new BetaAnalyticsDataClient({ fallback: true, apiEndpoint: '127.0.0.1', port: fake.port, protocol: 'http', authClient });
 * const [report] = await client.runReport({
 *   property: 'properties/123456',
 *   dimensions: [{ name: 'date' }],
 *   metrics: [{ name: 'sessions' }],
 *   dateRanges: [{ startDate: '7daysAgo', endDate: 'yesterday' }],
 * });
 * await fake.close();
 * ```
 */
export async function startFakeGa4(options: FakeGa4Options = {}): Promise<FakeGa4> {
  const now = options.now ?? Date.now;
  const tokensPerRequest = options.tokensPerRequest ?? 10;
  const quota: FakeGa4Quota = {
    tokensPerDay: 200_000,
    tokensPerHour: 40_000,
    tokensPerProjectPerHour: 14_000,
    concurrentRequests: 10,
    ...options.quota,
  };
  const properties = new Map(
    Object.entries(options.properties ?? { '123456': {} }).map(([id, p]) => [
      id,
      {
        timeZone: p.timeZone ?? 'America/Los_Angeles',
        currencyCode: p.currencyCode ?? 'USD',
        firstDate: p.firstDate,
        seed: p.seed ?? 1,
        dimensionValues: p.dimensionValues ?? {},
        revisions: new Map<string, number>(),
        indexCache: new Map<string, number[]>(),
        usage: { hourWindow: -1, hour: 0, dayWindow: '', day: 0 },
      },
    ]),
  );
  type Property = NonNullable<ReturnType<typeof properties.get>>;
  let projectUsage = { window: -1, tokens: 0 };
  let inFlight = 0;
  const faults = new FaultQueue();
  const requests: FakeRequestLogEntry[] = [];

  const todayOf = (p: Property) => dateIn(now(), p.timeZone);

  function resolveDate(p: Property, text: unknown, field: string): string {
    if (typeof text !== 'string')
      throw new ApiFailure(400, 'INVALID_ARGUMENT', `${field} is required.`);
    const today = todayOf(p);
    if (text === 'today') return today;
    if (text === 'yesterday') return addDays(today, -1);
    const ago = /^(\d+)daysAgo$/.exec(text);
    if (ago) return addDays(today, -Number(ago[1]));
    if (/^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`)))
      return text;
    throw new ApiFailure(
      400,
      'INVALID_ARGUMENT',
      `Invalid ${field}: ${text}. Use YYYY-MM-DD, NdaysAgo, yesterday, or today.`,
    );
  }

  function dimensionSpec(p: Property, name: string, dates: string[]): DimensionSpec {
    if (name === 'date') return { values: dates.map((d) => d.replaceAll('-', '')) };
    const known = DIMENSIONS[name];
    const values = p.dimensionValues[name] ?? known?.values;
    if (!values) {
      throw new ApiFailure(
        400,
        'INVALID_ARGUMENT',
        `Field ${name} is not a valid dimension. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema `,
      );
    }
    return { values };
  }

  function spendQuota(p: Property): void {
    const t = now();
    const hour = Math.floor(t / 3_600_000);
    const day = dateIn(t, p.timeZone);
    if (p.usage.hourWindow !== hour) p.usage = { ...p.usage, hourWindow: hour, hour: 0 };
    if (p.usage.dayWindow !== day) p.usage = { ...p.usage, dayWindow: day, day: 0 };
    if (projectUsage.window !== hour) projectUsage = { window: hour, tokens: 0 };
    if (p.usage.day >= quota.tokensPerDay)
      throw new ApiFailure(
        429,
        'RESOURCE_EXHAUSTED',
        'Exhausted property tokens for a property per day. This property will be able to make requests again tomorrow.',
      );
    if (p.usage.hour >= quota.tokensPerHour)
      throw new ApiFailure(
        429,
        'RESOURCE_EXHAUSTED',
        'Exhausted property tokens per hour for a property. This property will be able to make requests again next hour.',
      );
    if (projectUsage.tokens >= quota.tokensPerProjectPerHour)
      throw new ApiFailure(
        429,
        'RESOURCE_EXHAUSTED',
        'Exhausted property tokens per project per hour.',
      );
    p.usage.hour += tokensPerRequest;
    p.usage.day += tokensPerRequest;
    projectUsage.tokens += tokensPerRequest;
  }

  function runReport(
    p: Property,
    body: Record<string, unknown>,
    intEnums: boolean,
  ): Record<string, unknown> {
    const dims = readNames(body.dimensions, 'dimensions');
    const mets = readNames(body.metrics, 'metrics');
    if (dims.length === 0 && mets.length === 0)
      throw new ApiFailure(
        400,
        'INVALID_ARGUMENT',
        'At least one dimension or metric is required.',
      );
    for (const m of mets) {
      if (!METRICS[m])
        throw new ApiFailure(
          400,
          'INVALID_ARGUMENT',
          `Field ${m} is not a valid metric. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema `,
        );
    }
    const ranges = body.dateRanges;
    if (!Array.isArray(ranges) || ranges.length === 0)
      throw new ApiFailure(400, 'INVALID_ARGUMENT', 'dateRanges is required.');
    if (ranges.length > 1)
      throw new ApiFailure(
        400,
        'INVALID_ARGUMENT',
        'The fake GA4 API supports one date range per request.',
      );
    const range = ranges[0] as Record<string, unknown>;
    const start = resolveDate(p, range.startDate, 'startDate');
    const end = resolveDate(p, range.endDate, 'endDate');
    if (start > end)
      throw new ApiFailure(
        400,
        'INVALID_ARGUMENT',
        `Invalid date range: startDate ${start} is after endDate ${end}.`,
      );
    const limit = body.limit === undefined ? 10_000 : Number(body.limit);
    const offset = body.offset === undefined ? 0 : Number(body.offset);
    if (!Number.isInteger(limit) || limit < 0 || limit > 250_000)
      throw new ApiFailure(
        400,
        'INVALID_ARGUMENT',
        `limit must be between 0 and 250000, got ${String(body.limit)}.`,
      );
    if (!Number.isInteger(offset) || offset < 0)
      throw new ApiFailure(
        400,
        'INVALID_ARGUMENT',
        `offset must be non-negative, got ${String(body.offset)}.`,
      );

    const today = todayOf(p);
    const first = p.firstDate ?? addDays(today, -400);
    const from = start < first ? first : start;
    const to = end > today ? today : end;
    const dates: string[] = [];
    for (let d = from; d <= to; d = addDays(d, 1)) dates.push(d);
    const specs = dims.map((d) => dimensionSpec(p, d, dates));
    const dimensionFilter =
      body.dimensionFilter === undefined || body.dimensionFilter === null
        ? undefined
        : compileFilter(body.dimensionFilter, 'dimensionFilter', new Set(dims), 'dimension');
    const metricFilter =
      body.metricFilter === undefined || body.metricFilter === null
        ? undefined
        : compileFilter(body.metricFilter, 'metricFilter', new Set(mets), 'metric');
    const total =
      dates.length === 0 && dims.includes('date')
        ? 0
        : specs.reduce((n, s) => n * s.values.length, 1);

    const rowAt = (index: number) => {
      const values: string[] = new Array<string>(specs.length);
      let rest = index;
      for (let k = specs.length - 1; k >= 0; k--) {
        const list = specs[k]!.values;
        values[k] = list[rest % list.length]!;
        rest = Math.floor(rest / list.length);
      }
      const dateIndex = dims.indexOf('date');
      const date = dateIndex >= 0 ? values[dateIndex]! : '';
      const isoDate =
        date === '' ? '' : `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}`;
      const revision = p.revisions.get(isoDate) ?? 0;
      const key = values.join('|');
      const metrics = mets.map((m) => metricValue(METRICS[m]!, p.seed, key, m, revision));
      return { values, metrics };
    };

    let indices: ArrayLike<number> | undefined;
    if (
      dimensionFilter ||
      metricFilter ||
      (Array.isArray(body.orderBys) && body.orderBys.length > 0)
    ) {
      // Paging re-sends the same report with another offset: reuse the filtered, sorted index.
      const cacheKey = JSON.stringify([
        p.seed,
        [...p.revisions],
        dims,
        mets,
        start,
        end,
        body.dimensionFilter,
        body.metricFilter,
        body.orderBys,
      ]);
      indices = p.indexCache.get(cacheKey);
      if (!indices) {
        const matched: number[] = [];
        for (let i = 0; i < total; i++) {
          if (dimensionFilter || metricFilter) {
            const row = rowAt(i);
            const byDim = Object.fromEntries(dims.map((d, k) => [d, row.values[k]!]));
            const byMet = Object.fromEntries(mets.map((m, k) => [m, row.metrics[k]!]));
            if (dimensionFilter && !dimensionFilter(byDim)) continue;
            if (metricFilter && !metricFilter(byMet)) continue;
          }
          matched.push(i);
        }
        if (Array.isArray(body.orderBys) && body.orderBys.length > 0) {
          const comparators = (body.orderBys as Record<string, unknown>[]).map((o, k) =>
            orderComparator(o, k, dims, mets, matched, rowAt),
          );
          const position = new Map(matched.map((index, i) => [index, i]));
          matched.sort((a, b) => {
            for (const c of comparators) {
              const r = c(position.get(a)!, position.get(b)!);
              if (r !== 0) return r;
            }
            return a - b;
          });
        }
        indices = matched;
        p.indexCache.set(cacheKey, matched);
        if (p.indexCache.size > 4) p.indexCache.delete(p.indexCache.keys().next().value!);
      }
    }
    const count = indices ? indices.length : total;
    const rows: unknown[] = [];
    for (let i = offset; i < Math.min(offset + limit, count); i++) {
      const row = rowAt(indices ? indices[i]! : i);
      rows.push({
        dimensionValues: row.values.map((value) => ({ value })),
        metricValues: row.metrics.map((value) => ({ value })),
      });
    }
    const response: Record<string, unknown> = {
      dimensionHeaders: dims.map((name) => ({ name })),
      metricHeaders: mets.map((name) => ({
        name,
        type: intEnums ? METRIC_TYPE_NUMBERS[METRICS[name]!.type] : METRICS[name]!.type,
      })),
      ...(rows.length > 0 ? { rows } : {}),
      ...(count > 0 ? { rowCount: count } : {}),
      metadata: { currencyCode: p.currencyCode, timeZone: p.timeZone },
      kind: 'analyticsData#runReport',
    };
    if (body.returnPropertyQuota === true) {
      response.propertyQuota = {
        tokensPerDay: {
          consumed: tokensPerRequest,
          remaining: Math.max(0, quota.tokensPerDay - p.usage.day),
        },
        tokensPerHour: {
          consumed: tokensPerRequest,
          remaining: Math.max(0, quota.tokensPerHour - p.usage.hour),
        },
        concurrentRequests: { consumed: 0, remaining: quota.concurrentRequests - inFlight + 1 },
        serverErrorsPerProjectPerHour: { consumed: 0, remaining: 10 },
        potentiallyThresholdedRequestsPerHour: { consumed: 0, remaining: 120 },
        tokensPerProjectPerHour: {
          consumed: tokensPerRequest,
          remaining: Math.max(0, quota.tokensPerProjectPerHour - projectUsage.tokens),
        },
      };
    }
    return response;
  }

  function metadata(propertyId: string, p: Property, intEnums: boolean): Record<string, unknown> {
    return {
      name: `properties/${propertyId}/metadata`,
      dimensions: Object.entries(DIMENSIONS)
        .filter(
          ([name]) =>
            name === 'date' || p.dimensionValues[name] !== undefined || DIMENSIONS[name]!.values,
        )
        .map(([apiName, d]) => ({
          apiName,
          uiName: d.uiName,
          description: `${d.uiName} of the event.`,
          category: d.category,
        })),
      metrics: Object.entries(METRICS).map(([apiName, m]) => ({
        apiName,
        uiName: m.uiName,
        description: `${m.uiName}.`,
        type: intEnums ? METRIC_TYPE_NUMBERS[m.type] : m.type,
        category: 'General',
      })),
    };
  }

  function faultResponse(fault: FakeFault): {
    status: number;
    body: unknown;
    headers: Record<string, string>;
  } {
    const headers: Record<string, string> =
      fault.retryAfterSeconds !== undefined
        ? { 'retry-after': String(fault.retryAfterSeconds) }
        : {};
    const m = fault.message;
    switch (fault.kind) {
      case 'rateLimit':
      case 'tooManyRequests':
        return {
          status: 429,
          headers,
          body: googleError(
            429,
            'RESOURCE_EXHAUSTED',
            m ?? 'Exhausted concurrent requests quota for a property.',
          ),
        };
      case 'quota':
        return {
          status: 429,
          headers,
          body: googleError(
            429,
            'RESOURCE_EXHAUSTED',
            m ??
              'Exhausted property tokens per hour for a property. This property will be able to make requests again next hour.',
          ),
        };
      case 'serverError':
        return {
          status: 500,
          headers,
          body: googleError(500, 'INTERNAL', m ?? 'Internal error encountered.'),
        };
      case 'unavailable':
        return {
          status: 503,
          headers,
          body: googleError(503, 'UNAVAILABLE', m ?? 'The service is currently unavailable.'),
        };
      case 'unauthenticated':
        return {
          status: 401,
          headers,
          body: googleError(
            401,
            'UNAUTHENTICATED',
            m ??
              'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
          ),
        };
      case 'permissionDenied':
        return {
          status: 403,
          headers,
          body: googleError(
            403,
            'PERMISSION_DENIED',
            m ??
              'User does not have sufficient permissions for this property. To learn more about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.',
          ),
        };
      case 'badRequest':
        return {
          status: 400,
          headers,
          body: googleError(400, 'INVALID_ARGUMENT', m ?? 'Invalid request.'),
        };
      case 'invalidJson':
        return { status: 200, headers, body: '{"dimensionHeaders":[{"name":' };
      default:
        return {
          status: 500,
          headers,
          body: googleError(500, 'INTERNAL', `unsupported fault ${fault.kind}`),
        };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readJsonBody(req).catch(() => Symbol.for('invalid'));
    const entry: FakeRequestLogEntry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body,
      operation: 'unknown',
      headers: req.headers,
      status: 0,
    };
    requests.push(entry);
    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      sendJson(res, status, payload, headers);
    };
    const report = /^\/v1beta\/properties\/([^/:]+):runReport$/.exec(url.pathname);
    const meta = /^\/v1beta\/properties\/([^/:]+)\/metadata$/.exec(url.pathname);
    const propertyId = decodeURIComponent((report ?? meta)?.[1] ?? '');
    if (report && req.method === 'POST') entry.operation = 'runReport';
    else if (meta && req.method === 'GET') entry.operation = 'getMetadata';
    else
      return reply(
        404,
        googleError(404, 'NOT_FOUND', `Method not found: ${req.method} ${url.pathname}`),
      );
    if (typeof body === 'symbol')
      return reply(400, googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.'));

    inFlight += 1;
    try {
      const fault = faults.take(entry.operation);
      if (fault?.delayMs) await delay(fault.delayMs);
      if (fault && fault.kind !== 'slow' && fault.kind !== 'malformed') {
        const r = faultResponse(fault);
        return reply(r.status, r.body, r.headers);
      }
      const token = bearerToken(req);
      if (!token || (options.accessTokens && !options.accessTokens.includes(token))) {
        return reply(
          401,
          googleError(
            401,
            'UNAUTHENTICATED',
            'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
          ),
        );
      }
      const p = properties.get(propertyId);
      if (!p) {
        return reply(
          403,
          googleError(
            403,
            'PERMISSION_DENIED',
            'User does not have sufficient permissions for this property. To learn more about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.',
          ),
        );
      }
      try {
        if (entry.operation === 'getMetadata')
          return reply(
            200,
            metadata(propertyId, p, /enum-encoding=int/.test(url.searchParams.get('$alt') ?? '')),
          );
        spendQuota(p);
        const payload = runReport(
          p,
          (body ?? {}) as Record<string, unknown>,
          /enum-encoding=int/.test(url.searchParams.get('$alt') ?? ''),
        );
        return reply(200, fault?.kind === 'malformed' ? malform(payload) : payload);
      } catch (err) {
        if (err instanceof ApiFailure)
          return reply(err.httpStatus, googleError(err.httpStatus, err.status, err.message));
        throw err;
      }
    } finally {
      inFlight -= 1;
    }
  }

  const server = await startLoopbackServer(handle);
  const property = (id: string) => {
    const p = properties.get(id);
    if (!p) throw new Error(`fake GA4 has no property "${id}"`);
    return p;
  };
  return {
    url: server.url,
    port: server.port,
    requests,
    inject: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    restate(id, date) {
      const p = property(id);
      p.revisions.set(date, (p.revisions.get(date) ?? 0) + 1);
    },
    setQuotaUsage(id, usage) {
      const p = property(id);
      const t = now();
      p.usage = {
        hourWindow: Math.floor(t / 3_600_000),
        hour: usage.hour ?? p.usage.hour,
        dayWindow: dateIn(t, p.timeZone),
        day: usage.day ?? p.usage.day,
      };
    },
    today: (id) => todayOf(property(id)),
    close: () => server.close(),
  };
}

function readNames(list: unknown, field: string): string[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list))
    throw new ApiFailure(400, 'INVALID_ARGUMENT', `${field} must be a list.`);
  return list.map((item, i) => {
    const name = (item as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || name === '')
      throw new ApiFailure(400, 'INVALID_ARGUMENT', `${field}[${i}].name is required.`);
    return name;
  });
}

function metricValue(
  spec: { type: FakeGa4MetricType; scale: number },
  seed: number,
  key: string,
  metric: string,
  revision: number,
): string {
  const r = random01(seed, key, metric, revision);
  const scale = spec.scale;
  switch (spec.type) {
    case 'TYPE_INTEGER':
      return String(Math.floor(r * scale));
    case 'TYPE_CURRENCY':
      return (Math.round(r * scale * 100) / 100).toString();
    default:
      return String(Math.round(r * scale * 1e6) / 1e6);
  }
}

function malform(payload: Record<string, unknown>): Record<string, unknown> {
  const rows = payload.rows as
    { dimensionValues: unknown[]; metricValues: unknown[] }[] | undefined;
  if (rows && rows.length > 0) {
    const copy = [...rows];
    copy[0] = {
      dimensionValues: rows[0]!.dimensionValues,
      metricValues: [{ value: 'not-a-number' }, ...rows[0]!.metricValues.slice(1)],
    };
    return { ...payload, rows: copy };
  }
  const { metricHeaders: _m, ...rest } = payload;
  return rest;
}

// The REST transport sends enums as numbers (`$alt=json;enum-encoding=int`); accept both forms.
const MATCH_TYPES = [
  'MATCH_TYPE_UNSPECIFIED',
  'EXACT',
  'BEGINS_WITH',
  'ENDS_WITH',
  'CONTAINS',
  'FULL_REGEXP',
  'PARTIAL_REGEXP',
];
const NUMERIC_OPERATIONS = [
  'OPERATION_UNSPECIFIED',
  'EQUAL',
  'LESS_THAN',
  'LESS_THAN_OR_EQUAL',
  'GREATER_THAN',
  'GREATER_THAN_OR_EQUAL',
];
const ORDER_TYPES = [
  'ORDER_TYPE_UNSPECIFIED',
  'ALPHANUMERIC',
  'CASE_INSENSITIVE_ALPHANUMERIC',
  'NUMERIC',
];
const METRIC_TYPE_NUMBERS: Record<FakeGa4MetricType, number> = {
  TYPE_INTEGER: 1,
  TYPE_FLOAT: 2,
  TYPE_SECONDS: 4,
  TYPE_MILLISECONDS: 5,
  TYPE_STANDARD: 8,
  TYPE_CURRENCY: 9,
};

function enumName(
  value: string | number | undefined,
  names: readonly string[],
): string | undefined {
  return typeof value === 'number' ? names[value] : value;
}

type Predicate = (values: Record<string, string>) => boolean;

/** Compiles a GA4 `FilterExpression`; malformed expressions are 400s naming the path. */
function compileFilter(
  expr: unknown,
  path: string,
  fields: Set<string>,
  kind: 'dimension' | 'metric',
): Predicate {
  if (expr === null || typeof expr !== 'object' || Array.isArray(expr))
    throw new ApiFailure(400, 'INVALID_ARGUMENT', `${path} must be a FilterExpression object.`);
  const e = expr as Record<string, unknown>;
  const keys = Object.keys(e).filter((k) => e[k] !== undefined && e[k] !== null);
  if (keys.length !== 1)
    throw new ApiFailure(
      400,
      'INVALID_ARGUMENT',
      `${path} must set exactly one of andGroup, orGroup, notExpression, filter.`,
    );
  const key = keys[0]!;
  if (key === 'andGroup' || key === 'orGroup') {
    const list = (e[key] as { expressions?: unknown }).expressions;
    if (!Array.isArray(list))
      throw new ApiFailure(400, 'INVALID_ARGUMENT', `${path}.${key}.expressions must be a list.`);
    const parts = list.map((x, i) =>
      compileFilter(x, `${path}.${key}.expressions[${i}]`, fields, kind),
    );
    return key === 'andGroup' ? (v) => parts.every((p) => p(v)) : (v) => parts.some((p) => p(v));
  }
  if (key === 'notExpression') {
    const inner = compileFilter(e.notExpression, `${path}.notExpression`, fields, kind);
    return (v) => !inner(v);
  }
  if (key !== 'filter')
    throw new ApiFailure(
      400,
      'INVALID_ARGUMENT',
      `${path}.${key} is not a FilterExpression field.`,
    );
  const f = e.filter as Record<string, unknown>;
  const fieldName = f.fieldName;
  if (typeof fieldName !== 'string' || !fields.has(fieldName)) {
    throw new ApiFailure(
      400,
      'INVALID_ARGUMENT',
      `${path}.filter.fieldName ${JSON.stringify(fieldName)} is not a ${kind} of the request.`,
    );
  }
  if (f.stringFilter) {
    const s = f.stringFilter as {
      matchType?: string | number;
      value?: string;
      caseSensitive?: boolean;
    };
    const cs = s.caseSensitive === true;
    const want = cs ? String(s.value ?? '') : String(s.value ?? '').toLowerCase();
    const type = enumName(s.matchType, MATCH_TYPES) ?? 'EXACT';
    return (v) => {
      const raw = v[fieldName] ?? '';
      const got = cs ? raw : raw.toLowerCase();
      switch (type) {
        case 'EXACT':
          return got === want;
        case 'BEGINS_WITH':
          return got.startsWith(want);
        case 'ENDS_WITH':
          return got.endsWith(want);
        case 'CONTAINS':
          return got.includes(want);
        case 'FULL_REGEXP':
          return new RegExp(`^(?:${String(s.value)})$`, cs ? '' : 'i').test(raw);
        case 'PARTIAL_REGEXP':
          return new RegExp(String(s.value), cs ? '' : 'i').test(raw);
        default:
          return false;
      }
    };
  }
  if (f.inListFilter) {
    const l = f.inListFilter as { values?: string[]; caseSensitive?: boolean };
    const cs = l.caseSensitive === true;
    const set = new Set((l.values ?? []).map((x) => (cs ? x : x.toLowerCase())));
    return (v) => set.has(cs ? (v[fieldName] ?? '') : (v[fieldName] ?? '').toLowerCase());
  }
  const num = (x: unknown) => {
    const n = x as { int64Value?: string; doubleValue?: number } | undefined;
    return n?.int64Value !== undefined ? Number(n.int64Value) : Number(n?.doubleValue ?? 0);
  };
  if (f.numericFilter) {
    const n = f.numericFilter as { operation?: string | number; value?: unknown };
    const operation = enumName(n.operation, NUMERIC_OPERATIONS);
    const want = num(n.value);
    return (v) => {
      const got = Number(v[fieldName]);
      switch (operation) {
        case 'EQUAL':
          return got === want;
        case 'LESS_THAN':
          return got < want;
        case 'LESS_THAN_OR_EQUAL':
          return got <= want;
        case 'GREATER_THAN':
          return got > want;
        case 'GREATER_THAN_OR_EQUAL':
          return got >= want;
        default:
          return false;
      }
    };
  }
  if (f.betweenFilter) {
    const b = f.betweenFilter as { fromValue?: unknown; toValue?: unknown };
    const lo = num(b.fromValue);
    const hi = num(b.toValue);
    return (v) => Number(v[fieldName]) >= lo && Number(v[fieldName]) <= hi;
  }
  if (f.emptyFilter) return (v) => (v[fieldName] ?? '') === '';
  throw new ApiFailure(
    400,
    'INVALID_ARGUMENT',
    `${path}.filter needs one of stringFilter, inListFilter, numericFilter, betweenFilter, emptyFilter.`,
  );
}

/** Builds a comparator over positions in `indices`, with each row's sort key computed once. */
function orderComparator(
  o: Record<string, unknown>,
  k: number,
  dims: string[],
  mets: string[],
  indices: readonly number[],
  rowAt: (i: number) => { values: string[]; metrics: string[] },
): (a: number, b: number) => number {
  const desc = o.desc === true ? -1 : 1;
  if (o.metric) {
    const name = (o.metric as { metricName?: string }).metricName ?? '';
    const idx = mets.indexOf(name);
    if (idx < 0)
      throw new ApiFailure(
        400,
        'INVALID_ARGUMENT',
        `orderBys[${k}].metric.metricName ${JSON.stringify(name)} is not a metric of the request.`,
      );
    const keys = indices.map((i) => Number(rowAt(i).metrics[idx]));
    return (a, b) => desc * (keys[a]! - keys[b]!);
  }
  if (o.dimension) {
    const d = o.dimension as { dimensionName?: string; orderType?: string | number };
    const orderType = enumName(d.orderType, ORDER_TYPES);
    const idx = dims.indexOf(d.dimensionName ?? '');
    if (idx < 0)
      throw new ApiFailure(
        400,
        'INVALID_ARGUMENT',
        `orderBys[${k}].dimension.dimensionName ${JSON.stringify(d.dimensionName)} is not a dimension of the request.`,
      );
    if (orderType === 'NUMERIC') {
      const keys = indices.map((i) => Number(rowAt(i).values[idx]));
      return (a, b) => desc * (keys[a]! - keys[b]!);
    }
    const ci = orderType === 'CASE_INSENSITIVE_ALPHANUMERIC';
    const keys = indices.map((i) =>
      ci ? rowAt(i).values[idx]!.toLowerCase() : rowAt(i).values[idx]!,
    );
    return (a, b) => desc * (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0);
  }
  throw new ApiFailure(400, 'INVALID_ARGUMENT', `orderBys[${k}] must set metric or dimension.`);
}
