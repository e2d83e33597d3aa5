import type { BetaAnalyticsDataClient } from '@google-analytics/data';
import {
  FatalError,
  RetryableError,
  abortable,
  retryWithBackoff,
  type CheckResult,
  type DiscoveredStream,
  type JsonValue,
  type Page,
  type PluginContext,
  type ReadRequest,
} from '@sluice/core';
import { createAddressPolicy, preflightUrl } from '@sluice/core/net';
import { createGa4Client } from './client.js';
import type { Ga4Config } from './config.js';
import { createPreviousDayComparer } from './compare.js';
import { convertReportRows, type ReportResponse } from './convert.js';
import {
  addDays,
  isGa4Date,
  msUntilMidnight,
  msUntilNextHour,
  resolveGa4Date,
  todayIn,
} from './dates.js';
import { mapGa4Error } from './errors.js';

/** The checkpoint: every date up to and including `lastFinalDate` was read after GA4 finalised it. */
export interface Ga4State {
  lastFinalDate: string;
}

type RunReportRequest = NonNullable<Parameters<BetaAnalyticsDataClient['runReport']>[0]>;

/** The quota windows GA4 reports, with the wait until each refills. */
const QUOTA_WINDOWS = ['tokensPerHour', 'tokensPerDay', 'tokensPerProjectPerHour'] as const;

/**
 * Creates a connector instance with the Data API client its config describes: what
 * `ga4Connector.create(config, ctx)` runs once it has imported this module.
 *
 * @example
 * ```ts
 * const instance = createGa4Connector(parseConfig(ga4ConfigSchema, raw), createPluginContext());
 * ```
 */
export function createGa4Connector(config: Ga4Config, ctx: PluginContext) {
  return createGa4Instance(config, ctx, createGa4Client(config));
}

/**
 * Creates a connector instance around an existing `BetaAnalyticsDataClient` (for embedding with
 * a client you configured yourself). Most users call `ga4Connector.create(config, ctx)`.
 *
 * @example
 * ```ts
 * const instance = createGa4Instance(config, createPluginContext(), new BetaAnalyticsDataClient());
 * ```
 */
