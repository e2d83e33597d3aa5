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
import { CompiledQuery, type Kysely } from 'kysely';
import type { Clock, Logger } from '@sluice/core';
import { quoteIdentifier, quoteTable, type DialectName, type TableName } from './identifiers.js';
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
  /** `CREATE TABLE IF NOT EXISTS` (and its index) for the ledger. */
  createStatements(): string[];
  /** Claims `batch` in the transaction `execute` runs in. */
  claim(execute: LedgerExecute, batch: LedgerBatch, rowCount: number): Promise<LedgerClaim>;
  /** Records, in the same transaction as the claim, which record indexes the database rejected. */
  recordFailures(
    execute: LedgerExecute,
    batch: LedgerBatch,
    written: number,
    failed: readonly number[],
  ): Promise<void>;
  /** The statement and parameters that delete this table's ledger rows older than `before` (ms). */
  pruneStatement(before: number): { sql: string; parameters: unknown[] };
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
 * ledger.createStatements(); // ['CREATE TABLE IF NOT EXISTS "analytics"."_sluice_batches" (...)', 'CREATE INDEX ...']
 * ```
 */
export function createBatchLedger(
  dialect: DialectName,
  target: TableName,
  tableLabel: string,
  ledgerName: string,
  now: () => number,
): BatchLedger {
  const q = (name: string) => quoteIdentifier(dialect, name);
  const ledgerTable: TableName =
    target.schema === undefined
      ? { name: ledgerName }
      : { schema: target.schema, name: ledgerName };
  const table = quoteTable(dialect, ledgerTable);
  const p = (n: number) => (dialect === 'postgres' ? `$${n}` : '?');
  const indexName = `${ledgerName.slice(0, 52)}_written_at`;
  const [tableName, batchId, keysDigest, rowCount, failed, writtenAt] = [
    'table_name',
    'batch_id',
    'record_keys_digest',
    'row_count',
    'failed',
    'written_at_ms',
  ].map(q) as [string, string, string, string, string, string];
  const primaryKey = `${tableName}, ${batchId}, ${keysDigest}`;

  function createStatements(): string[] {
    if (dialect === 'mysql') {
      // Binary collation: batch ids that differ only in case are different batches.
      const key = 'VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL';
      return [
        `CREATE TABLE IF NOT EXISTS ${table} (${tableName} ${key}, ${batchId} ${key}, ${keysDigest} VARCHAR(32) CHARACTER SET ascii NOT NULL, ${rowCount} INT NOT NULL, ` +
          `${failed} LONGTEXT NULL, ${writtenAt} BIGINT NOT NULL, PRIMARY KEY (${primaryKey}), INDEX ${q(indexName)} (${tableName}, ${writtenAt}))`,
      ];
    }
    const text = dialect === 'postgres' ? 'text' : 'TEXT';
    const statements: string[] = [];
    if (dialect === 'postgres' && target.schema !== undefined)
      statements.push(`CREATE SCHEMA IF NOT EXISTS ${q(target.schema)}`);
    statements.push(
      `CREATE TABLE IF NOT EXISTS ${table} (${tableName} ${text} NOT NULL, ${batchId} ${text} NOT NULL, ${keysDigest} ${text} NOT NULL, ${rowCount} integer NOT NULL, ` +
        `${failed} ${text}, ${writtenAt} bigint NOT NULL, PRIMARY KEY (${primaryKey}))`,
    );
    // PostgreSQL puts an index in the table's schema; SQLite names the schema on the index instead.
    const index =
      dialect === 'sqlite' && target.schema !== undefined
        ? `${q(target.schema)}.${q(indexName)}`
        : q(indexName);
    const on = dialect === 'sqlite' ? q(ledgerName) : table;
    statements.push(`CREATE INDEX IF NOT EXISTS ${index} ON ${on} (${tableName}, ${writtenAt})`);
    return statements;
  }

  /** The row of one batch, its three parameters numbered from `first`. */
  const whereAt = (first: number) =>
    `${tableName} = ${p(first)} AND ${batchId} = ${p(first + 1)} AND ${keysDigest} = ${p(first + 2)}`;

  async function claim(
    execute: LedgerExecute,
    batch: LedgerBatch,
    rows: number,
  ): Promise<LedgerClaim> {
    const identity = [tableLabel, ledgerKey(batch.id), recordKeysDigest(batch)];
    const insert = `INSERT INTO ${table} (${tableName}, ${batchId}, ${keysDigest}, ${rowCount}, ${writtenAt}) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)})`;
    const values = [...identity, rows, now()];
    let claimed: boolean;
    if (dialect === 'mysql') {
      // MySQL has no ON CONFLICT DO NOTHING (and mysql2's FOUND_ROWS flag makes a no-op
      // ON DUPLICATE KEY UPDATE count as a changed row): a duplicate key fails this statement
      // only — InnoDB keeps the transaction usable.
      try {
        await execute(insert, values);
        claimed = true;
      } catch (err) {
        if (!isDuplicateKey(dialect, err)) throw err;
        claimed = false;
      }
    } else {
      claimed =
        (await execute(`${insert} ON CONFLICT (${primaryKey}) DO NOTHING`, values)).affected > 0;
    }
    if (claimed) return { repeat: false };
    const found = await execute(
      `SELECT ${failed} AS failed FROM ${table} WHERE ${whereAt(1)}`,
      identity,
    );
    return { repeat: true, failed: parseFailed(found.rows[0]?.failed) };
  }

  async function recordFailures(
    execute: LedgerExecute,
    batch: LedgerBatch,
    written: number,
    failedIndexes: readonly number[],
  ): Promise<void> {
    await execute(
      `UPDATE ${table} SET ${rowCount} = ${p(1)}, ${failed} = ${p(2)} WHERE ${whereAt(3)}`,
      [
        written,
        failedIndexes.length === 0 ? null : JSON.stringify(failedIndexes),
        tableLabel,
        ledgerKey(batch.id),
        recordKeysDigest(batch),
      ],
    );
  }

  function pruneStatement(before: number): { sql: string; parameters: unknown[] } {
    return {
      sql: `DELETE FROM ${table} WHERE ${tableName} = ${p(1)} AND ${writtenAt} < ${p(2)}`,
      parameters: [tableLabel, before],
    };
  }

  return { table, createStatements, claim, recordFailures, pruneStatement };
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
    for (const statement of ledger.createStatements())
      await db.executeQuery(CompiledQuery.raw(statement));
  } catch (err) {
    const exists = await db
      .executeQuery(CompiledQuery.raw(`SELECT 1 FROM ${ledger.table} WHERE 1 = 0`))
      .then(
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
    const { sql, parameters } = ledger.pruneStatement(now - retentionDays * 86_400_000);
    running = db
      .executeQuery(CompiledQuery.raw(sql, parameters))
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
