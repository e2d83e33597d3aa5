import type { BigQuery, Job, Query } from '@google-cloud/bigquery';
import {
  FatalError,
  abortable,
  readField,
  retryWithBackoff,
  type CheckResult,
  type DiscoveredField,
  type DiscoveredStream,
  type JsonValue,
  type Page,
  type PluginContext,
  type ReadRequest,
  type SluiceRecord,
} from '@sluice/core';
import { createAddressPolicy, preflightUrl } from '@sluice/core/net';
import { createBigQueryClient } from './client.js';
import type { BigQueryConfig } from './config.js';
import { convertRows, type BigQueryField } from './convert.js';
import {
  compareCursor,
  cursorMatchesSchema,
  cursorParam,
  startCursor,
  type BigQueryState,
} from './cursor.js';
import { mapBigQueryError } from './errors.js';

/** BigQuery's on-demand price per TiB scanned (USD), used for the dry-run estimate in `check()`. */
export const ON_DEMAND_USD_PER_TIB = 6.25;

/** Pause between polls while a job is still running (the API itself long-polls, so this is short). */
const POLL_INTERVAL_MS = 200;

/** A page of the SDK: raw rows, the next page's request (or null) and the API response. */
type SdkPage = [
  unknown[],
  (Query & { job?: Job }) | null | undefined,
  QueryApiResponse | undefined,
];

interface QueryApiResponse {
  schema?: { fields?: BigQueryField[] };
  jobComplete?: boolean;
  totalRows?: string;
  totalBytesProcessed?: string;
  jobReference?: { jobId?: string; location?: string };
}

/**
 * Creates a connector instance with the SDK client its config describes: what
 * `bigQueryConnector.create(config, ctx)` runs once it has imported this module.
 *
 * @example
 * ```ts
 * const instance = createBigQueryConnector(parseConfig(bigQueryConfigSchema, raw), createPluginContext());
 * ```
 */
export function createBigQueryConnector(config: BigQueryConfig, ctx: PluginContext) {
  return createBigQueryInstance(config, ctx, createBigQueryClient(config));
}

/**
 * Creates a connector instance around an existing SDK client (for embedding with a client you
 * configured yourself). Most users call `bigQueryConnector.create(config, ctx)` instead.
 *
 * @example
 * ```ts
 * const instance = createBigQueryInstance(config, createPluginContext(), new BigQuery({ projectId }));
 * ```
 */
