/**
 * A wire-compatible fake of the BigQuery v2 REST API (`jobs.query`, `jobs.getQueryResults`,
 * `jobs.insert` including dry runs, `jobs.get`, `jobs.cancel`, `tables.get`), driven through the
 * official `@google-cloud/bigquery` SDK. Tables are generated lazily from a seed, so a
 * 100,000-row table costs no memory until read; queries use a small SQL subset
 * (`SELECT cols FROM table [WHERE col op @param AND ...] [ORDER BY col [DESC], ...] [LIMIT n]`).
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import {
  FaultQueue,
  bearerToken,
  delay,
  googleError,
  hash32,
  random01,
  readJsonBody,
  sendJson,
  startLoopbackServer,
  type FakeFault,
  type FakeFaultHandle,
  type FakeRequestLogEntry,
} from './bigquery-ga4-http.js';

/** A column of a fake table, in the API's schema shape. */
export interface FakeBigQueryField {
  name: string;
  /** `STRING`, `INT64`, `FLOAT64`, `NUMERIC`, `BIGNUMERIC`, `BOOL`, `BYTES`, `TIMESTAMP`, `DATE`, `DATETIME`, `TIME`, `GEOGRAPHY`, `JSON`, `RECORD`, ... */
  type: string;
  mode?: 'NULLABLE' | 'REQUIRED' | 'REPEATED';
  fields?: FakeBigQueryField[];
}

/**
 * A value as it travels on the wire before the `{f:[{v}]}` wrapping: scalars are strings
 * (TIMESTAMP as integer microseconds, BYTES as base64), REPEATED columns are arrays and
 * RECORD columns are objects keyed by sub-field name.
 */
export type FakeBigQueryValue =
  string | null | FakeBigQueryValue[] | { [name: string]: FakeBigQueryValue };

/** One row, keyed by column name. */
export type FakeBigQueryRow = Record<string, FakeBigQueryValue>;

/**
 * A table whose rows are produced on demand: `row(i)` must be deterministic.
 *
 * @example
 * ```ts
 * const table: FakeBigQueryTableSource = {
 *   schema: [{ name: 'id', type: 'INT64' }],
 *   rowCount: 3,
 *   row: (i) => ({ id: String(i + 1) }),
 * };
 * ```
 */
export interface FakeBigQueryTableSource {
  schema: FakeBigQueryField[];
  rowCount: number;
  row(index: number): FakeBigQueryRow;
  /** Bytes a full scan "processes" per row, for dry-run estimates and `maximumBytesBilled` (default 200). */
  bytesPerRow?: number;
}

/** Options of {@link startFakeBigQuery}. */
export interface FakeBigQueryOptions {
  /** Project the fake serves (default `fake-project`); other projects answer 404. */
  projectId?: string;
  /** Tables keyed `dataset.table` (default: `analytics.events` = {@link generateEventsTable}()). */
  tables?: Record<string, FakeBigQueryTableSource>;
  /** Access tokens the fake accepts (default: any non-empty bearer token). */
  accessTokens?: string[];
  /** Rows per page when the request sets no `maxResults` (default 10,000). */
  defaultPageSize?: number;
  /** How many polls a new query job stays `jobComplete: false` before finishing (default 0). */
  pendingPolls?: number;
  /** Location reported for jobs when the request names none (default `US`). */
  defaultLocation?: string;
}

/** A running fake BigQuery server. */
export interface FakeBigQuery {
  /** Base URL, e.g. `http://127.0.0.1:40123`: pass it as the SDK's `apiEndpoint`. */
  readonly url: string;
  readonly port: number;
  readonly projectId: string;
  /** Every request received, in order. */
  readonly requests: FakeRequestLogEntry[];
  /** Makes the next matching request(s) fail or slow down. Operations: `query`, `getQueryResults`, `insertJob`, `getJob`, `cancelJob`, `getTable`. */
  inject(fault: FakeFault): FakeFaultHandle;
  /** Removes every injected fault. */
  clearFaults(): void;
  /** Replaces (or adds) a table. */
  setTable(name: string, table: FakeBigQueryTableSource): void;
  /** Overwrites columns of existing rows (by index in the generated table). */
  updateRows(name: string, updates: readonly { index: number; values: FakeBigQueryRow }[]): void;
  /** Appends rows after the generated ones. */
  appendRows(name: string, rows: readonly FakeBigQueryRow[]): void;
  /** Current number of rows of a table. */
  rowCount(name: string): number;
  /** The current row `index` of a table (with updates applied). */
  row(name: string, index: number): FakeBigQueryRow;
  /** Sets how many polls new jobs stay incomplete. */
  setPendingPolls(polls: number): void;
  /** IDs of jobs cancelled through `jobs.cancel`. */
  readonly cancelledJobs: string[];
  close(): Promise<void>;
}

