/**
 * Run history and lifecycle (`runs`, `run_logs`). Every transition is one guarded statement, so
 * concurrent workers and API calls cannot move a run backwards.
 */
import { randomUUID } from 'node:crypto';
import {
  ConfigError,
  type JsonObject,
  type NewRun,
  type NewRunLogEntry,
  type PipelineActivity,
  type ResultPage,
  type RunBreakdown,
  type RunCounts,
  type RunListFilter,
  type RunLogEntry,
  type RunLogLevel,
  type RunOutcome,
  type RunRecord,
  type RunStatus,
  type RunStore,
  type RunTrigger,
  type RunWriteOptions,
  isRecord,
} from '@sluice/core';
import { sql, type Kysely, type Selectable } from 'kysely';
import { isForeignKeyViolation, isUniqueViolation } from './db-errors.js';
import { parsePaging, toPage } from './paging.js';
import type { RunsTable, StoreDatabase } from './schema.js';
import { fromJson, jsonText, parseTime, toIso, toIsoOrNull, toNumber } from './values.js';

const TRIGGERS: readonly RunTrigger[] = ['cron', 'webhook', 'api', 'replay', 'cli'];
const STATUSES: readonly RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const FINISHED: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];
const LEVELS: readonly RunLogLevel[] = ['debug', 'info', 'warn', 'error'];
const COUNT_COLUMNS = {
  read: 'records_read',
  delivered: 'records_delivered',
  deadLettered: 'records_dead_lettered',
  dropped: 'records_dropped',
  failed: 'records_failed',
} as const satisfies Record<keyof RunCounts, keyof RunsTable>;

type RunRow = Selectable<RunsTable>;

function toRun(row: RunRow): RunRecord {
  const run: RunRecord = {
    id: row.id,
    pipeline: row.pipeline,
    pipelineVersion: row.pipeline_version,
    trigger: row.trigger as RunTrigger,
    status: row.status as RunStatus,
    params: fromJson<JsonObject>(row.params),
    queuedAt: toIso(row.queued_at),
    startedAt: toIsoOrNull(row.started_at),
    finishedAt: toIsoOrNull(row.finished_at),
    counts: {
      read: toNumber(row.records_read),
      delivered: toNumber(row.records_delivered),
      deadLettered: toNumber(row.records_dead_lettered),
      dropped: toNumber(row.records_dropped),
      failed: toNumber(row.records_failed),
    },
    breakdown: row.breakdown === null ? null : fromJson<RunBreakdown>(row.breakdown),
    error: row.error === null ? null : fromJson(row.error),
    attempt: row.attempt,
    cancelRequestedAt: toIsoOrNull(row.cancel_requested_at),
  };
  if (row.parent_run_id !== null) run.parentRunId = row.parent_run_id;
  return run;
}

function requireText(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw new ConfigError([
      { path, message: 'expected a non-empty string of at most 200 characters' },
    ]);
  }
  return value;
}

function countUpdates(
  counts: Partial<RunCounts> | undefined,
): Partial<Record<(typeof COUNT_COLUMNS)[keyof RunCounts], number>> {
  const updates: Partial<Record<(typeof COUNT_COLUMNS)[keyof RunCounts], number>> = {};
  for (const [key, value] of Object.entries(counts ?? {})) {
    const column = COUNT_COLUMNS[key as keyof RunCounts];
    if (!column) throw new ConfigError([{ path: `counts.${key}`, message: 'unknown count' }]);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new ConfigError([
        { path: `counts.${key}`, message: `expected a non-negative integer, got ${String(value)}` },
      ]);
    }
    updates[column] = value;
  }
  return updates;
}

function requireCount(value: unknown, path: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError([
      { path, message: `expected a non-negative integer, got ${JSON.stringify(value)}` },
    ]);
  }
}

function requireNamedCounts(value: unknown, path: string, fields: readonly string[]): void {
  if (!isRecord(value)) throw new ConfigError([{ path, message: 'expected an object' }]);
  for (const [name, counts] of Object.entries(value)) {
    if (!isRecord(counts))
      throw new ConfigError([{ path: `${path}.${name}`, message: 'expected an object' }]);
    for (const field of fields) requireCount(counts[field], `${path}.${name}.${field}`);
  }
}

