/**
 * Runs pg-boss 12 on the store's PGlite: pg-boss takes a `db` with `executeSql(text, values)`.
 * With parameters a statement goes to `query()`; without, the text may hold several statements
 * (pg-boss's schema and `BEGIN ... COMMIT` blocks), so it goes to `exec()`, returning the single
 * result for one statement and every statement's result otherwise — pg-boss reads the rows of
 * each statement from that array.
 */
import type { JobQueueDatabase } from '@sluice/core';
import type { PGliteDatabase, PGliteResults } from './pglite-types.js';

/**
 * Creates the adapter. PGlite is one session, so a failed multi-statement block could leave it
 * inside an aborted transaction; the adapter rolls that back before rethrowing, the way a pool
 * would simply discard the connection. (Top-level `query()` waits for any open kysely
 * transaction to finish, so the ROLLBACK never touches another caller's transaction.)
 *
 * @example
 * ```ts
 * import { PgBoss } from 'pg-boss';
 * const boss = new PgBoss({ db: createPgBossPGliteAdapter(pglite), backend: 'pglite', schema: 'sluice_jobs' });
 * ```
 */
export function createPgBossPGliteAdapter(pglite: PGliteDatabase): JobQueueDatabase {
  return {
    // pg-boss's IDatabase types rows as any[].
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async executeSql(text: string, values?: unknown[]): Promise<{ rows: any[] }> {
      try {
        if (values && values.length > 0) return await pglite.query(text, values);
        const results: PGliteResults[] = await pglite.exec(text);
        // pg-boss unwraps an array of results (as node-postgres returns for multi-statement text).
        return (results.length === 1 ? results[0] : results) as unknown as { rows: unknown[] };
      } catch (error) {
        await pglite.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
  };
}