interface TableState {
  source: FakeBigQueryTableSource;
  updates: Map<number, FakeBigQueryRow>;
  appended: FakeBigQueryRow[];
}

interface JobState {
  id: string;
  projectId: string;
  location: string;
  table: TableState;
  fields: FakeBigQueryField[];
  indices: Uint32Array;
  pendingPolls: number;
  bytes: number;
  configuration: unknown;
  created: number;
}

interface Condition {
  column: string;
  op: '=' | '!=' | '<' | '<=' | '>' | '>=';
  param?: string;
  literal?: string;
}

interface ParsedQuery {
  columns: string[] | '*';
  table: string;
  where: Condition[];
  order: { column: string; desc: boolean }[];
  limit?: number;
}

class QueryError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_JOBS = 64;
const ROW_LIMIT_PER_PAGE = 100_000;

/**
 * The default data set: an `events` table with one column of every BigQuery type, generated
 * from `seed`. Rows are ordered by `id`; `updated_at` advances one second every three rows (so
 * cursors see ties), `huge` exceeds 2^53 on every 10th row, `score` is NaN/±Infinity on some rows.
 *
 * @example
 * ```ts
 * const fake = await startFakeBigQuery({ tables: { 'shop.events': generateEventsTable({ rows: 2500, seed: 7 }) } });
 * ```
 */
