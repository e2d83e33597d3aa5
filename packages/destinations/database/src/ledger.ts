/**
 * The delivery ledger of insert mode: one row per batch written to a table, in a table of the
 * target database (`_sluice_batches` by default, in the target table's schema), inserted in the
 * same transaction as the batch's rows. A batch whose ledger row exists was committed before, so
 * writing it again (a take-over re-reading the source from the last checkpoint, a retry after a
 * lost acknowledgement) writes nothing: plain inserts become effectively once.
 *
 * The ledger row is claimed first in the transaction. A concurrent writer of the same batch
 * (a zombie and its take-over) then waits on the ledger key until the first commits or rolls
 * back, and finds the row, or claims it itself: never both.
 *
 * "The same batch" is the same id and the same records, by their record keys: a dead-letter
 * replay keeps the record keys and batch ids of the first delivery, so a replay of some records
 * of a partially written batch carries that batch's id with fewer records — a batch of its own,
 * which must reach the database, not be taken for the original.
 */
import { createHash } from 'node:crypto';
import { sql, type CompiledQuery, type Kysely } from 'kysely';
import type { Clock, Logger } from '@sluice/core';
import { checkedIdentifier, quoteTable, type DialectName, type TableName } from './identifiers.js';
import { queryBuilder } from './query-builder.js';
import { toSluiceError } from './errors.js';

/** Runs one statement inside the batch's transaction (a kysely transaction or a raw `pg` client). */
export type LedgerExecute = (
  sql: string,
  parameters: readonly unknown[],
) => Promise<{ rows: readonly Record<string, unknown>[]; affected: number }>;

/** What identifies a batch in the ledger: its id and, when the router set them, its record keys. */
export interface LedgerBatch {
  readonly id: string;
  readonly recordKeys?: readonly string[] | undefined;
}

/** What claiming a batch found. */
export type LedgerClaim =
  | { readonly repeat: false }
  /** The batch was committed before; `failed` are the indexes the database rejected then. */
  | { readonly repeat: true; readonly failed: readonly number[] };

/** The ledger of one destination table. */
export interface BatchLedger {
  /** The quoted ledger table. */
  readonly table: string;
  /** `CREATE TABLE IF NOT EXISTS` (and its index) for the ledger, compiled for the dialect. */
  createQueries(): CompiledQuery[];
  /** A query that reads nothing from the ledger table, and fails when the table is missing. */
  probeQuery(): CompiledQuery;
  /** Claims `batch` in the transaction `execute` runs in. */
  claim(execute: LedgerExecute, batch: LedgerBatch, rowCount: number): Promise<LedgerClaim>;
  /** Records, in the same transaction as the claim, which record indexes the database rejected. */
  recordFailures(
    execute: LedgerExecute,
    batch: LedgerBatch,
    written: number,
    failed: readonly number[],
  ): Promise<void>;
  /** The query that deletes this table's ledger rows older than `before` (ms). */
  pruneQuery(before: number): CompiledQuery;
}

/** Default name of the ledger table. */
export const DEFAULT_LEDGER_TABLE = '_sluice_batches';

/** Longest batch id stored as it is; longer ids are stored as their SHA-256 (the key column is VARCHAR(255) on MySQL). */
const MAX_STORED_ID = 255;

/**
 * The ledger key of a batch id: the id itself, or `sha256:<hex>` of it when it is too long for
 * the key column. Deterministic, so every attempt of a batch finds the same key.
 *
 * @example
 * ```ts
 * ledgerKey('daily-warehouse-7f3a-3f9c0a21be-000001'); // the same string
 * ```
 */
export function ledgerKey(batchId: string): string {
  return batchId.length <= MAX_STORED_ID
    ? batchId
    : `sha256:${createHash('sha256').update(batchId).digest('hex')}`;
}

/**
 * The digest of a batch's record keys (32 hex digits of their SHA-256), or '' for a batch
 * without them (built by hand: its id alone identifies it).
 *
 * @example
 * ```ts
 * recordKeysDigest({ id: 'b1' });                          // ""
 * recordKeysDigest({ id: 'b1', recordKeys: ['k1', 'k2'] }); // 32 hex digits
 * ```
 */
export function recordKeysDigest(batch: LedgerBatch): string {
  if (batch.recordKeys === undefined) return '';
  return createHash('sha256').update(batch.recordKeys.join('\n')).digest('hex').slice(0, 32);
}

function isDuplicateKey(dialect: DialectName, error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return dialect === 'mysql' && code === 'ER_DUP_ENTRY';
}

function parseFailed(value: unknown): number[] {
  if (typeof value !== 'string' || value === '') return [];
  const parsed = JSON.parse(value) as unknown;
  return Array.isArray(parsed) ? parsed.filter((i): i is number => Number.isInteger(i)) : [];
}

/** Runs a compiled query through the transaction's `execute`. */
function run(execute: LedgerExecute, query: CompiledQuery) {
  return execute(query.sql, query.parameters);
}

