/**
 * The store's own structural type of an embedded PGlite: the members the store, its kysely dialect
 * and its pg-boss adapter use. `@electric-sql/pglite`'s declarations do not compile under
 * `skipLibCheck: false` (they name Emscripten globals they do not declare), so the store's
 * public `.d.ts` describe a PGlite with this interface; a `PGlite` instance fits it as it is.
 *
 * @packageDocumentation
 */

/** The result of one statement (PGlite's `Results`). */
export interface PGliteResults<R = Record<string, unknown>> {
  rows: R[];
  /** Rows inserted, updated or deleted, when the statement changes rows. */
  affectedRows?: number;
  fields: { name: string; dataTypeID: number }[];
}

/** What runs SQL: the database itself or an open transaction. */
export interface PGliteQueries {
  /** One statement with `$1`-style parameters (the extended protocol). */
  query<R>(text: string, params?: unknown[]): Promise<PGliteResults<R>>;
  /** Statements without parameters (the simple protocol): one result per statement. */
  exec(text: string): Promise<PGliteResults[]>;
}

/** An open PGlite transaction (inside `transaction()`'s callback). */
export interface PGliteTransaction extends PGliteQueries {
  rollback(): Promise<void>;
}

/**
 * An open PGlite (`await PGlite.create(dataDir)` from `@electric-sql/pglite`), as the store uses it.
 *
 * @example
 * ```ts
 * import { PGlite } from '@electric-sql/pglite';
 * const pglite: PGliteDatabase = await PGlite.create('memory://');
 * const store = await createStore({ pglite, schema: 'tenant_a' }); // the store never closes it
 * ```
 */
export interface PGliteDatabase extends PGliteQueries {
  /** Resolves when the database is ready for queries. */
  readonly waitReady: Promise<void>;
  readonly closed: boolean;
  close(): Promise<void>;
  /** Runs `callback` in a transaction that owns PGlite's single session until it settles. */
  transaction<T>(callback: (tx: PGliteTransaction) => Promise<T>): Promise<T>;
}