export function generateEventsTable(
  options: { rows?: number; seed?: number; startMs?: number } = {},
): FakeBigQueryTableSource {
  const rows = options.rows ?? 100_000;
  const seed = options.seed ?? 1;
  const startMs = options.startMs ?? Date.UTC(2026, 0, 1);
  const cities = ['Berlin', 'Lisbon', 'Austin', 'Osaka', 'Nairobi', 'Lima'];
  return {
    rowCount: rows,
    bytesPerRow: 180,
    schema: [
      { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
      { name: 'updated_at', type: 'TIMESTAMP', mode: 'REQUIRED' },
      { name: 'name', type: 'STRING', mode: 'NULLABLE' },
      { name: 'amount', type: 'NUMERIC', mode: 'NULLABLE' },
      { name: 'big', type: 'BIGNUMERIC', mode: 'NULLABLE' },
      { name: 'score', type: 'FLOAT', mode: 'NULLABLE' },
      { name: 'active', type: 'BOOLEAN', mode: 'NULLABLE' },
      { name: 'day', type: 'DATE', mode: 'NULLABLE' },
      { name: 'local_time', type: 'DATETIME', mode: 'NULLABLE' },
      { name: 'clock', type: 'TIME', mode: 'NULLABLE' },
      { name: 'payload', type: 'BYTES', mode: 'NULLABLE' },
      { name: 'location', type: 'GEOGRAPHY', mode: 'NULLABLE' },
      { name: 'tags', type: 'STRING', mode: 'REPEATED' },
      {
        name: 'address',
        type: 'RECORD',
        mode: 'NULLABLE',
        fields: [
          { name: 'city', type: 'STRING', mode: 'NULLABLE' },
          { name: 'zip', type: 'STRING', mode: 'NULLABLE' },
          {
            name: 'geo',
            type: 'RECORD',
            mode: 'NULLABLE',
            fields: [
              { name: 'lat', type: 'FLOAT', mode: 'NULLABLE' },
              { name: 'lon', type: 'FLOAT', mode: 'NULLABLE' },
            ],
          },
        ],
      },
      { name: 'attrs', type: 'JSON', mode: 'NULLABLE' },
      { name: 'huge', type: 'INTEGER', mode: 'NULLABLE' },
    ],
    row(i) {
      const r = hash32(seed, i);
      const micros = BigInt(startMs + Math.floor(i / 3) * 1000) * 1000n;
      const day = new Date(startMs + Math.floor(i / 1000) * 86_400_000).toISOString().slice(0, 10);
      const score =
        i % 97 === 5
          ? 'NaN'
          : i % 97 === 6
            ? 'Infinity'
            : i % 97 === 7
              ? '-Infinity'
              : String((r % 100000) / 100);
      return {
        id: String(i + 1),
        updated_at: micros.toString(),
        name: i % 50 === 0 ? null : `customer-${r.toString(36)}`,
        amount: `${r % 100000}.${String(r % 1_000_000_000).padStart(9, '0')}`,
        big: `${(BigInt(r) * 10n ** 30n + BigInt(i)).toString()}.${String(i % 100).padStart(2, '0')}`,
        score,
        active: r % 2 === 0 ? 'true' : 'false',
        day,
        local_time: `${day}T${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00.${String(r % 1_000_000).padStart(6, '0')}`,
        clock: `${String(r % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:${String(r % 60).padStart(2, '0')}`,
        payload: Buffer.from(`row-${i}`).toString('base64'),
        location: `POINT(${((r % 36000) / 100 - 180).toFixed(2)} ${((r % 18000) / 100 - 90).toFixed(2)})`,
        tags: i % 4 === 0 ? [] : [`t${r % 5}`, `t${(r >>> 3) % 5}`],
        address:
          i % 10 === 0
            ? null
            : {
                city: cities[r % cities.length]!,
                zip: String(10000 + (r % 89999)),
                geo: {
                  lat: String(random01(seed, i, 'lat') * 180 - 90),
                  lon: String(random01(seed, i, 'lon') * 360 - 180),
                },
              },
        attrs: JSON.stringify({
          plan: r % 3 === 0 ? 'pro' : 'free',
          visits: r % 40,
          nested: { ok: true },
        }),
        huge: i % 10 === 0 ? (9007199254740993n + BigInt(i)).toString() : String(r),
      };
    },
  };
}

/**
 * Starts a fake BigQuery on 127.0.0.1 (ephemeral port).
 *
 * @example
 * ```ts
 * import { BigQuery } from '@google-cloud/bigquery';
 * import { OAuth2Client } from 'google-auth-library';
 * const fake = await startFakeBigQuery();
 * const authClient = new OAuth2Client();
 * authClient.setCredentials({ access_token: 'test-token' });
 * const bigquery = new BigQuery({ projectId: fake.projectId, apiEndpoint: fake.url, authClient });
 * const [rows] = await bigquery.query('SELECT id FROM analytics.events WHERE id <= @n', { params: { n: 5 } } as never);
 * await fake.close();
 * ```
 */
export async function startFakeBigQuery(options: FakeBigQueryOptions = {}): Promise<FakeBigQuery> {
  const projectId = options.projectId ?? 'fake-project';
  const defaultLocation = options.defaultLocation ?? 'US';
  const defaultPageSize = options.defaultPageSize ?? 10_000;
  let pendingPolls = options.pendingPolls ?? 0;
  const tables = new Map<string, TableState>();
  for (const [name, source] of Object.entries(
    options.tables ?? { 'analytics.events': generateEventsTable() },
  )) {
    tables.set(name, { source, updates: new Map(), appended: [] });
  }
  const jobs = new Map<string, JobState>();
  const faults = new FaultQueue();
  const requests: FakeRequestLogEntry[] = [];
  const cancelledJobs: string[] = [];

  const tableState = (name: string): TableState => {
    const state = tables.get(name);
    if (!state) throw new Error(`fake BigQuery has no table "${name}"`);
    return state;
  };
  const countOf = (t: TableState) => t.source.rowCount + t.appended.length;
  const rowOf = (t: TableState, index: number): FakeBigQueryRow => {
    const base =
      index < t.source.rowCount ? t.source.row(index) : t.appended[index - t.source.rowCount]!;
    const update = t.updates.get(index);
    return update ? { ...base, ...update } : base;
  };

  function planQuery(
    sql: unknown,
    parameters: unknown,
  ): { table: TableState; fields: FakeBigQueryField[]; indices: () => Uint32Array; bytes: number } {
    if (typeof sql !== 'string' || sql.trim() === '')
      throw new QueryError(400, 'invalid', 'Missing query');
    const parsed = parseSql(sql);
    const tableName = parsed.table.split('.').slice(-2).join('.');
    const table = tables.get(tableName);
    if (!table) {
      throw new QueryError(
        404,
        'notFound',
        `Not found: Table ${projectId}:${tableName} was not found in location ${defaultLocation}`,
      );
    }
    const byName = new Map(table.source.schema.map((f) => [f.name, f]));
    const field = (name: string) => {
      const found = byName.get(name);
      if (!found)
        throw new QueryError(
          400,
          'invalidQuery',
          `Unrecognized name: ${name} at [1:${sql.indexOf(name) + 1}]`,
        );
      return found;
    };
    const fields = parsed.columns === '*' ? table.source.schema : parsed.columns.map(field);
    const params = readParameters(parameters);
    const conditions = parsed.where.map((c) => {
      const f = field(c.column);
      let value: string | undefined = c.literal;
      if (c.param !== undefined) {
        const p = params.get(c.param);
        if (!p)
          throw new QueryError(
            400,
            'invalidQuery',
            `Query parameter '${c.param}' not found at [1:${sql.indexOf('@' + c.param) + 1}]`,
          );
        value = p.value;
      }
      if (value === undefined)
        throw new QueryError(400, 'invalidQuery', `Missing value for ${c.column}`);
      return { field: f, op: c.op, value: normalizeForCompare(f.type, value) };
    });
    const order = parsed.order.map((o) => ({ field: field(o.column), desc: o.desc }));
    const bytes = countOf(table) * (table.source.bytesPerRow ?? 200);
    const indices = () => {
      const n = countOf(table);
      let out = new Uint32Array(n);
      let k = 0;
      for (let i = 0; i < n; i++) {
        if (conditions.length > 0) {
          const row = rowOf(table, i);
          if (
            !conditions.every((c) =>
              compareOp(
                c.op,
                compareWire(c.field.type, row[c.field.name] as string | null, c.value),
              ),
            )
          )
            continue;
        }
        out[k++] = i;
      }
      out = out.subarray(0, k);
      if (order.length > 0) {
        const sorted = Array.from(out);
        sorted.sort((a, b) => {
          const ra = rowOf(table, a);
          const rb = rowOf(table, b);
          for (const o of order) {
            const c = compareWire(
              o.field.type,
              ra[o.field.name] as string | null,
              normalizeForCompare(o.field.type, (rb[o.field.name] as string | null) ?? null),
            );
            if (c !== 0) return o.desc ? -c : c;
          }
          return a - b;
        });
        out = Uint32Array.from(sorted);
      }
      if (parsed.limit !== undefined) out = out.subarray(0, parsed.limit);
      return out;
    };
    return { table, fields, indices, bytes };
  }

  function createJob(
    projectIdOfRequest: string,
    location: string,
    sql: unknown,
    parameters: unknown,
    maximumBytesBilled: unknown,
    configuration: unknown,
  ): JobState {
    const plan = planQuery(sql, parameters);
    if (
      maximumBytesBilled !== undefined &&
      maximumBytesBilled !== null &&
      Number(maximumBytesBilled) < plan.bytes
    ) {
      throw new QueryError(
        400,
        'bytesBilledLimitExceeded',
        `Query exceeded limit for bytes billed: ${String(maximumBytesBilled)}. ${plan.bytes} or higher required.`,
      );
    }
    const job: JobState = {
      id: `job_${randomUUID().replaceAll('-', '')}`,
      projectId: projectIdOfRequest,
      location,
      table: plan.table,
      fields: plan.fields,
      indices: plan.indices(),
      pendingPolls,
      bytes: plan.bytes,
      configuration,
      created: Date.now(),
    };
    jobs.set(job.id, job);
    if (jobs.size > MAX_JOBS) jobs.delete(jobs.keys().next().value!);
    return job;
  }

  function page(
    job: JobState,
    query: Record<string, string>,
    maxResults: unknown,
    kind: string,
  ): Record<string, unknown> {
    const base = {
      kind,
      jobReference: { projectId: job.projectId, jobId: job.id, location: job.location },
    };
    if (job.pendingPolls > 0) {
      job.pendingPolls -= 1;
      return { ...base, jobComplete: false };
    }
    let offset = 0;
    if (query.pageToken) {
      const decoded = /^o:(\d+)$/.exec(Buffer.from(query.pageToken, 'base64url').toString('utf8'));
      if (!decoded) throw new QueryError(400, 'invalid', `Invalid page token: ${query.pageToken}`);
      offset = Number(decoded[1]);
    } else if (query.startIndex) offset = Number(query.startIndex);
    const requested = Number(maxResults ?? query.maxResults ?? defaultPageSize);
    const size = Math.max(
      1,
      Math.min(
        Number.isFinite(requested) && requested > 0 ? requested : defaultPageSize,
        ROW_LIMIT_PER_PAGE,
      ),
    );
    const end = Math.min(offset + size, job.indices.length);
    const rows: unknown[] = [];
    for (let i = offset; i < end; i++)
      rows.push(encodeRow(job.fields, rowOf(job.table, job.indices[i]!)));
    return {
      ...base,
      schema: { fields: job.fields },
      totalRows: String(job.indices.length),
      ...(rows.length > 0 ? { rows } : {}),
      ...(end < job.indices.length
        ? { pageToken: Buffer.from(`o:${end}`).toString('base64url') }
        : {}),
      totalBytesProcessed: String(job.bytes),
      jobComplete: true,
      cacheHit: false,
    };
  }

  function jobResource(
    job: {
      id?: string;
      projectId: string;
      location: string;
      bytes: number;
      configuration: unknown;
      fields?: FakeBigQueryField[];
    },
    dryRun: boolean,
  ) {
    const now = String(Date.now());
    return {
      kind: 'bigquery#job',
      etag: hash32(job.id ?? 'dry').toString(36),
      ...(job.id
        ? {
            id: `${job.projectId}:${job.location}.${job.id}`,
            selfLink: `/projects/${job.projectId}/jobs/${job.id}`,
          }
        : {}),
      user_email: 'fake@example.iam.gserviceaccount.com',
      jobReference: {
        projectId: job.projectId,
        ...(job.id ? { jobId: job.id } : {}),
        location: job.location,
      },
      configuration: job.configuration,
      status: { state: 'DONE' },
      statistics: {
        creationTime: now,
        ...(dryRun ? {} : { startTime: now, endTime: now }),
        totalBytesProcessed: String(job.bytes),
        query: {
          totalBytesProcessed: String(job.bytes),
          ...(dryRun
            ? { schema: { fields: job.fields ?? [] } }
            : { totalBytesBilled: String(job.bytes), cacheHit: false }),
          statementType: 'SELECT',
        },
      },
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
        return {
          status: 403,
          headers,
          body: googleError(
            403,
            'PERMISSION_DENIED',
            m ??
              'Exceeded rate limits: too many api requests per user per method for this user_method. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas',
            'rateLimitExceeded',
          ),
        };
      case 'quota':
        return {
          status: 403,
          headers,
          body: googleError(
            403,
            'PERMISSION_DENIED',
            m ?? 'Quota exceeded: Your project exceeded quota for concurrent queries.',
            'quotaExceeded',
          ),
        };
      case 'tooManyRequests':
        return {
          status: 429,
          headers,
          body: googleError(
            429,
            'RESOURCE_EXHAUSTED',
            m ?? 'Too many requests',
            'rateLimitExceeded',
          ),
        };
      case 'serverError':
        return {
          status: 500,
          headers,
          body: googleError(
            500,
            'INTERNAL',
            m ?? 'An internal error occurred and the request could not be completed.',
            'internalError',
          ),
        };
      case 'unavailable':
        return {
          status: 503,
          headers,
          body: googleError(
            503,
            'UNAVAILABLE',
            m ?? 'The service is currently unavailable.',
            'backendError',
          ),
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
            'authError',
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
              `Access Denied: Project ${projectId}: User does not have bigquery.jobs.create permission in project ${projectId}.`,
            'accessDenied',
          ),
        };
      case 'badRequest':
        return {
          status: 400,
          headers,
          body: googleError(
            400,
            'INVALID_ARGUMENT',
            m ?? 'Syntax error: Unexpected end of script at [1:1]',
            'invalidQuery',
          ),
        };
      case 'invalidJson':
        return { status: 200, headers, body: '{"kind":"bigquery#queryResponse","rows":[{"f":[' };
      default:
        return {
          status: 500,
          headers,
          body: googleError(500, 'INTERNAL', `unsupported fault ${fault.kind}`, 'internalError'),
        };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    const body = await readJsonBody(req).catch(() => Symbol.for('invalid'));
    const entry: FakeRequestLogEntry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
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
    const route = matchRoute(req.method ?? 'GET', url.pathname);
    entry.operation = route?.operation ?? 'unknown';
    if (!route)
      return reply(
        404,
        googleError(404, 'NOT_FOUND', `Not found: ${req.method} ${url.pathname}`, 'notFound'),
      );
    if (typeof body === 'symbol')
      return reply(
        400,
        googleError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.', 'invalid'),
      );

    const fault = faults.take(route.operation);
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
          'authError',
        ),
      );
    }
    if (route.projectId !== projectId) {
      return reply(
        404,
        googleError(404, 'NOT_FOUND', `Not found: Project ${route.projectId}`, 'notFound'),
      );
    }
    const b = (body ?? {}) as Record<string, unknown>;
    try {
      let payload: Record<string, unknown>;
      switch (route.operation) {
        case 'query': {
          const location = typeof b.location === 'string' ? b.location : defaultLocation;
          if (b.dryRun === true) {
            const plan = planQuery(b.query, b.queryParameters);
            payload = {
              kind: 'bigquery#queryResponse',
              schema: { fields: plan.fields },
              totalBytesProcessed: String(plan.bytes),
              jobComplete: true,
              cacheHit: false,
            };
            break;
          }
          const job = createJob(
            route.projectId,
            location,
            b.query,
            b.queryParameters,
            b.maximumBytesBilled,
            { query: { query: b.query } },
          );
          payload = page(job, {}, b.maxResults, 'bigquery#queryResponse');
          break;
        }
        case 'insertJob': {
          const reference = (b.jobReference ?? {}) as Record<string, unknown>;
          const configuration = (b.configuration ?? {}) as Record<string, unknown>;
          const q = (configuration.query ?? {}) as Record<string, unknown>;
          if (!configuration.query)
            throw new QueryError(400, 'invalid', 'Only query jobs are supported by the fake');
          const location =
            typeof reference.location === 'string' ? reference.location : defaultLocation;
          if (configuration.dryRun === true) {
            const plan = planQuery(q.query, q.queryParameters);
            payload = jobResource(
              {
                projectId: route.projectId,
                location,
                bytes: plan.bytes,
                configuration,
                fields: plan.fields,
              },
              true,
            );
            break;
          }
          const job = createJob(
            route.projectId,
            location,
            q.query,
            q.queryParameters,
            q.maximumBytesBilled,
            configuration,
          );
          if (typeof reference.jobId === 'string') {
            jobs.delete(job.id);
            job.id = reference.jobId;
            jobs.set(job.id, job);
          }
          payload = jobResource(job, false);
          break;
        }
        case 'getQueryResults': {
          const job = jobs.get(route.jobId!);
          if (!job)
            throw new QueryError(
              404,
              'notFound',
              `Not found: Job ${route.projectId}:${query.location ?? defaultLocation}.${route.jobId}`,
            );
          payload = page(job, query, undefined, 'bigquery#getQueryResultsResponse');
          break;
        }
        case 'getJob': {
          const job = jobs.get(route.jobId!);
          if (!job)
            throw new QueryError(
              404,
              'notFound',
              `Not found: Job ${route.projectId}:${query.location ?? defaultLocation}.${route.jobId}`,
            );
          payload = jobResource(job, false);
          break;
        }
        case 'cancelJob': {
          const job = jobs.get(route.jobId!);
          if (!job)
            throw new QueryError(
              404,
              'notFound',
              `Not found: Job ${route.projectId}:${route.jobId}`,
            );
          cancelledJobs.push(job.id);
          payload = { kind: 'bigquery#jobCancelResponse', job: jobResource(job, false) };
          break;
        }
        default: {
          const name = `${route.datasetId}.${route.tableId}`;
          const table = tables.get(name);
          if (!table)
            throw new QueryError(404, 'notFound', `Not found: Table ${route.projectId}:${name}`);
          payload = {
            kind: 'bigquery#table',
            id: `${route.projectId}:${name}`,
            tableReference: {
              projectId: route.projectId,
              datasetId: route.datasetId,
              tableId: route.tableId,
            },
            schema: { fields: table.source.schema },
            numRows: String(countOf(table)),
            numBytes: String(countOf(table) * (table.source.bytesPerRow ?? 200)),
            type: 'TABLE',
            location: defaultLocation,
          };
        }
      }
      if (fault?.kind === 'malformed') payload = malform(payload);
      return reply(200, payload);
    } catch (err) {
      if (err instanceof QueryError) {
        const status =
          { 400: 'INVALID_ARGUMENT', 404: 'NOT_FOUND' }[err.status as 400 | 404] ??
          'FAILED_PRECONDITION';
        return reply(err.status, googleError(err.status, status, err.message, err.reason));
      }
      throw err;
    }
  }

  const server = await startLoopbackServer(handle);
  return {
    url: server.url,
    port: server.port,
    projectId,
    requests,
    cancelledJobs,
    inject: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    setTable: (name, source) => void tables.set(name, { source, updates: new Map(), appended: [] }),
    updateRows(name, updates) {
      const t = tableState(name);
      for (const { index, values } of updates) {
        if (index < 0 || index >= countOf(t))
          throw new RangeError(`row ${index} is outside table "${name}"`);
        if (index >= t.source.rowCount)
          t.appended[index - t.source.rowCount] = {
            ...t.appended[index - t.source.rowCount]!,
            ...values,
          };
        else t.updates.set(index, { ...t.updates.get(index), ...values });
      }
    },
    appendRows: (name, rows) => void tableState(name).appended.push(...rows),
    rowCount: (name) => countOf(tableState(name)),
    row: (name, index) => rowOf(tableState(name), index),
    setPendingPolls: (polls) => void (pendingPolls = polls),
    close: () => server.close(),
  };
}