/** Checks a breakdown's shape before it is stored: names to objects of non-negative integers. */
function breakdownText(breakdown: RunBreakdown | undefined): string | undefined {
  if (breakdown === undefined) return undefined;
  if (!isRecord(breakdown))
    throw new ConfigError([{ path: 'breakdown', message: 'expected an object' }]);
  requireNamedCounts(breakdown.routes, 'breakdown.routes', ROUTE_FIELDS);
  requireNamedCounts(breakdown.destinations, 'breakdown.destinations', DESTINATION_FIELDS);
  for (const key of ['expectations', 'destinationExpectations'] as const) {
    const byOwner = breakdown[key];
    if (byOwner === undefined) continue;
    if (!isRecord(byOwner))
      throw new ConfigError([{ path: `breakdown.${key}`, message: 'expected an object' }]);
    for (const [owner, expectations] of Object.entries(byOwner))
      requireNamedCounts(expectations, `breakdown.${key}.${owner}`, ['checked', 'violations']);
  }
  return jsonText(breakdown);
}

const ROUTE_FIELDS = ['matched', 'produced', 'droppedByTransform', 'failed'] as const;
const DESTINATION_FIELDS = [
  'delivered',
  'failed',
  'deadLettered',
  'dropped',
  'batches',
  'retries',
] as const;

/** The `runs` row of a new run, validated (a bad field is named). */
function runRow(input: NewRun, id: string) {
  const pipeline = requireText(input.pipeline, 'pipeline');
  if (!TRIGGERS.includes(input.trigger)) {
    throw new ConfigError([{ path: 'trigger', message: `expected one of ${TRIGGERS.join(', ')}` }]);
  }
  if (input.params !== undefined && !isRecord(input.params)) {
    throw new ConfigError([{ path: 'params', message: 'expected a JSON object' }]);
  }
  const version = input.pipelineVersion ?? null;
  if (version !== null && (!Number.isInteger(version) || version < 1)) {
    throw new ConfigError([
      { path: 'pipelineVersion', message: 'expected a positive integer or null' },
    ]);
  }
  return {
    id,
    pipeline,
    pipeline_version: version,
    trigger: input.trigger,
    params: jsonText(input.params ?? {}),
    queued_at:
      input.queuedAt === undefined
        ? new Date().toISOString()
        : parseTime(input.queuedAt, 'queuedAt'),
    parent_run_id: input.parentRunId ?? null,
  };
}

/** The `run_logs` rows of `entries`, validated (a bad entry is named by its index). */
function logRows(runId: string, entries: readonly NewRunLogEntry[], path = 'entries') {
  return entries.map((entry, index) => {
    if (!LEVELS.includes(entry.level)) {
      throw new ConfigError([
        { path: `${path}[${index}].level`, message: `expected one of ${LEVELS.join(', ')}` },
      ]);
    }
    if (typeof entry.message !== 'string') {
      throw new ConfigError([{ path: `${path}[${index}].message`, message: 'expected a string' }]);
    }
    return {
      run_id: runId,
      at:
        entry.at === undefined
          ? new Date().toISOString()
          : parseTime(entry.at, `${path}[${index}].at`),
      level: entry.level,
      message: entry.message,
      fields: entry.fields === undefined ? null : jsonText(entry.fields),
    };
  });
}

/** Turns `synchronous_commit` off for the current transaction (the statement's, when implicit). */
const ASYNC_COMMIT = sql<string>`set_config('synchronous_commit', 'off', true)`;

/** A RETURNING column that evaluates {@link withCommit}'s CTE, or a constant when there is none. */
function commitMark(options: RunWriteOptions) {
  return options.waitForFlush === false
    ? sql<string>`(SELECT mode FROM commit_mode)`.as('commit_mode')
    : sql<string>`'flush'`.as('commit_mode');
}

/**
 * Creates the run repository over the store's database.
 *
 * @example
 * ```ts
 * const runs = createRunStore(db, 'sluice');
 * const run = await runs.create({ pipeline: 'daily', trigger: 'api' });
 * ```
 */
