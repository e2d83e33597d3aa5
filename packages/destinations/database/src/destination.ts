/**
 * The `database` destination: writes each batch to one table of PostgreSQL, MySQL/MariaDB or
 * SQLite in one transaction, in `insert`, `upsert` or `dedupe` mode; in insert mode the same
 * transaction records the batch id in a delivery ledger, so a repeated batch is skipped.
 */
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  defineDestination,
  type Batch,
  type CheckResult,
  type JsonValue,
  parseFieldPath,
  type DestinationInstance,
  type PluginContext,
  type RecordFailure,
  type WriteOptions,
} from '@sluice/core';
import type { ColumnType, SqlValue } from './column-types.js';
import { databaseConfigSchema, usesLedger, type DatabaseConfig } from './config.js';
import { openDatabase, type DatabaseHandle } from './connect.js';
import { createTableQueries } from './ddl.js';
import { checkedIdentifier, type TableName } from './identifiers.js';
import { createBatchLedger, createLedgerPruning, createLedgerTable } from './ledger.js';
import { createRowMapper, RecordRowError, type ValueProblem } from './row-mapper.js';
import {
  columnNameProblem,
  evolveColumns,
  inferColumnType,
  isNarrowerInteger,
  isTypeRejection,
  isUndefinedColumn,
  readTableColumns,
  resolveSchemaPolicy,
  wideningFor,
  widerType,
  withSchemaLock,
  type ColumnChange,
  type SchemaChange,
} from './schema-policy.js';
import { toSluiceError } from './errors.js';
import { createTablePlan } from './statements.js';
import {
  createRowWriter,
  type RowsWhileMapping,
  type TableWriter,
  type WriteOutcome,
} from './writer.js';

function parseTableName(table: string): TableName {
  const dot = table.indexOf('.');
  return dot < 0 ? { name: table } : { schema: table.slice(0, dot), name: table.slice(dot + 1) };
}