export function createGa4Instance(
  config: Ga4Config,
  ctx: PluginContext,
  client: BetaAnalyticsDataClient,
) {
  const property = `properties/${config.propertyId}`;
  const labels = { property: config.propertyId };
  const rowsRead = ctx.metrics.counter({
    name: 'ga4_rows_total',
    help: 'Rows read from GA4 reports',
    labelNames: ['property'],
  });
  const retries = ctx.metrics.counter({
    name: 'ga4_retries_total',
    help: 'GA4 requests retried after a transient failure',
    labelNames: ['property'],
  });
  const quotaRemaining = ctx.metrics.gauge({
    name: 'ga4_quota_tokens_remaining',
    help: 'GA4 property quota tokens left, per window',
    labelNames: ['property', 'window'],
  });
  const quotaConsumed = ctx.metrics.counter({
    name: 'ga4_quota_tokens_consumed_total',
    help: 'GA4 property quota tokens consumed',
    labelNames: ['property'],
  });
  const logger = ctx.logger.child({ connector: 'ga4', property: config.propertyId });
  let timeZone = config.timeZone;
  const hasDate = config.dimensions.includes('date');

  // The Google SDK opens its own connections and takes no lookup or agent: a configured
  // apiEndpoint is resolved and checked against the ssrf policy right before every call.
  const policy = createAddressPolicy(config.ssrf);
  const guardEndpoint = (): Promise<void> =>
    config.apiEndpoint === undefined
      ? Promise.resolve()
      : preflightUrl(policy, config.apiEndpoint, 'apiEndpoint');

  const mapError = (what: string) => (error: unknown) =>
    mapGa4Error(error, what, {
      now: ctx.clock.now(),
      timeZone: timeZone ?? 'UTC',
      propertyId: config.propertyId,
    });

  // The SDK's own deadline (REST transport) arms an `AbortSignal.timeout` whose listener keeps
  // the whole response alive until the deadline passes, even after the call finished: at a few
  // pages a second that held every row of a large report in memory. So the SDK gets no deadline
  // (`timeout: Infinity`) and the connector enforces `requestTimeoutMs` with a timer it clears.
  const runReport = (request: Record<string, unknown>): Promise<unknown> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RetryableError(
              `GA4 did not answer within ${config.requestTimeoutMs} ms (property ${config.propertyId})`,
            ),
          ),
        config.requestTimeoutMs,
      );
    });
    const pending = guardEndpoint().then(() =>
      client.runReport(request as RunReportRequest, { timeout: Number.POSITIVE_INFINITY }),
    );
    pending.catch(() => undefined);
    return Promise.race([pending, timedOut]).finally(() => clearTimeout(timer));
  };

  const call = async (
    request: Record<string, unknown>,
    signal: AbortSignal,
    what: string,
  ): Promise<ReportResponse> => {
    const [response] = (await retryWithBackoff(() => runReport(request), {
      ...config.retry,
      clock: ctx.clock,
      signal,
      mapError: mapError(what),
      onRetry: (error, attempt, waitMs) => {
        retries.inc(labels);
        logger.warn({ attempt, waitMs, err: error.message }, 'retrying GA4 request');
      },
    })) as [unknown];
    return response as ReportResponse;
  };

  /** The property's time zone, learned from the smallest possible report when not configured. */
  const resolveTimeZone = async (signal: AbortSignal): Promise<string> => {
    if (timeZone) return timeZone;
    const response = await call(
      {
        property,
        metrics: [{ name: config.metrics[0] }],
        dateRanges: [{ startDate: 'today', endDate: 'today' }],
        limit: 1,
      },
      signal,
      'looking up the property time zone',
    );
    const zone = response.metadata?.timeZone;
    if (!zone)
      throw new FatalError(
        'GA4 returned no time zone (field "metadata.timeZone", page 0): set timeZone in the config',
        { details: { field: 'metadata.timeZone', page: 0 } },
      );
    timeZone = zone;
    return zone;
  };

  /** Reports quota and decides whether to pause, or to stop until a window refills. */
  const respectQuota = async (response: ReportResponse, signal: AbortSignal): Promise<void> => {
    const quota = response.propertyQuota;
    if (!quota) return;
    let pause = false;
    for (const window of QUOTA_WINDOWS) {
      const status = quota[window];
      if (!status) continue;
      const remaining = Number(status.remaining ?? 0);
      const consumed = Number(status.consumed ?? 0);
      quotaRemaining.set({ ...labels, window }, remaining);
      if (window === 'tokensPerHour') quotaConsumed.inc(labels, consumed);
      if (remaining < config.quota.stopBelowTokens) {
        const now = ctx.clock.now();
        const retryAfterMs =
          window === 'tokensPerDay'
            ? msUntilMidnight(now, timeZone ?? 'UTC')
            : msUntilNextHour(now);
        throw new RetryableError(
          `GA4 property ${config.propertyId} has ${remaining} ${window} tokens left (below quota.stopBelowTokens ${config.quota.stopBelowTokens}): stopping until the window refills`,
          { retryAfterMs, details: { window, remaining } },
        );
      }
      if (remaining < config.quota.slowDownBelowTokens) pause = true;
    }
    if (pause && config.quota.pauseMs > 0) {
      logger.info(
        { pauseMs: config.quota.pauseMs },
        'GA4 quota running low: pausing between requests',
      );
      await ctx.clock.sleep(config.quota.pauseMs, signal);
    }
  };

  const reportRequest = (startDate: string, endDate: string) => {
    const orderBys: unknown[] = [...config.orderBys];
    const first = config.orderBys[0];
    // Date-first ordering lets every page commit "all dates before the last one seen are done".
    const dateFirst =
      first && 'dimension' in first && first.dimension.dimensionName === 'date' && !first.desc;
    if (hasDate && !dateFirst)
      orderBys.unshift({ dimension: { dimensionName: 'date', orderType: 'ALPHANUMERIC' } });
    return {
      property,
      dimensions: config.dimensions.map((name) => ({ name })),
      metrics: config.metrics.map((name) => ({ name })),
      dateRanges: [{ startDate, endDate }],
      ...(config.dimensionFilter === undefined ? {} : { dimensionFilter: config.dimensionFilter }),
      ...(config.metricFilter === undefined ? {} : { metricFilter: config.metricFilter }),
      ...(orderBys.length > 0 ? { orderBys } : {}),
      ...(config.keepEmptyRows ? { keepEmptyRows: true } : {}),
      returnPropertyQuota: true,
    } as RunReportRequest;
  };

  async function* readPages(request: ReadRequest, signal: AbortSignal): AsyncGenerator<Page> {
    const zone = await resolveTimeZone(signal);
    const today = todayIn(ctx.clock.now(), zone);
    const lastFinal = addDays(today, -config.restateDays - 1);
    const params = request.params ?? {};
    const dateParam = (name: 'from' | 'to'): string | undefined => {
      const value = params[name];
      if (value === undefined) return undefined;
      if (typeof value !== 'string' || !isGa4Date(value))
        throw new FatalError(
          `params.${name} must be YYYY-MM-DD, today, yesterday or NdaysAgo, got ${JSON.stringify(value)}`,
          { details: { field: `params.${name}` } },
        );
      return value;
    };
    const backfillFrom = dateParam('from');
    const endDate = resolveGa4Date(dateParam('to') ?? config.dateRange.endDate, today);
    let startDate = resolveGa4Date(backfillFrom ?? config.dateRange.startDate, today);
    let committed: string | undefined;
    if (
      hasDate &&
      backfillFrom === undefined &&
      request.state !== undefined &&
      request.state !== null
    ) {
      committed = readState(request.state);
      const restart = addDays(committed, 1);
      const windowStart = addDays(today, -config.restateDays);
      startDate = restart < windowStart ? restart : windowStart;
    }
    if (startDate > endDate) {
      logger.debug({ startDate, endDate }, 'nothing to read');
      return;
    }
    // Day-on-day comparison reads one day more, before the first wanted date.
    const compare =
      config.compareWith === 'previousDay'
        ? createPreviousDayComparer(config.dimensions, config.metrics)
        : undefined;
    const base = reportRequest(compare ? addDays(startDate, -1) : startDate, endDate);
    let offset = 0;
    for (let page = 1; ; page++) {
      signal.throwIfAborted();
      const what = `reading page ${page} (offset ${offset}) of ${startDate}..${endDate}`;
      const response = await call({ ...base, offset, limit: config.pageSize }, signal, what);
      const rowCount = Number(response.rowCount ?? 0);
      if (!Number.isInteger(rowCount) || rowCount < 0) {
        throw new FatalError(
          `GA4 returned a malformed report: field "rowCount" (page ${page}, offset ${offset}): expected a count, got ${JSON.stringify(response.rowCount)}`,
          { details: { field: 'rowCount', page, offset } },
        );
      }
      const rows = convertReportRows(response, config.dimensions, config.metrics, { page, offset });
      for (const record of rows) {
        const date = hasDate ? record.date : endDate;
        record._final = typeof date === 'string' && date <= lastFinal;
      }
      offset += rows.length;
      const done = rows.length === 0 || offset >= rowCount;
      const records = compare ? compare(rows, startDate) : rows;
      let state: Ga4State | undefined;
      if (hasDate) {
        const lastDate = records.at(-1)?.date;
        const completeThrough = done
          ? endDate
          : typeof lastDate === 'string'
            ? addDays(lastDate, -1)
            : undefined;
        const candidate =
          completeThrough === undefined
            ? undefined
            : completeThrough < lastFinal
              ? completeThrough
              : lastFinal;
        if (
          candidate !== undefined &&
          candidate >= addDays(startDate, -1) &&
          (committed === undefined || candidate > committed)
        )
          state = { lastFinalDate: candidate };
      }
      rowsRead.inc(labels, records.length);
      if (records.length > 0 || state !== undefined) {
        yield state === undefined ? { records } : { records, state: state as unknown as JsonValue };
        if (state) committed = state.lastFinalDate;
      }
      if (done) return;
      signal.throwIfAborted();
      await respectQuota(response, signal);
    }
  }

  const withCheckTimeout = <T>(promise: Promise<T>) =>
    abortable(promise, AbortSignal.any([ctx.signal, AbortSignal.timeout(config.checkTimeoutMs)]));

  return {
    read(request: ReadRequest, signal: AbortSignal): AsyncIterable<Page> {
      return readPages(request, AbortSignal.any([signal, ctx.signal]));
    },

    async check(): Promise<CheckResult> {
      const once = { ...config.retry, maxAttempts: 1 };
      try {
        const [response] = (await withCheckTimeout(
          retryWithBackoff(
            async () => {
              await guardEndpoint();
              return client.runReport({ ...reportRequest('yesterday', 'today'), limit: 1 });
            },
            {
              ...once,
              clock: ctx.clock,
              signal: ctx.signal,
              mapError: mapError('running a one-row test report'),
            },
          ),
        )) as unknown as [ReportResponse];
        const zone = response.metadata?.timeZone ?? undefined;
        if (!timeZone && zone) timeZone = zone;
        const hour = response.propertyQuota?.tokensPerHour?.remaining;
        return {
          ok: true,
          message: `Property ${config.propertyId} is readable with these credentials; the report's dimensions, metrics and filters are valid${hour == null ? '' : ` (${hour} quota tokens left this hour)`}.`,
          details: {
            timeZone: zone ?? null,
            currencyCode: response.metadata?.currencyCode ?? null,
            ...(hour == null ? {} : { tokensPerHourRemaining: Number(hour) }),
          },
        };
      } catch (err) {
        const error =
          err instanceof DOMException && err.name === 'TimeoutError'
            ? new FatalError(
                `GA4 did not answer within ${config.checkTimeoutMs} ms (check apiEndpoint and network access to analyticsdata.googleapis.com)`,
              )
            : mapGa4Error(err, 'running a one-row test report', {
                now: ctx.clock.now(),
                timeZone: timeZone ?? 'UTC',
                propertyId: config.propertyId,
              });
        return { ok: false, message: error.message, details: { code: error.code } };
      }
    },

    async discover(): Promise<DiscoveredStream[]> {
      let metadata: {
        dimensions?: { apiName?: string | null; description?: string | null }[] | null;
        metrics?: { apiName?: string | null; type?: unknown; description?: string | null }[] | null;
      };
      try {
        await guardEndpoint();
        [metadata] = (await withCheckTimeout(
          client.getMetadata({ name: `${property}/metadata` }),
        )) as unknown as [typeof metadata];
      } catch (err) {
        throw mapGa4Error(err, 'reading the property metadata', {
          now: ctx.clock.now(),
          timeZone: timeZone ?? 'UTC',
          propertyId: config.propertyId,
        });
      }
      const dims = new Map((metadata.dimensions ?? []).map((d) => [d.apiName ?? '', d]));
      const mets = new Map((metadata.metrics ?? []).map((m) => [m.apiName ?? '', m]));
      const describe = (d: { description?: string | null } | undefined) =>
        d?.description ? { description: d.description } : {};
      const report = {
        name: config.stream,
        fields: [
          ...config.dimensions.map((name) => ({
            name,
            type: 'STRING',
            nullable: false,
            ...describe(dims.get(name)),
          })),
          ...config.metrics.map((name) => ({
            name,
            type: String(mets.get(name)?.type ?? 'TYPE_FLOAT'),
            nullable: false,
            ...describe(mets.get(name)),
          })),
          {
            name: '_final',
            type: 'BOOLEAN',
            nullable: false,
            description:
              'false while the date is inside the restatement window and GA4 may still change it',
          },
          ...(config.compareWith === 'previousDay'
            ? [
                ...config.metrics.flatMap((name) => [
                  {
                    name: `${name}_previous`,
                    type: String(mets.get(name)?.type ?? 'TYPE_FLOAT'),
                    nullable: true,
                    description: `${name} on the previous day`,
                  },
                  {
                    name: `${name}_change`,
                    type: 'TYPE_FLOAT',
                    nullable: true,
                    description: `relative change of ${name} from the previous day ((now - previous) / previous)`,
                  },
                ]),
                {
                  name: 'change',
                  type: 'TYPE_FLOAT',
                  nullable: true,
                  description: `relative change of ${config.metrics[0]} from the previous day`,
                },
              ]
            : []),
        ],
      };
      const catalog = {
        name: `${config.stream}:available`,
        fields: [
          ...[...dims.values()].map((d) => ({
            name: d.apiName ?? '',
            type: 'STRING',
            ...describe(d),
          })),
          ...[...mets.values()].map((m) => ({
            name: m.apiName ?? '',
            type: String(m.type ?? 'TYPE_FLOAT'),
            ...describe(m),
          })),
        ].filter((f) => f.name !== ''),
      };
      return catalog.fields.length > 0 ? [report, catalog] : [report];
    },

    async close(): Promise<void> {
      await client.close();
    },
  };
}

function readState(state: JsonValue): string {
  const date =
    typeof state === 'object' && state !== null && !Array.isArray(state)
      ? state.lastFinalDate
      : undefined;
  if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
    throw new FatalError(
      `Invalid checkpoint for the GA4 connector: state.lastFinalDate must be a YYYY-MM-DD date, got ${JSON.stringify(state)}`,
      { details: { field: 'state.lastFinalDate' } },
    );
  }
  return date;
}