export function createBigQueryInstance(
  config: BigQueryConfig,
  ctx: PluginContext,
  bigquery: BigQuery,
) {
  const labels = { stream: config.stream };
  const rowsRead = ctx.metrics.counter({
    name: 'bigquery_rows_total',
    help: 'Rows read from BigQuery',
    labelNames: ['stream'],
  });
  const pagesRead = ctx.metrics.counter({
    name: 'bigquery_pages_total',
    help: 'Result pages read from BigQuery',
    labelNames: ['stream'],
  });
  const retries = ctx.metrics.counter({
    name: 'bigquery_retries_total',
    help: 'BigQuery requests retried after a transient failure',
    labelNames: ['stream'],
  });
  const bytesProcessed = ctx.metrics.gauge({
    name: 'bigquery_bytes_processed',
    help: 'Bytes processed by the last query job',
    labelNames: ['stream'],
  });
  const logger = ctx.logger.child({ connector: 'bigquery', stream: config.stream });

  // The Google SDK opens its own connections and takes no lookup or agent: a configured
  // apiEndpoint is resolved and checked against the ssrf policy right before every call.
  const policy = createAddressPolicy(config.ssrf);
  const guardEndpoint = (): Promise<void> =>
    config.apiEndpoint === undefined
      ? Promise.resolve()
      : preflightUrl(policy, config.apiEndpoint, 'apiEndpoint');

  const sdkParams = (cursorValue: string | number | undefined) => {
    const params: Record<string, unknown> = { ...config.params };
    const types: Record<string, string> = { ...config.paramTypes };
    if (config.cursor && cursorValue !== undefined) {
      params[config.cursor.param] = cursorParam(cursorValue, config.cursor.type);
      types[config.cursor.param] = config.cursor.type;
    }
    return {
      ...(Object.keys(params).length > 0 ? { params } : {}),
      ...(Object.keys(types).length > 0 ? { types } : {}),
    };
  };

  const baseQuery = (cursorValue: string | number | undefined): Query => ({
    query: config.query,
    ...sdkParams(cursorValue),
    ...(config.location === undefined ? {} : { location: config.location }),
    ...(config.maximumBytesBilled === undefined
      ? {}
      : { maximumBytesBilled: config.maximumBytesBilled }),
    ...(config.jobTimeoutMs === undefined ? {} : { jobTimeoutMs: config.jobTimeoutMs }),
    ...(config.labels === undefined ? {} : { labels: config.labels }),
  });

  const dryRun = async (): Promise<{ bytes: number; fields: BigQueryField[] }> => {
    const initial = config.cursor
      ? startCursor(undefined, config.cursor.initial, config.cursor.type)
      : undefined;
    await guardEndpoint();
    const [, response] = (await bigquery.createQueryJob({
      ...baseQuery(initial),
      dryRun: true,
    })) as unknown as [
      unknown,
      {
        statistics?: {
          totalBytesProcessed?: string;
          query?: { schema?: { fields?: BigQueryField[] } };
        };
      },
    ];
    return {
      bytes: Number(response?.statistics?.totalBytesProcessed ?? 0),
      fields: response?.statistics?.query?.schema?.fields ?? [],
    };
  };

  const withCheckTimeout = <T>(promise: Promise<T>) =>
    abortable(promise, AbortSignal.any([ctx.signal, AbortSignal.timeout(config.checkTimeoutMs)]));

  return {
    read(request: ReadRequest, signal: AbortSignal): AsyncIterable<Page> {
      return readPages(request, AbortSignal.any([signal, ctx.signal]));
    },

    async check(): Promise<CheckResult> {
      try {
        const { bytes } = await withCheckTimeout(dryRun());
        const tib = bytes / 2 ** 40;
        const usd = Math.round(tib * ON_DEMAND_USD_PER_TIB * 10_000) / 10_000;
        const details = { totalBytesProcessed: String(bytes), estimatedCostUsd: usd };
        if (config.maximumBytesBilled !== undefined && bytes > Number(config.maximumBytesBilled)) {
          return {
            ok: false,
            message: `The query would process ${formatBytes(bytes)}, more than maximumBytesBilled (${formatBytes(Number(config.maximumBytesBilled))}): raise the limit or narrow the query.`,
            details,
          };
        }
        return {
          ok: true,
          message: `Credentials, permissions and query are valid; a run would process ${formatBytes(bytes)} (about $${usd} at on-demand pricing).`,
          details,
        };
      } catch (err) {
        const error = isTimeout(err)
          ? new FatalError(
              `BigQuery did not answer within ${config.checkTimeoutMs} ms (check apiEndpoint and network access to bigquery.googleapis.com)`,
            )
          : mapBigQueryError(err, 'dry-running the query');
        return { ok: false, message: error.message, details: { code: error.code } };
      }
    },

    async discover(): Promise<DiscoveredStream[]> {
      try {
        const { fields } = await withCheckTimeout(dryRun());
        return [{ name: config.stream, fields: flattenFields(fields) }];
      } catch (err) {
        throw mapBigQueryError(err, 'discovering the result schema');
      }
    },
  };

  async function* readPages(request: ReadRequest, signal: AbortSignal): AsyncGenerator<Page> {
    const cursor = config.cursor;
    let startValue: string | number | undefined;
    if (cursor) {
      try {
        startValue = startCursor(request.state, cursor.initial, cursor.type);
      } catch (err) {
        throw new FatalError(
          `Invalid checkpoint for the BigQuery connector: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    const retry = {
      ...config.retry,
      clock: ctx.clock,
      signal,
      onRetry: (error: Error, attempt: number, waitMs: number) => {
        retries.inc(labels);
        logger.warn({ attempt, waitMs, err: error.message }, 'retrying BigQuery request');
      },
    };
    let pageNo = 1;
    let job: Job | undefined;
    let [rows, next, response] = (await retryWithBackoff(
      async () => {
        await guardEndpoint();
        return bigquery.query(
          { ...baseQuery(startValue), maxResults: config.pageSize, skipParsing: true },
          { autoPaginate: false, maxResults: config.pageSize },
        ) as Promise<unknown>;
      },
      { ...retry, mapError: (e) => mapBigQueryError(e, 'starting the query') },
    )) as SdkPage;
    let fields: BigQueryField[] | undefined;
    const tracker = cursor ? new CursorTracker(cursor.column, cursor.type) : undefined;
    let committed: JsonValue | undefined = request.state;
    try {
      for (;;) {
        job = next?.job ?? job;
        if (response?.schema?.fields) fields = response.schema.fields;
        if (response?.totalBytesProcessed)
          bytesProcessed.set(labels, Number(response.totalBytesProcessed));
        const finished = !next;
        let records: SluiceRecord[] = [];
        if (rows && rows.length > 0) {
          if (!fields)
            throw new FatalError(
              `BigQuery returned rows without a schema (field "schema.fields", page ${pageNo})`,
              { details: { field: 'schema.fields', page: pageNo } },
            );
          if (!Array.isArray(rows))
            throw new FatalError(
              `BigQuery returned a malformed page (field "rows", page ${pageNo}): expected a list`,
              { details: { field: 'rows', page: pageNo } },
            );
          records = convertRows(fields, rows, pageNo);
          if (tracker) tracker.check(fields);
        }
        let state: BigQueryState | undefined;
        if (tracker) {
          for (let i = 0; i < records.length; i++) tracker.see(records[i]!, i, pageNo);
          const safe = finished ? tracker.last : tracker.safe;
          if (
            safe !== undefined &&
            (committed === undefined ||
              JSON.stringify(committed) !== JSON.stringify({ cursor: safe }))
          ) {
            state = { cursor: safe };
          }
        }
        if (records.length > 0 || state !== undefined) {
          rowsRead.inc(labels, records.length);
          pagesRead.inc(labels);
          signal.throwIfAborted();
          yield state === undefined
            ? { records }
            : { records, state: state as unknown as JsonValue };
          if (state !== undefined) committed = state as unknown as JsonValue;
        }
        if (finished) return;
        signal.throwIfAborted();
        if (response?.jobComplete === false) await ctx.clock.sleep(POLL_INTERVAL_MS, signal);
        else pageNo += 1;
        const nextRequest = next!;
        [rows, next, response] = (await retryWithBackoff(
          async () => {
            await guardEndpoint();
            return nextRequest.job!.getQueryResults({
              ...nextRequest,
              autoPaginate: false,
              skipParsing: true,
              maxResults: config.pageSize,
            } as never) as Promise<unknown>;
          },
          { ...retry, mapError: (e) => mapBigQueryError(e, `reading page ${pageNo}`) },
        )) as SdkPage;
      }
    } finally {
      // Stopped early (abort, error, consumer break): the job's remaining work is wasted money.
      if (signal.aborted && job)
        job
          .cancel()
          .catch((err: unknown) => logger.debug({ err }, 'could not cancel the BigQuery job'));
    }
  }
}

/**
 * Follows the cursor column through the pages. `safe` is the highest value below the latest
 * one seen: every row up to it has been delivered, even when rows sharing the latest value
 * continue on the next page, so a resume with `> @cursor` loses nothing.
 */
class CursorTracker {
  last: string | number | undefined;
  safe: string | number | undefined;
  #checked = false;

  // The column in BigQuery's own notation (`a.b` is field b of STRUCT column a), read from each
  // record with core's field reader (own properties only).
  readonly #path: readonly string[];

  constructor(
    readonly column: string,
    readonly type: NonNullable<BigQueryConfig['cursor']>['type'],
  ) {
    this.#path = column.split('.');
  }

  check(fields: readonly BigQueryField[]): void {
    if (this.#checked) return;
    const path = this.#path;
    let list: readonly BigQueryField[] | null | undefined = fields;
    let field: BigQueryField | undefined;
    for (const name of path) {
      field = list?.find((f) => f.name === name);
      list = field?.fields;
    }
    if (!field) {
      throw new FatalError(
        `cursor.column "${this.column}" is not a column of the query result (columns: ${fields.map((f) => f.name).join(', ')})`,
        { details: { field: 'cursor.column' } },
      );
    }
    if (!cursorMatchesSchema(this.type, field.type)) {
      throw new FatalError(
        `cursor.type is ${this.type}, but column "${this.column}" is ${field.type}: set cursor.type to match`,
        { details: { field: 'cursor.type' } },
      );
    }
    this.#checked = true;
  }

  see(record: SluiceRecord, row: number, page: number): void {
    const value = readField(record, this.#path);
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new FatalError(
        `cursor column "${this.column}" is ${JSON.stringify(value ?? null)} in row ${row} of page ${page}: an incremental query must exclude NULL cursors (add "AND ${this.column} IS NOT NULL")`,
        { details: { field: this.column, page, row } },
      );
    }
    if (this.type === 'FLOAT64' && typeof value === 'string') {
      throw new FatalError(
        `cursor column "${this.column}" is ${value} in row ${row} of page ${page}: NaN/Infinity cannot be a cursor`,
        { details: { field: this.column, page, row } },
      );
    }
    if (this.last !== undefined) {
      const c = compareCursor(value, this.last, this.type);
      if (c < 0) {
        throw new FatalError(
          `rows are not ordered by the cursor column "${this.column}" (row ${row} of page ${page} has ${JSON.stringify(value)} after ${JSON.stringify(this.last)}): add "ORDER BY ${this.column}" to the query`,
          { details: { field: this.column, page, row } },
        );
      }
      if (c > 0) this.safe = this.last;
    }
    if (this.last === undefined || compareCursor(value, this.last, this.type) > 0)
      this.last = value;
  }
}

function flattenFields(fields: readonly BigQueryField[], prefix = ''): DiscoveredField[] {
  const out: DiscoveredField[] = [];
  for (const field of fields) {
    const name = prefix === '' ? field.name : `${prefix}.${field.name}`;
    const repeated = field.mode === 'REPEATED';
    out.push({
      name,
      type: repeated ? `ARRAY<${field.type}>` : field.type,
      nullable: field.mode !== 'REQUIRED' && !repeated,
      ...((field as { description?: string }).description
        ? { description: (field as { description?: string }).description! }
        : {}),
    });
    if (field.fields && field.fields.length > 0) out.push(...flattenFields(field.fields, name));
  }
  return out;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(2)} ${units[unit]}`;
}

function isTimeout(err: unknown): boolean {
  return err instanceof DOMException && err.name === 'TimeoutError';
}