function matchRoute(
  method: string,
  path: string,
):
  | { operation: string; projectId: string; jobId?: string; datasetId?: string; tableId?: string }
  | undefined {
  const m = /^\/bigquery\/v2\/projects\/([^/]+)\/(.*)$/.exec(path);
  if (!m) return undefined;
  const projectId = decodeURIComponent(m[1]!);
  const rest = m[2]!;
  let r: RegExpExecArray | null;
  if (method === 'POST' && rest === 'queries') return { operation: 'query', projectId };
  if (method === 'POST' && rest === 'jobs') return { operation: 'insertJob', projectId };
  if (method === 'GET' && (r = /^queries\/([^/]+)$/.exec(rest)))
    return { operation: 'getQueryResults', projectId, jobId: decodeURIComponent(r[1]!) };
  if (method === 'GET' && (r = /^jobs\/([^/]+)$/.exec(rest)))
    return { operation: 'getJob', projectId, jobId: decodeURIComponent(r[1]!) };
  if (method === 'POST' && (r = /^jobs\/([^/]+)\/cancel$/.exec(rest)))
    return { operation: 'cancelJob', projectId, jobId: decodeURIComponent(r[1]!) };
  if (method === 'GET' && (r = /^datasets\/([^/]+)\/tables\/([^/]+)$/.exec(rest))) {
    return {
      operation: 'getTable',
      projectId,
      datasetId: decodeURIComponent(r[1]!),
      tableId: decodeURIComponent(r[2]!),
    };
  }
  return undefined;
}