/**
 * Creates the ledger of one destination table.
 *
 * @param target the destination table; the ledger lives in its schema (PostgreSQL) or database (MySQL).
 * @param tableLabel how the destination table is named in the ledger's `table_name` column.
 * @param ledgerName the ledger table's own name (validated identifier).
 * @param now the clock, in ms since the epoch (the plugin context's clock).
 *
 * @example
 * ```ts
 * const ledger = createBatchLedger('postgres', { schema: 'analytics', name: 'events' }, 'analytics.events', '_sluice_batches', Date.now);
 * ledger.createQueries().map((q) => q.sql); // ['create table if not exists "analytics"."_sluice_batches" (...)', 'create index ...']
 * ```
 */
export function createBatchLedger(
  dialect: DialectName,
  target: TableName,
  tableLabel: string,
  ledgerName: string,
  now: () => number,
): BatchLedger {
  const db = queryBuilder(dialect);
  const ledgerTable: TableName =
    target.schema === undefined
      ? { name: checkedIdentifier(ledgerName) }
      : { schema: checkedIdentifier(target.schema), name: checkedIdentifier(ledgerName) };
  const table = quoteTable(dialect, ledgerTable);
  /** The ledger table as kysely names it. */
  const ref =
    ledgerTable.schema === undefined
      ? ledgerTable.name
      : `${ledgerTable.schema}.${ledgerTable.name}`;
  const indexName = `${ledgerName.slice(0, 52)}_written_at`;
  const key = ['table_name', 'batch_id', 'record_keys_digest'] as const;

  function createQueries(): CompiledQuery[] {
    if (dialect === 'mysql') {
      // One `sql` statement: kysely's createTable has no inline INDEX, and MySQL (unlike
      // MariaDB) has no CREATE INDEX IF NOT EXISTS to add it after. Binary collation: batch ids
      // that differ only in case are different batches.
      const text = sql.raw('VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL');
      const [tableName, batchId, keysDigest, rowCount, failed, writtenAt] = [
        'table_name',
        'batch_id',
        'record_keys_digest',
        'row_count',
        'failed',
        'written_at_ms',
      ].map((name) => sql.id(name));
      return [
        sql`CREATE TABLE IF NOT EXISTS ${sql.table(ref)} (${tableName} ${text}, ${batchId} ${text}, ${keysDigest} VARCHAR(32) CHARACTER SET ascii NOT NULL, ${rowCount} INT NOT NULL, ${failed} LONGTEXT NULL, ${writtenAt} BIGINT NOT NULL, PRIMARY KEY (${tableName}, ${batchId}, ${keysDigest}), INDEX ${sql.id(indexName)} (${tableName}, ${writtenAt}))`.compile(
          db,
        ),
      ];
    }
    const text = sql.raw(dialect === 'postgres' ? 'text' : 'TEXT');
    const queries: CompiledQuery[] = [];
    if (dialect === 'postgres' && ledgerTable.schema !== undefined)
      queries.push(db.schema.createSchema(ledgerTable.schema).ifNotExists().compile());
    queries.push(
      db.schema
        .createTable(ref)
        .ifNotExists()
        .addColumn('table_name', text, (col) => col.notNull())
        .addColumn('batch_id', text, (col) => col.notNull())
        .addColumn('record_keys_digest', text, (col) => col.notNull())
        .addColumn('row_count', 'integer', (col) => col.notNull())
        .addColumn('failed', text)
        .addColumn('written_at_ms', 'bigint', (col) => col.notNull())
        // An empty name leaves the constraint unnamed, as in ddl.ts.
        .addPrimaryKeyConstraint('', [...key])
        .compile(),
    );
    if (dialect === 'sqlite' && ledgerTable.schema !== undefined) {
      // SQLite names the schema on the index, not on its table, which kysely's createIndex
      // cannot say: a `sql` statement.
      queries.push(
        sql`CREATE INDEX IF NOT EXISTS ${sql.id(ledgerTable.schema, indexName)} ON ${sql.id(ledgerTable.name)} (${sql.id('table_name')}, ${sql.id('written_at_ms')})`.compile(
          db,
        ),
      );
    } else {
      // PostgreSQL puts the index in its table's schema.
      queries.push(
        db.schema
          .createIndex(indexName)
          .ifNotExists()
          .on(ref)
          .columns(['table_name', 'written_at_ms'])
          .compile(),
      );
    }
    return queries;
  }

  async function claim(
    execute: LedgerExecute,
    batch: LedgerBatch,
    rows: number,
  ): Promise<LedgerClaim> {
    const identity = {
      table_name: tableLabel,
      batch_id: ledgerKey(batch.id),
      record_keys_digest: recordKeysDigest(batch),
    };
    const insert = db
      .insertInto(ref)
      .values({ ...identity, row_count: rows, written_at_ms: now() });
    let claimed: boolean;
    if (dialect === 'mysql') {
      // MySQL has no ON CONFLICT DO NOTHING (and mysql2's FOUND_ROWS flag makes a no-op
      // ON DUPLICATE KEY UPDATE count as a changed row): a duplicate key fails this statement
      // only — InnoDB keeps the transaction usable.
      try {
        await run(execute, insert.compile());
        claimed = true;
      } catch (err) {
        if (!isDuplicateKey(dialect, err)) throw err;
        claimed = false;
      }
    } else {
      claimed =
        (await run(execute, insert.onConflict((oc) => oc.columns([...key]).doNothing()).compile()))
          .affected > 0;
    }
    if (claimed) return { repeat: false };
    const found = await run(
      execute,
      db
        .selectFrom(ref)
        .select('failed')
        .where('table_name', '=', identity.table_name)
        .where('batch_id', '=', identity.batch_id)
        .where('record_keys_digest', '=', identity.record_keys_digest)
        .compile(),
    );
    return { repeat: true, failed: parseFailed(found.rows[0]?.failed) };
  }

  async function recordFailures(
    execute: LedgerExecute,
    batch: LedgerBatch,
    written: number,
    failedIndexes: readonly number[],
  ): Promise<void> {
    await run(
      execute,
      db
        .updateTable(ref)
        .set({
          row_count: written,
          failed: failedIndexes.length === 0 ? null : JSON.stringify(failedIndexes),
        })
        .where('table_name', '=', tableLabel)
        .where('batch_id', '=', ledgerKey(batch.id))
        .where('record_keys_digest', '=', recordKeysDigest(batch))
        .compile(),
    );
  }

  function pruneQuery(before: number): CompiledQuery {
    return db
      .deleteFrom(ref)
      .where('table_name', '=', tableLabel)
      .where('written_at_ms', '<', before)
      .compile();
  }

  function probeQuery(): CompiledQuery {
    return db
      .selectFrom(ref)
      .select(sql.lit(1).as('one'))
      .where(sql<boolean>`1 = 0`)
      .compile();
  }

  return { table, createQueries, probeQuery, claim, recordFailures, pruneQuery };
}