function describeValue(value: JsonValue): string {
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** A column as the destination writes it now: declared, or added by the schema policy. */
interface LiveColumn {
  name: string;
  type: ColumnType;
  from?: string | undefined;
  nullable: boolean;
  primaryKey: boolean;
}

type PolicyKind = 'new_table' | 'new_column' | 'type_change';

function createDatabaseInstance(config: DatabaseConfig, ctx: PluginContext): DestinationInstance {
  const table = parseTableName(config.table);
  const key = config.mode === 'insert' ? [] : (config.key ?? []);
  const policy = resolveSchemaPolicy(config);
  const columns: LiveColumn[] = config.columns.map((c) => ({ ...c }));
  const keyNames = new Set(
    key.map((k) => config.columns.find((c) => c.name.toLowerCase() === k.toLowerCase())!.name),
  );
  // Top-level fields some column reads; a column reading the whole record (`$`) reads them all.
  const fieldPaths = columns.map((c) => parseFieldPath(c.from ?? c.name, { root: true }));
  const readsWholeRecord = fieldPaths.some((path) => path.length === 0);
  const usedFields = new Set<string>();
  const usedLower = new Map<string, string>();
  const useField = (name: string) => {
    usedFields.add(name);
    usedLower.set(name.toLowerCase(), name);
  };
  for (const path of fieldPaths) if (typeof path[0] === 'string') useField(path[0]);
  for (const column of columns) usedLower.set(column.name.toLowerCase(), column.name);
  let plan = createTablePlan(config.dialect, table, columns, config.mode, key);
  let mapRow = createRowMapper(config.dialect, columns, keyNames);
  const logger = ctx.logger.child({
    destination: 'database',
    dialect: config.dialect,
    table: config.table,
  });
  const rowsWritten = ctx.metrics.counter({
    name: 'destination_database_rows_total',
    help: 'Rows written by the database destination, by table and outcome',
    labelNames: ['table', 'outcome'],
  });
  const batchesWritten = ctx.metrics.counter({
    name: 'destination_database_batches_total',
    help: 'Batches handled by the database destination, by table and outcome (written, or repeat: already in the delivery ledger, skipped)',
    labelNames: ['table', 'outcome'],
  });
  const schemaChanges = ctx.metrics.counter({
    name: 'destination_database_schema_changes_total',
    help: 'Table changes made by the database destination under its schema policy, by table and change (create_table, add_column, widen_column)',
    labelNames: ['table', 'change'],
  });
  const schemaPolicyApplied = ctx.metrics.counter({
    name: 'destination_database_schema_policy_total',
    help: 'Records or values the schema policy turned away, by table, kind (new_table, new_column, type_change) and action (freeze: dead-lettered, discard_row, discard_value)',
    labelNames: ['table', 'kind', 'action'],
  });
  const doing = `writing to ${config.dialect} table "${config.table}"`;
  const ledger = usesLedger(config)
    ? createBatchLedger(config.dialect, table, config.table, config.ledgerTable, () =>
        ctx.clock.now(),
      )
    : undefined;
  const ledgerPruning = createLedgerPruning(ledger, config.ledgerRetentionDays, ctx.clock, logger);

  let handle: Promise<DatabaseHandle> | undefined;
  let ready: Promise<void> | undefined;
  let closed = false;
  let writer: TableWriter | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let database: { db: Kysely<any>; pgPool: pg.Pool | undefined } | undefined;
  let tableMissing = false;
  let evolving: Promise<unknown> = Promise.resolve();

  function buildWriter(): void {
    writer = createRowWriter({
      db: database!.db,
      plan,
      pgPool: database!.pgPool,
      ledger,
      ...(config.dialect === 'postgres'
        ? { bulk: config.bulk, bulkThreshold: config.bulkThreshold }
        : {}),
    });
  }

  /** Counts, logs and reports (to the host's schema-change log) one committed table change. */
  async function recorded(
    change: SchemaChange | { change: 'create_table'; table: string; statement: string },
  ): Promise<void> {
    schemaChanges.inc({ table: config.table, change: change.change });
    logger.info({ schemaChange: change }, `schema policy: ${change.change} on "${config.table}"`);
    try {
      await ctx.onSchemaChange?.(change);
    } catch (err) {
      // The table has changed either way; a host that could not record it must not fail the write.
      logger.warn(
        { schemaChange: change, err: err instanceof Error ? err.message : String(err) },
        'the schema change could not be reported to the host',
      );
    }
  }

  function turnedAway(kind: PolicyKind, action: string, count: number): void {
    if (count > 0) schemaPolicyApplied.inc({ table: config.table, kind, action }, count);
  }

  /** Adds and widens columns (one evolution at a time per instance; the lock orders replicas). */
  function evolve(add: readonly ColumnChange[], widen: readonly ColumnChange[]): Promise<void> {
    const next = evolving.then(async () => {
      const { db } = database!;
      let result: Awaited<ReturnType<typeof evolveColumns>>;
      try {
        result = await evolveColumns(
          db,
          config.dialect,
          table,
          config.table,
          { add, widen },
          config.schemaLockTimeoutMs,
        );
      } catch (err) {
        throw toSluiceError(config.dialect, err, `changing table "${config.table}"`);
      }
      for (const [field, evolved] of result.columns) {
        const live = columns.find((c) => c.name.toLowerCase() === evolved.name.toLowerCase());
        if (live) live.type = evolved.type;
        else {
          // The column's name in the table may differ in case from the field (a column another
          // writer made): the column keeps the table's name and reads the field.
          columns.push({
            name: evolved.name,
            type: evolved.type,
            ...(evolved.name === field ? {} : { from: field }),
            nullable: true,
            primaryKey: false,
          });
          useField(field);
        }
      }
      plan = createTablePlan(config.dialect, table, columns, config.mode, key);
      mapRow = createRowMapper(config.dialect, columns, keyNames);
      buildWriter();
      for (const change of result.changes) await recorded(change);
    });
    evolving = next.catch(() => undefined);
    return next;
  }

  function connection(): Promise<DatabaseHandle> {
    if (closed) return Promise.reject(new FatalError('the database destination is closed'));
    handle ??= openDatabase(config, logger);
    return handle;
  }

  /**
   * Reads the table as it is. A declared column the table holds with a narrower integer type
   * (an INT column declared bigint) is checked against the table's type, so a value it cannot
   * hold meets the schema policy (widened under evolve) instead of a driver error; SQLite's
   * affinities hold any integer, nothing to narrow there. A declared column the existing table
   * lacks (added to `columns` later) is added under `newColumn: evolve`; otherwise the database
   * names it when the batch is written.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function adoptTable(db: Kysely<any>): Promise<void> {
    let existing: Awaited<ReturnType<typeof readTableColumns>>;
    try {
      existing = await readTableColumns(db, config.dialect, table);
    } catch (err) {
      throw toSluiceError(config.dialect, err, `reading table "${config.table}"`);
    }
    if (existing.size === 0) return;
    let changed = false;
    for (const column of columns) {
      const found = existing.get(column.name.toLowerCase());
      if (config.dialect !== 'sqlite' && found && isNarrowerInteger(found.type, column.type)) {
        column.type = found.type;
        changed = true;
      }
    }
    if (changed) {
      plan = createTablePlan(config.dialect, table, columns, config.mode, key);
      mapRow = createRowMapper(config.dialect, columns, keyNames);
      buildWriter();
    }
    const missing = columns.filter((c) => !existing.has(c.name.toLowerCase()));
    if (missing.length > 0 && policy.newColumn === 'evolve')
      await evolve(
        missing.map((c) => ({ column: c.name, type: c.type })),
        [],
      );
  }

  async function prepare(): Promise<void> {
    const { db, pgPool } = await connection();
    database = { db, pgPool };
    if (policy.newTable === 'evolve') {
      try {
        // Under the schema lock, and only when missing: replicas opening at once create it once.
        const created = await withSchemaLock(
          db,
          config.dialect,
          table,
          config.schemaLockTimeoutMs,
          async (conn) => {
            if ((await readTableColumns(conn, config.dialect, table)).size > 0) return undefined;
            const queries = createTableQueries(
              config.dialect,
              table,
              config.columns,
              config.mode === 'insert' ? (config.key ?? []) : key,
            );
            for (const query of queries) await conn.executeQuery(query);
            return queries.map((query) => query.sql).join(';\n');
          },
        );
        if (created !== undefined)
          await recorded({ change: 'create_table', table: config.table, statement: created });
      } catch (err) {
        throw toSluiceError(config.dialect, err, `creating table "${config.table}"`);
      }
    } else if (config.schema?.newTable !== undefined) {
      tableMissing = true;
    }
    await adoptTable(db);
    if (ledger) {
      await createLedgerTable(db, ledger, config.dialect);
      ledgerPruning.start(db);
    }
    buildWriter();
  }

  /** Whether the table is (still) missing; checked only under a declared freeze/discard_row. */
  async function stillMissing(): Promise<boolean> {
    if (!tableMissing) return false;
    try {
      tableMissing = (await readTableColumns(database!.db, config.dialect, table)).size === 0;
    } catch (err) {
      throw toSluiceError(config.dialect, err, `reading table "${config.table}"`);
    }
    return tableMissing;
  }

  interface MappedBatch {
    rows: SqlValue[][];
    indexes: number[];
    failures: RecordFailure[];
    add: Map<string, ColumnChange>;
    widen: Map<string, ColumnType>;
    discarded: Map<string, number>;
  }

  function emptyMapped(): MappedBatch {
    return {
      rows: [],
      indexes: [],
      failures: [],
      add: new Map(),
      widen: new Map(),
      discarded: new Map(),
    };
  }

  /** Maps the batch under the policy; records needing a table change are set aside in add/widen. */
  function mapBatch(batch: Batch): MappedBatch {
    const out = emptyMapped();
    batch.records.forEach((record, index) => {
      const row = mapRecord(out, record, index);
      if (row === undefined) return;
      out.rows.push(row);
      out.indexes.push(index);
    });
    return out;
  }

  /**
   * The batch's rows for a COPY that sends them while it maps them (see RowsWhileMapping). Rows
   * are not kept: each one is garbage once sent, so a large batch never moves a row per record
   * into the old generation; a second pass (an upsert staged after its direct COPY met an
   * existing key) maps the records again. `mapped()` is what the last pass found (dead letters,
   * discards; its rows list stays empty).
   */
  function rowsWhileMapping(batch: Batch): { rows: RowsWhileMapping; mapped: () => MappedBatch } {
    const { records } = batch;
    let last = emptyMapped();
    let written = 0;
    const rows: RowsWhileMapping = {
      records: records.length,
      get written() {
        return written;
      },
      *[Symbol.iterator]() {
        const mapped = (last = emptyMapped());
        written = 0;
        for (let index = 0; index < records.length; index++) {
          const row = mapRecord(mapped, records[index]!, index);
          if (mapped.add.size > 0 || mapped.widen.size > 0)
            throw new Error('the batch needs a table change before it is written');
          if (row === undefined) continue;
          written++;
          yield row;
        }
      },
    };
    return { rows, mapped: () => last };
  }

  function discard(out: MappedBatch, kind: PolicyKind, action: string): void {
    const k = `${kind}/${action}`;
    out.discarded.set(k, (out.discarded.get(k) ?? 0) + 1);
  }

  function dead(
    out: MappedBatch,
    index: number,
    kind: PolicyKind,
    message: string,
    details: object,
  ): void {
    discard(out, kind, 'freeze');
    out.failures.push({
      index,
      error: new FatalError(`${doing}: ${message}`, { details: { ...details } }),
    });
  }

  /**
   * Maps one record: its row, or undefined with what became of it in `out` (a dead letter, a
   * discard, or a table change to make).
   */
  function mapRecord(
    out: MappedBatch,
    record: Batch['records'][number],
    index: number,
  ): SqlValue[] | undefined {
    let needsChange = false;
    if (!readsWholeRecord) {
      // for...in walks the record's fields without building an array per record; only a field
      // no column reads is checked to be the record's own.
      for (const field in record) {
        if (usedFields.has(field) || !Object.hasOwn(record, field)) continue;
        const value = record[field];
        if (value === undefined || value === null) continue;
        if (policy.newColumn === 'discard_value') {
          discard(out, 'new_column', 'discard_value');
          continue;
        }
        if (policy.newColumn === 'discard_row') {
          discard(out, 'new_column', 'discard_row');
          return undefined;
        }
        const known = usedLower.get(field.toLowerCase());
        const problem =
          known !== undefined
            ? `field "${field}" collides with column "${known}" after case folding`
            : columnNameProblem(config.dialect, field);
        const inferred = inferColumnType(value)!;
        const details = {
          table: config.table,
          column: field,
          value: describeValue(value),
          expected: inferred,
        };
        if (policy.newColumn === 'freeze') {
          dead(
            out,
            index,
            'new_column',
            `table "${config.table}" has no column "${field}" for value ${describeValue(value)} (it would be ${inferred}); schema.newColumn is freeze`,
            details,
          );
          return undefined;
        }
        const prior = out.add.get(field.toLowerCase());
        const collision =
          problem ??
          (prior && prior.column !== field
            ? `field "${field}" collides with new column "${prior.column}" after case folding`
            : undefined);
        if (collision) {
          dead(
            out,
            index,
            'new_column',
            `table "${config.table}" cannot get a column for value ${describeValue(value)}: ${collision}`,
            details,
          );
          return undefined;
        }
        if (!prior) out.add.set(field.toLowerCase(), { column: field, type: inferred });
        needsChange = true;
      }
    }
    const problems: ValueProblem[] = [];
    let row: SqlValue[];
    try {
      row = mapRow(record, problems);
    } catch (err) {
      // A key column without a value or with a value of the wrong type: no policy applies.
      if (!(err instanceof RecordRowError)) throw err;
      if (err.reason === 'type') discard(out, 'type_change', 'freeze');
      out.failures.push({
        index,
        error: new FatalError(`${doing}: ${err.message}`, {
          details: { table: config.table, column: err.column, field: err.field },
        }),
      });
      return undefined;
    }
    if (problems.length > 0) {
      const details = (p: ValueProblem) => ({
        table: config.table,
        column: p.column,
        field: p.field,
        value: describeValue(p.value),
        expected: p.type,
      });
      const doesNotFit = (p: ValueProblem) =>
        `column "${p.column}" (${p.type}) from field "${p.field}": ${p.message}`;
      if (policy.typeChange === 'discard_row') {
        discard(out, 'type_change', 'discard_row');
        return undefined;
      }
      if (policy.typeChange === 'freeze') {
        dead(
          out,
          index,
          'type_change',
          `${doesNotFit(problems[0]!)}; schema.typeChange is freeze`,
          details(problems[0]!),
        );
        return undefined;
      }
      if (policy.typeChange === 'discard_value') {
        const required = problems.find((p) => !p.nullable);
        if (required) {
          dead(
            out,
            index,
            'type_change',
            `${doesNotFit(required)}; the column is not nullable, so schema.typeChange discard_value cannot write null instead`,
            details(required),
          );
          return undefined;
        }
        for (let i = 0; i < problems.length; i++) discard(out, 'type_change', 'discard_value');
      } else {
        for (const p of problems) {
          const column = columns[p.index]!;
          const target = wideningFor(config.dialect, column.type, p.value);
          if (!target) {
            dead(
              out,
              index,
              'type_change',
              `table "${config.table}" column "${p.column}" expects ${p.type} and cannot be widened safely for value ${describeValue(p.value)} (field "${p.field}": ${p.message})`,
              details(p),
            );
            return undefined;
          }
          const prior = out.widen.get(column.name);
          out.widen.set(column.name, prior ? widerType(prior, target) : target);
        }
        needsChange = true;
      }
    }
    return needsChange ? undefined : row;
  }

  function countTurnedAway(mapped: MappedBatch): void {
    for (const [k, n] of mapped.discarded) {
      const [kind, action] = k.split('/') as [PolicyKind, string];
      turnedAway(kind, action, n);
    }
  }

  /** Counts a batch just written, and reports the records mapping or the database rejected. */
  function reportWritten(
    batch: Batch,
    mapped: MappedBatch,
    rowCount: number,
    rejected: readonly RecordFailure[],
  ): void {
    countTurnedAway(mapped);
    // Rows the database refused for their type (told by the driver's error code) are what
    // the policy calls a type change, counted with the ones caught before writing.
    turnedAway(
      'type_change',
      'freeze',
      rejected.filter((f) => isTypeRejection(config.dialect, f.error.cause)).length,
    );
    batchesWritten.inc({ table: config.table, outcome: 'written' });
    rowsWritten.inc({ table: config.table, outcome: 'written' }, rowCount - rejected.length);
    ledgerPruning.due();
    rejectRecords(batch, [...mapped.failures, ...rejected]);
  }

  function rejectRecords(batch: Batch, failures: RecordFailure[]): void {
    if (failures.length === 0) return;
    rowsWritten.inc({ table: config.table, outcome: 'failed' }, failures.length);
    logger.warn({ batch: batch.id, failed: failures.length }, 'records rejected');
    throw new PartialBatchError(failures);
  }

  function ensureReady(): Promise<void> {
    // A failed preparation (database down) is retried on the next write, not cached forever.
    ready ??= prepare().catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    return ready;
  }

  return {
    // With createTable the table is made (or found) before the first batch, as before the ledger.
    // Otherwise nothing is touched until the first write, so an unreachable database makes the
    // batches retry and dead-letter rather than fail the run before it reads (the ledger table
    // is created on that first write).
    open: async () => {
      if (policy.newTable === 'evolve') await ensureReady();
    },

    async write(batch: Batch, options: WriteOptions): Promise<void> {
      if (options.signal.aborted)
        throw new RetryableError('write cancelled before it started', {
          cause: options.signal.reason,
        });
      await ensureReady();
      if (await stillMissing()) {
        if (policy.newTable === 'discard_row') {
          turnedAway('new_table', 'discard_row', batch.records.length);
          logger.warn(
            { batch: batch.id, dropped: batch.records.length },
            'table missing; records dropped (schema.newTable discard_row)',
          );
          return;
        }
        turnedAway('new_table', 'freeze', batch.records.length);
        throw new PartialBatchError(
          batch.records.map((_, index) => ({
            index,
            error: new FatalError(
              `${doing}: table "${config.table}" does not exist and schema.newTable is freeze (create it, or set schema.newTable: evolve)`,
              { details: { table: config.table } },
            ),
          })),
        );
      }
      const whileMapping = rowsWhileMapping(batch);
      if (await writer!.writeWhileMapping?.(whileMapping.rows, batch)) {
        reportWritten(batch, whileMapping.mapped(), whileMapping.rows.written, []);
        return;
      }
      let mapped = mapBatch(batch);
      // A table change, then the batch is mapped again against the new columns; values of later
      // records may need a further widening, hence a few rounds.
      for (let round = 0; mapped.add.size > 0 || mapped.widen.size > 0; round++) {
        if (round === 3)
          throw new RetryableError(`${doing}: the table kept changing while the batch was mapped`);
        await evolve(
          [...mapped.add.values()],
          [...mapped.widen].map(([column, type]) => ({ column, type })),
        );
        mapped = mapBatch(batch);
      }
      const { rows, indexes } = mapped;
      let outcome: WriteOutcome;
      try {
        outcome = await writer!.write({ rows, indexes }, doing, batch);
      } catch (err) {
        // A declared column the table lost since it was read (dropped, renamed), told by the
        // driver's error code: under newColumn evolve the table is read again, the column added
        // back, and the batch written once more (its failed transaction committed nothing).
        const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
        if (policy.newColumn !== 'evolve' || !isUndefinedColumn(config.dialect, cause)) throw err;
        await adoptTable(database!.db);
        outcome = await writer!.write({ rows, indexes }, doing, batch);
      }
      if (!outcome.repeat) {
        reportWritten(batch, mapped, rows.length, outcome.failures);
        return;
      }
      // Committed before (this batch's ledger row exists): nothing was written now. Indexes
      // the database rejected then are reported again, so they are not silently acknowledged.
      countTurnedAway(mapped);
      batchesWritten.inc({ table: config.table, outcome: 'repeat' });
      logger.info(
        { batch: batch.id, attempt: batch.attempt },
        'batch already written (delivery ledger); skipped as a repeat',
      );
      rejectRecords(batch, [
        ...mapped.failures,
        ...outcome.failed.map((index) => ({
          index,
          error: new FatalError(
            `${doing}: the database rejected the record when batch "${batch.id}" was first written`,
          ),
        })),
      ]);
    },

    async check(): Promise<CheckResult> {
      try {
        const { db } = await connection();
        await db
          .selectFrom(plan.tableRef)
          .select(config.columns.map((c) => checkedIdentifier(c.name)))
          .where(sql<boolean>`1 = 0`)
          .execute();
        return {
          ok: true,
          message: `table "${config.table}" is reachable and has every declared column`,
        };
      } catch (err) {
        const error = toSluiceError(config.dialect, err, `checking table "${config.table}"`);
        const hint = config.createTable ? ' (it will be created on open)' : '';
        return { ok: false, message: `${error.message}${hint}` };
      }
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const open = handle;
      handle = undefined;
      await ledgerPruning.settled();
      // A pool that never opened (its driver is missing) has nothing to close.
      await open?.then(
        (opened) => opened.destroy(),
        () => undefined,
      );
    },
  };
}

/**
 * The `database` destination kind.
 *
 * @example
 * ```ts
 * import { createPluginContext, parseConfig } from '@sluice/core';
 * import { databaseDestination } from '@sluice/destinations-database';
 *
 * const config = parseConfig(databaseDestination.configSchema, {
 *   dialect: 'sqlite',
 *   file: 'sessions.db',
 *   table: 'sessions',
 *   mode: 'upsert',
 *   key: ['day', 'channel'],
 *   createTable: true,
 *   columns: [
 *     { name: 'day', type: 'date', primaryKey: true },
 *     { name: 'channel', type: 'text', primaryKey: true },
 *     { name: 'sessions', type: 'bigint', from: '$.metrics.sessions' },
 *   ],
 * });
 * const destination = await databaseDestination.create(config, createPluginContext());
 * ```
 */
export const databaseDestination = defineDestination({
  kind: 'database',
  version: '0.1.0',
  description:
    'Writes records to a PostgreSQL, MySQL/MariaDB or SQLite table (insert, upsert or dedupe).',
  configSchema: databaseConfigSchema,
  capabilities: (config) => ({
    maxBatch: config.maxBatch,
    // One transaction (and commit) per batch: as many rows as a transaction may hold.
    preferredBatch: { maxRecords: config.maxBatch },
    // SQLite has a single writer: concurrent batches would only queue.
    maxInFlight: config.dialect === 'sqlite' ? 1 : config.maxInFlight,
    // Upserts and dedupes leave the same rows when a batch is written twice; plain inserts do
    // so through the delivery ledger, keyed by batch id — which is why the router must cut every
    // attempt's batches alike (idempotency 'batch').
    idempotent: config.mode !== 'insert' || usesLedger(config),
    ...(config.mode !== 'insert'
      ? { idempotency: 'content' as const }
      : usesLedger(config)
        ? { idempotency: 'batch' as const }
        : {}),
  }),
  create: (config, ctx) => createDatabaseInstance(config, ctx),
});