/** Breaks a successful answer in ways a faulty proxy or API change might: wrong types and missing fields. */
function malform(payload: Record<string, unknown>): Record<string, unknown> {
  if (Array.isArray(payload.rows) && payload.rows.length > 0) {
    const rows = [...(payload.rows as unknown[])];
    rows[0] = { f: 'not-a-list' };
    return { ...payload, rows };
  }
  const { schema: _schema, ...rest } = payload;
  return rest;
}

function encodeValue(field: FakeBigQueryField, value: FakeBigQueryValue | undefined): unknown {
  if (value === undefined || value === null) return field.mode === 'REPEATED' ? [] : null;
  if (field.mode === 'REPEATED') {
    const items = Array.isArray(value) ? value : [value];
    return items.map((item) => ({ v: encodeValue({ ...field, mode: 'NULLABLE' }, item) }));
  }
  if (field.type === 'RECORD' || field.type === 'STRUCT')
    return encodeRow(field.fields ?? [], value as FakeBigQueryRow);
  return value;
}

function encodeRow(
  fields: readonly FakeBigQueryField[],
  row: FakeBigQueryRow,
): { f: { v: unknown }[] } {
  return { f: fields.map((field) => ({ v: encodeValue(field, row[field.name]) })) };
}

function readParameters(parameters: unknown): Map<string, { type: string; value: string }> {
  const out = new Map<string, { type: string; value: string }>();
  if (!Array.isArray(parameters)) return out;
  for (const p of parameters as {
    name?: string;
    parameterType?: { type?: string };
    parameterValue?: { value?: unknown };
  }[]) {
    if (typeof p.name !== 'string') continue;
    out.set(p.name, {
      type: p.parameterType?.type ?? 'STRING',
      value: String(p.parameterValue?.value ?? ''),
    });
  }
  return out;
}