/**
 * Creates the ledger table when missing. Creating can fail where the table exists (a role
 * without CREATE rights, two instances creating at once): the table is then probed instead.
 *
 * @example
 * ```ts
 * await createLedgerTable(db, ledger, 'postgres');
 * ```
 */
export async function createLedgerTable(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>,
  ledger: BatchLedger,
  dialect: DialectName,
): Promise<void> {
  try {
    for (const query of ledger.createQueries()) await db.executeQuery(query);
  } catch (err) {
    const exists = await db.executeQuery(ledger.probeQuery()).then(
      () => true,
      () => false,
    );
    if (!exists)
      throw toSluiceError(dialect, err, `creating the delivery ledger table ${ledger.table}`);
  }
}

/** Ledger rows are pruned on open and then at most once per this interval, after a write. */
const LEDGER_PRUNE_INTERVAL_MS = 3_600_000;

/** Prunes the ledger occasionally; see {@link createLedgerPruning}. */
export interface LedgerPruning {
  /** Prunes now (on open), and from then on when due. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  start(db: Kysely<any>): void;
  /** Prunes when the interval has passed since the last prune (called after each written batch). */
  due(): void;
  /** Resolves when no prune is running (close waits for it). */
  settled(): Promise<void>;
}

/**
 * Deletes the table's ledger rows older than the retention, in the background, at most once per
 * interval: a failed prune is only logged (the next one catches up), and never delays a batch.
 * The retention must outlast the longest a run can be resumed after: a batch repeated after its
 * ledger row is gone is written again.
 *
 * @example
 * ```ts
 * const pruning = createLedgerPruning(ledger, config.ledgerRetentionDays, ctx.clock, logger);
 * pruning.start(db);
 * ```
 */
export function createLedgerPruning(
  ledger: BatchLedger | undefined,
  retentionDays: number,
  clock: Clock,
  logger: Logger,
): LedgerPruning {
  let last = -Infinity;
  let running: Promise<void> | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let db: Kysely<any> | undefined;
  function due(): void {
    const now = clock.now();
    if (!ledger || !db || running || now - last < LEDGER_PRUNE_INTERVAL_MS) return;
    last = now;
    running = db
      .executeQuery(ledger.pruneQuery(now - retentionDays * 86_400_000))
      .then(
        (result) =>
          logger.debug(
            { deleted: Number(result.numAffectedRows ?? 0n) },
            'pruned the delivery ledger',
          ),
        (err: unknown) =>
          logger.warn({ err }, 'could not prune the delivery ledger; trying again later'),
      )
      .finally(() => {
        running = undefined;
      });
  }
  return {
    start(opened) {
      db = opened;
      due();
    },
    due,
    settled: async () => {
      await running;
    },
  };
}