export function createRunStore(db: Kysely<StoreDatabase>, schema = 'sluice'): RunStore {
  // For the statement kysely's builder cannot express (markManyFinished's UPDATE ... FROM a recordset).
  const runsTable = sql.id(schema, 'runs');
  const logsTable = sql.id(schema, 'run_logs');
  const get = async (id: string): Promise<RunRecord | undefined> => {
    const row = await db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRun(row) : undefined;
  };

  /** The INSERT of a new run: `queued`, or `running` since `started` (the caller adds ON CONFLICT). */
  const insertRun = (input: NewRun, id: string, started?: string) => {
    const row = runRow(input, id);
    return db
      .insertInto('runs')
      .values(started === undefined ? row : { ...row, status: 'running', started_at: started });
  };
  /**
   * `qb` itself, or — for `waitForFlush: false` — with a `commit_mode` CTE that turns
   * `synchronous_commit` off for the statement's own transaction; {@link commitMark} reads it
   * in RETURNING, since PostgreSQL evaluates a SELECT CTE only where it is referenced.
   */
  const withCommit = <Q>(options: RunWriteOptions, build: (qb: Kysely<StoreDatabase>) => Q): Q =>
    options.waitForFlush === false
      ? build(
          db.with('commit_mode', (qc) =>
            qc.selectNoFrom(ASYNC_COMMIT.as('mode')),
          ) as unknown as Kysely<StoreDatabase>,
        )
      : build(db);
  /** The store's error for a failed insert of run `id`, or the error itself. */
  const insertError = (error: unknown, id: string, input: NewRun): unknown => {
    if (isUniqueViolation(error))
      return new ConfigError([{ path: 'id', message: `a run with id ${id} already exists` }], {
        cause: error,
      });
    if (isForeignKeyViolation(error))
      return new ConfigError(
        [{ path: 'parentRunId', message: `no run with id ${String(input.parentRunId)}` }],
        { cause: error },
      );
    return error;
  };

  return {
    async create(input: NewRun): Promise<RunRecord> {
      const id = input.id === undefined ? randomUUID() : requireText(input.id, 'id');
      try {
        return toRun(await insertRun(input, id).returningAll().executeTakeFirstOrThrow());
      } catch (error) {
        throw insertError(error, id, input);
      }
    },

    async createIfAbsent(input) {
      const id = requireText(input.id, 'id');
      try {
        const row = await insertRun(input, id)
          .onConflict((oc) => oc.column('id').doNothing())
          .returningAll()
          .executeTakeFirst();
        return row ? toRun(row) : undefined;
      } catch (error) {
        throw insertError(error, id, input);
      }
    },

    async createManyIfAbsent(inputs, options = {}) {
      if (inputs.length === 0) return [];
      const rows = inputs.map((input) => runRow(input, requireText(input.id, 'id')));
      try {
        const created = await withCommit(options, (qb) =>
          qb
            .insertInto('runs')
            .values(rows)
            .onConflict((oc) => oc.column('id').doNothing())
            .returning(['id', commitMark(options)]),
        ).execute();
        return created.map((row) => row.id);
      } catch (error) {
        // Named by the run it is about when there is one; with several, the store's error as is.
        throw inputs.length === 1 ? insertError(error, rows[0]!.id, inputs[0]!) : error;
      }
    },

    get,

    async list(filter: RunListFilter = {}): Promise<ResultPage<RunRecord>> {
      const { limit, beforeSeq } = parsePaging(filter);
      const statuses =
        filter.status === undefined
          ? []
          : Array.isArray(filter.status)
            ? filter.status
            : [filter.status];
      for (const status of statuses) {
        if (!STATUSES.includes(status))
          throw new ConfigError([
            { path: 'status', message: `unknown run status ${JSON.stringify(status)}` },
          ]);
      }
      let query = db.selectFrom('runs').selectAll();
      if (filter.pipeline !== undefined) query = query.where('pipeline', '=', filter.pipeline);
      if (statuses.length > 0) query = query.where('status', 'in', statuses);
      if (filter.trigger !== undefined) query = query.where('trigger', '=', filter.trigger);
      if (beforeSeq !== undefined) query = query.where('seq', '<', beforeSeq.toString());
      const rows = await query
        .orderBy('seq', 'desc')
        .limit(limit + 1)
        .execute();
      return toPage(rows, limit, toRun);
    },

    async countQueued(pipeline) {
      // The partial index runs_queued_idx (migration 0009) holds queued runs only, so the count
      // reads the backlog, not the pipeline's history.
      const row = await db
        .selectFrom('runs')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('pipeline', '=', pipeline)
        .where('status', '=', 'queued')
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async countsSince(since, options = {}): Promise<PipelineActivity[]> {
      const from = new Date(parseTime(since, 'since'));
      // Counts are written by markFinished, so only finished runs carry them; the partial index
      // runs_finished_idx (migration 0011) reads the window, not the run history.
      let query = db
        .selectFrom('runs')
        .select((eb) => [
          'pipeline',
          eb.fn.countAll<string | number>().as('runs'),
          eb.fn.sum<string | number>('records_read').as('read'),
          eb.fn.sum<string | number>('records_delivered').as('delivered'),
          eb.fn.sum<string | number>('records_dead_lettered').as('dead_lettered'),
          eb.fn.sum<string | number>('records_dropped').as('dropped'),
          eb.fn.sum<string | number>('records_failed').as('failed'),
        ])
        .where('finished_at', 'is not', null)
        .where('finished_at', '>=', from);
      if (options.pipeline !== undefined) {
        query = query.where('pipeline', '=', requireText(options.pipeline, 'pipeline'));
      }
      const rows = await query.groupBy('pipeline').orderBy('pipeline').execute();
      return rows.map((row) => ({
        pipeline: row.pipeline,
        runs: toNumber(row.runs),
        counts: {
          read: toNumber(row.read),
          delivered: toNumber(row.delivered),
          deadLettered: toNumber(row.dead_lettered),
          dropped: toNumber(row.dropped),
          failed: toNumber(row.failed),
        },
      }));
    },

    async markRunning(id, options = {}) {
      const startedAt =
        options.startedAt === undefined
          ? new Date().toISOString()
          : parseTime(options.startedAt, 'startedAt');
      if (options.ifMissing !== undefined) {
        // One upsert: a missing run is recorded running; an existing one takes the same guarded
        // transition as below (a finished run matches nothing and is read back unchanged).
        const runId = requireText(id, 'id');
        try {
          const row = await insertRun(options.ifMissing, runId, startedAt)
            .onConflict((oc) =>
              oc
                .column('id')
                .doUpdateSet({
                  status: 'running',
                  started_at: sql<string>`CASE WHEN runs.status = 'queued' THEN ${startedAt}::timestamptz ELSE runs.started_at END`,
                  attempt: sql<number>`CASE WHEN runs.status = 'running' THEN runs.attempt + 1 ELSE runs.attempt END`,
                })
                .where('runs.status', 'in', ['queued', 'running']),
            )
            .returningAll()
            .executeTakeFirst();
          return row ? toRun(row) : get(id);
        } catch (error) {
          throw insertError(error, runId, options.ifMissing);
        }
      }
      const row = await db
        .updateTable('runs')
        .set({
          status: 'running',
          started_at: sql<string>`CASE WHEN status = 'queued' THEN ${startedAt}::timestamptz ELSE started_at END`,
          attempt: sql<number>`CASE WHEN status = 'running' THEN attempt + 1 ELSE attempt END`,
        })
        .where('id', '=', id)
        .where('status', 'in', ['queued', 'running'])
        .returningAll()
        .executeTakeFirst();
      return row ? toRun(row) : get(id);
    },

    async markManyRunning(inputs, options = {}) {
      const now = new Date().toISOString();
      const items = inputs.map((input) => ({
        ...input,
        id: requireText(input.id, 'id'),
        startedAt: input.startedAt === undefined ? now : parseTime(input.startedAt, 'startedAt'),
      }));
      const found = new Map<string, RunRecord>();
      const upserts = items.filter((item) => item.ifMissing !== undefined);
      if (upserts.length > 0) {
        // The upsert of markRunning({ ifMissing }) for each run, its own start time from `excluded`.
        const values = upserts.map((item) => ({
          ...runRow(item.ifMissing!, item.id),
          status: 'running' as const,
          started_at: item.startedAt,
        }));
        const rows = await withCommit(options, (qb) => qb.insertInto('runs').values(values))
          .onConflict((oc) =>
            oc
              .column('id')
              .doUpdateSet({
                status: 'running',
                started_at: sql<string>`CASE WHEN runs.status = 'queued' THEN excluded.started_at ELSE runs.started_at END`,
                attempt: sql<number>`CASE WHEN runs.status = 'running' THEN runs.attempt + 1 ELSE runs.attempt END`,
              })
              .where('runs.status', 'in', ['queued', 'running']),
          )
          .returningAll()
          .returning(commitMark(options))
          .execute();
        for (const row of rows) found.set(row.id, toRun(row));
      }
      for (const item of items) {
        if (item.ifMissing !== undefined) continue;
        const run = await this.markRunning(item.id, { startedAt: item.startedAt });
        if (run) found.set(item.id, run);
      }
      // Runs the transition did not move (finished, e.g. cancelled while queued): as they are.
      const unmoved = upserts.filter((item) => !found.has(item.id)).map((item) => item.id);
      if (unmoved.length > 0) {
        const rows = await db.selectFrom('runs').selectAll().where('id', 'in', unmoved).execute();
        for (const row of rows) found.set(row.id, toRun(row));
      }
      return items.map((item) => found.get(item.id));
    },

    async markFinished(id, outcome: RunOutcome) {
      if (!FINISHED.includes(outcome.status)) {
        throw new ConfigError([
          { path: 'status', message: `expected one of ${FINISHED.join(', ')}` },
        ]);
      }
      const finishedAt =
        outcome.finishedAt === undefined
          ? new Date().toISOString()
          : parseTime(outcome.finishedAt, 'finishedAt');
      const breakdown = breakdownText(outcome.breakdown);
      const lines = logRows(id, outcome.log ?? [], 'log');
      const finish = db
        .updateTable('runs')
        .set({
          ...countUpdates(outcome.counts),
          ...(breakdown === undefined ? {} : { breakdown }),
          status: outcome.status,
          finished_at: finishedAt,
          error: outcome.error ? jsonText(outcome.error) : null,
        })
        .where('id', '=', id)
        .where('status', 'in', ['queued', 'running']);
      if (lines.length === 0) {
        const row = await finish.returningAll().executeTakeFirst();
        return row ? toRun(row) : get(id);
      }
      // The transition, its log lines and the run as it is afterwards in one statement. The lines
      // are inserted only when the run exists (selected from `runs`, so an unknown id stores
      // nothing instead of failing the foreign key); a run this call did not move is read back.
      const rows = await db
        .with('finished', () => finish.returningAll())
        .with('logged', (qb) =>
          qb
            .insertInto('run_logs')
            .columns(['run_id', 'at', 'level', 'message', 'fields'])
            .expression(
              sql`SELECT r.id, line.at, line.level, line.message, line.fields
                    FROM (${db.selectFrom('runs').select('id').where('id', '=', id)}) AS r
                    CROSS JOIN (VALUES ${sql.join(
                      lines.map(
                        (line, ord) =>
                          sql`(${ord}::int, ${line.at}::timestamptz, ${line.level}::text, ${line.message}::text, ${line.fields}::jsonb)`,
                      ),
                    )}) AS line (ord, at, level, message, fields)
                   ORDER BY line.ord`,
            ),
        )
        .selectFrom('finished')
        .selectAll()
        .execute();
      const row = rows[0] as RunRow | undefined;
      return row ? toRun(row) : get(id);
    },

    async markManyFinished(inputs, options = {}) {
      if (inputs.length === 0) return [];
      const now = new Date().toISOString();
      // Validated like markFinished, then handed to the database as one JSON recordset each.
      const items = inputs.map(({ id, outcome }, ord) => {
        const runId = requireText(id, 'id');
        if (!FINISHED.includes(outcome.status)) {
          throw new ConfigError([
            { path: 'status', message: `expected one of ${FINISHED.join(', ')}` },
          ]);
        }
        return {
          ord,
          id: runId,
          status: outcome.status,
          finished_at:
            outcome.finishedAt === undefined ? now : parseTime(outcome.finishedAt, 'finishedAt'),
          error: outcome.error ? jsonText(outcome.error) : null,
          breakdown: breakdownText(outcome.breakdown) ?? null,
          has_breakdown: outcome.breakdown !== undefined,
          ...countUpdates(outcome.counts),
        };
      });
      const lines = inputs.flatMap(({ id, outcome }) =>
        logRows(id, outcome.log ?? [], 'log').map((line, ord) => ({ ...line, ord })),
      );
      const runs = runsTable;
      const counts = Object.values(COUNT_COLUMNS).map(
        (column) => sql`${sql.ref(column)} = COALESCE(t.${sql.ref(column)}, r.${sql.ref(column)})`,
      );
      const result = await sql<RunRow>`
        WITH ${options.waitForFlush === false ? sql`commit_mode AS (SELECT ${ASYNC_COMMIT} AS mode),` : sql``} t AS (
          SELECT * FROM jsonb_to_recordset(${JSON.stringify(items)}::jsonb) AS t (
            ord int, id text, status text, finished_at timestamptz, error text, breakdown text,
            has_breakdown boolean, records_read bigint, records_delivered bigint,
            records_dead_lettered bigint, records_dropped bigint, records_failed bigint)
        ),
        finished AS (
          UPDATE ${runs} AS r SET
            status = t.status,
            finished_at = t.finished_at,
            error = t.error::jsonb,
            breakdown = CASE WHEN t.has_breakdown THEN t.breakdown::jsonb ELSE r.breakdown END,
            ${sql.join(counts)}
          FROM t
          WHERE r.id = t.id AND r.status IN ('queued', 'running')
          RETURNING r.*
        ),
        logged AS (
          INSERT INTO ${logsTable} (run_id, at, level, message, fields)
          SELECT l.run_id, l.at, l.level, l.message, l.fields::jsonb
            FROM jsonb_to_recordset(${JSON.stringify(lines)}::jsonb) AS l (
              run_id text, ord int, at timestamptz, level text, message text, fields text)
            JOIN ${runs} AS e ON e.id = l.run_id
           ORDER BY l.run_id, l.ord
        )
        SELECT finished.*${options.waitForFlush === false ? sql`, (SELECT mode FROM commit_mode) AS commit_mode` : sql``}
          FROM finished`.execute(db);
      const found = new Map(result.rows.map((row) => [row.id, toRun(row)]));
      // Runs this call did not move (already finished): as they are.
      const unmoved = items.filter((item) => !found.has(item.id)).map((item) => item.id);
      if (unmoved.length > 0) {
        const rows = await db.selectFrom('runs').selectAll().where('id', 'in', unmoved).execute();
        for (const row of rows) found.set(row.id, toRun(row));
      }
      return items.map((item) => found.get(item.id));
    },

    async requestCancel(id) {
      const now = new Date().toISOString();
      const row = await db
        .updateTable('runs')
        .set({
          status: sql<string>`CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END`,
          finished_at: sql<string>`CASE WHEN status = 'queued' THEN ${now}::timestamptz ELSE finished_at END`,
          cancel_requested_at: sql<string>`COALESCE(cancel_requested_at, ${now}::timestamptz)`,
        })
        .where('id', '=', id)
        .where('status', 'in', ['queued', 'running'])
        .returningAll()
        .executeTakeFirst();
      return row ? toRun(row) : get(id);
    },

    async isCancelRequested(id) {
      const row = await db
        .selectFrom('runs')
        .select('cancel_requested_at')
        .where('id', '=', id)
        .executeTakeFirst();
      return row?.cancel_requested_at != null;
    },

    async appendLog(runId, entries: readonly NewRunLogEntry[]) {
      if (entries.length === 0) return;
      const values = logRows(runId, entries);
      try {
        await db.insertInto('run_logs').values(values).execute();
      } catch (error) {
        if (isForeignKeyViolation(error))
          throw new ConfigError([{ path: 'runId', message: `no run with id ${runId}` }], {
            cause: error,
          });
        throw error;
      }
    },

    async listLogs(runId, options = {}): Promise<RunLogEntry[]> {
      const limit = options.limit ?? 500;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw new ConfigError([{ path: 'limit', message: 'expected an integer from 1 to 10000' }]);
      }
      let query = db.selectFrom('run_logs').selectAll().where('run_id', '=', runId);
      if (options.afterSeq !== undefined) {
        if (!Number.isSafeInteger(options.afterSeq) || options.afterSeq < 0) {
          throw new ConfigError([{ path: 'afterSeq', message: 'expected a non-negative integer' }]);
        }
        query = query.where('seq', '>', String(options.afterSeq));
      }
      const rows = await query.orderBy('seq', 'asc').limit(limit).execute();
      return rows.map((row) => ({
        seq: toNumber(row.seq),
        at: toIso(row.at),
        level: row.level as RunLogLevel,
        message: row.message,
        fields: row.fields === null ? null : fromJson<JsonObject>(row.fields),
      }));
    },
  };
}