const SQL =
  /^\s*SELECT\s+(.+?)\s+FROM\s+`?([\w.-]+)`?(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(.+?))?(?:\s+LIMIT\s+(\d+))?\s*;?\s*$/is;

function parseSql(sql: string): ParsedQuery {
  const m = SQL.exec(sql);
  if (!m)
    throw new QueryError(
      400,
      'invalidQuery',
      `Syntax error: Expected "SELECT ... FROM table" but got "${sql.slice(0, 40)}" at [1:1]`,
    );
  const columns =
    m[1]!.trim() === '*' ? '*' : m[1]!.split(',').map((c) => c.trim().replaceAll('`', ''));
  const where: Condition[] = [];
  if (m[3]) {
    for (const part of m[3].split(/\s+AND\s+/i)) {
      const c = /^`?(\w+)`?\s*(>=|<=|!=|<>|=|<|>)\s*(?:@(\w+)|'([^']*)'|(-?[\d.]+))$/.exec(
        part.trim(),
      );
      if (!c)
        throw new QueryError(
          400,
          'invalidQuery',
          `Syntax error: Unsupported condition "${part.trim()}"`,
        );
      where.push({
        column: c[1]!,
        op: (c[2] === '<>' ? '!=' : c[2]) as Condition['op'],
        ...(c[3] !== undefined ? { param: c[3] } : { literal: c[4] ?? c[5]! }),
      });
    }
  }
  const order = (m[4] ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((o) => {
      const parts = /^`?(\w+)`?(?:\s+(ASC|DESC))?$/i.exec(o);
      if (!parts)
        throw new QueryError(400, 'invalidQuery', `Syntax error: Unsupported ORDER BY "${o}"`);
      return { column: parts[1]!, desc: (parts[2] ?? '').toUpperCase() === 'DESC' };
    });
  return { columns, table: m[2]!, where, order, ...(m[5] ? { limit: Number(m[5]) } : {}) };
}

