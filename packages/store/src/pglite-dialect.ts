/**
 * A kysely dialect over an embedded PGlite. PGlite is one PostgreSQL session shared by everything
 * in the process (our repositories and pg-boss), so a transaction must own the session for its
 * whole life: this dialect opens each kysely transaction through `PGlite.transaction()`, which
 * holds PGlite's transaction lock until COMMIT/ROLLBACK, and every query outside it waits. (The
 * `kysely-pglite` driver sends a bare `BEGIN` instead, which lets a concurrent query land inside
 * someone else's transaction.)
 *
 * Not kysely 0.29's own `PGliteDialect`: it keeps the lock too, but sends every query through
 * `query()` (a multi-statement migration fails), ignores isolation level and access mode, and
 * always closes the PGlite on destroy (the store must leave a caller's PGlite open).
 *
 * Queries without parameters go through `exec()` (the simple protocol, like `pg` does), so a
 * multi-statement script such as a migration runs as written.
 */
import {
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type {
  PGliteDatabase,
  PGliteQueries,
  PGliteResults,
  PGliteTransaction,
} from './pglite-types.js';

/** Options of {@link createPGliteDialect}. */
export interface PGliteDialectOptions {
  pglite: PGliteDatabase;
  /** Close the PGlite when kysely is destroyed (true when the store opened it). */
  closeOnDestroy: boolean;
}

/**
 * Creates the dialect.
 *
 * @example
 * ```ts
 * const db = new Kysely<Tables>({ dialect: createPGliteDialect({ pglite: await PGlite.create(), closeOnDestroy: true }) });
 * ```
 */
export function createPGliteDialect(options: PGliteDialectOptions): Dialect {
  return {
    createAdapter: (): DialectAdapter => new PostgresAdapter(),
    createDriver: (): Driver => new PGliteDriver(options),
    createIntrospector: (db: Kysely<unknown>): DatabaseIntrospector => new PostgresIntrospector(db),
    createQueryCompiler: (): QueryCompiler => new PostgresQueryCompiler(),
  };
}

class PGliteDriver implements Driver {
  readonly #options: PGliteDialectOptions;

  constructor(options: PGliteDialectOptions) {
    this.#options = options;
  }

  async init(): Promise<void> {
    await this.#options.pglite.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PGliteConnection(this.#options.pglite);
  }

  async beginTransaction(
    connection: DatabaseConnection,
    settings: TransactionSettings,
  ): Promise<void> {
    await (connection as PGliteConnection).begin(settings);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).end(true);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).end(false);
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {
    if (this.#options.closeOnDestroy) await closePGlite(this.#options.pglite);
  }
}

class PGliteConnection implements DatabaseConnection {
  readonly #pglite: PGliteDatabase;
  #tx: PGliteTransaction | undefined;
  #settle: ((commit: boolean) => void) | undefined;
  #done: Promise<void> | undefined;

  constructor(pglite: PGliteDatabase) {
    this.#pglite = pglite;
  }

  /** Opens a PGlite transaction and keeps it open until {@link end}. */
  async begin(settings: TransactionSettings): Promise<void> {
    let opened!: () => void;
    let failed!: (error: unknown) => void;
    const started = new Promise<void>((resolve, reject) => {
      opened = resolve;
      failed = reject;
    });
    this.#done = this.#pglite
      .transaction(async (tx) => {
        this.#tx = tx;
        const commit = new Promise<boolean>((resolve) => {
          this.#settle = resolve;
        });
        try {
          if (settings.isolationLevel || settings.accessMode) {
            const parts = [
              settings.isolationLevel
                ? `ISOLATION LEVEL ${settings.isolationLevel.toUpperCase()}`
                : '',
              settings.accessMode ? settings.accessMode.toUpperCase() : '',
            ].filter(Boolean);
            await tx.exec(`SET TRANSACTION ${parts.join(' ')}`);
          }
        } finally {
          opened();
        }
        if (!(await commit)) await tx.rollback();
      })
      .finally(() => {
        this.#tx = undefined;
        this.#settle = undefined;
      });
    // A failure before the callback ran (BEGIN itself) rejects `started`; later ones surface in end().
    this.#done.catch(failed);
    await started;
  }

  /** Commits (or rolls back) the open transaction and waits for PGlite to release its lock. */
  async end(commit: boolean): Promise<void> {
    const done = this.#done;
    this.#done = undefined;
    this.#settle?.(commit);
    await done;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const target: PGliteQueries = this.#tx ?? this.#pglite;
    const result: PGliteResults<R> =
      compiledQuery.parameters.length === 0
        ? lastResult(await target.exec(compiledQuery.sql))
        : await target.query<R>(compiledQuery.sql, [...compiledQuery.parameters]);
    return result.affectedRows === undefined
      ? { rows: result.rows }
      : { rows: result.rows, numAffectedRows: BigInt(result.affectedRows) };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('The PGlite dialect does not stream query results');
  }
}

function lastResult<R>(results: PGliteResults[]): PGliteResults<R> {
  return (results[results.length - 1] ?? { rows: [], fields: [] }) as PGliteResults<R>;
}

/**
 * Closes a PGlite the store opened (idempotent). A session idle with table statistics not yet
 * flushed keeps PostgreSQL's 10 s IDLE_STATS_UPDATE_TIMEOUT armed — a Node timer inside PGlite
 * that outlives close() and keeps the process from exiting; flushing them first disarms it.
 *
 * @example
 * ```ts
 * await closePGlite(pglite);
 * ```
 */
export async function closePGlite(pglite: PGliteDatabase): Promise<void> {
  if (pglite.closed) return;
  await pglite.query('SELECT pg_stat_force_next_flush()').catch(() => undefined);
  if (!pglite.closed) await pglite.close();
}