/** Turns a parameter or literal into the wire form of `type`, so it compares with stored values. */
function normalizeForCompare(type: string, value: string | null): string | null {
  if (value === null) return null;
  if (type === 'TIMESTAMP' && !/^-?\d+$/.test(value)) return timestampToMicros(value);
  return value;
}

function timestampToMicros(text: string): string {
  const m =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?)?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
      text.trim(),
    );
  if (!m) throw new QueryError(400, 'invalidQuery', `Invalid timestamp: '${text}'`);
  let zone = m[4] ?? 'Z';
  if (/^utc$/i.test(zone)) zone = 'Z';
  if (/^[+-]\d{2}$/.test(zone)) zone += ':00';
  const ms = Date.parse(`${m[1]}T${m[2] ?? '00:00:00'}${zone}`);
  if (Number.isNaN(ms)) throw new QueryError(400, 'invalidQuery', `Invalid timestamp: '${text}'`);
  const micros = (m[3] ?? '').padEnd(6, '0').slice(0, 6);
  return (BigInt(ms) * 1000n + BigInt(micros)).toString();
}

function compareWire(type: string, a: string | null, b: string | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  switch (type) {
    case 'INTEGER':
    case 'INT64':
    case 'TIMESTAMP': {
      const x = BigInt(a);
      const y = BigInt(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'FLOAT':
    case 'FLOAT64':
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return Number(a) - Number(b);
    default:
      return a < b ? -1 : a > b ? 1 : 0;
  }
}

function compareOp(op: Condition['op'], c: number): boolean {
  switch (op) {
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}
