/**
 * A small real pipeline for the fault tests: reads `<prefix>_source` a page at a time (ordered by
 * id, the cursor being the last id), upserts each page into `<prefix>_dest` (idempotent), and
 * commits the cursor only after the write is acknowledged — the delivery contract of DESIGN §7.
 * The prefix (default `sched`) lets tests run side by side. Not exported.
 *
 * @packageDocumentation
 */
import type { CheckpointStore } from '@sluice/core';
import type pg from 'pg';
import type { ExecuteRun } from '../types.js';

/** Rows per page. */
export const COPY_PAGE_SIZE = 10;

/**
 * The source and destination table names for a prefix (letters, digits and `_` only).
 *
 * @example
 * ```ts
 * copyTables('kill'); // { source: 'kill_source', dest: 'kill_dest' }
 * ```
 */
export function copyTables(prefix = 'sched'): { source: string; dest: string } {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix))
    throw new Error(`invalid table prefix ${JSON.stringify(prefix)}`);
  return { source: `${prefix}_source`, dest: `${prefix}_dest` };
}

/**
 * Creates the tables and `rows` source rows.
 *
 * @example
 * ```ts
 * await seedCopyTables(pool, 100);
 * ```
 */
export async function seedCopyTables(pool: pg.Pool, rows: number, prefix?: string): Promise<void> {
  const { source, dest } = copyTables(prefix);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${source} (id int PRIMARY KEY, payload text NOT NULL)`,
  );
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${dest} (id int PRIMARY KEY, payload text NOT NULL, writes int NOT NULL DEFAULT 1)`,
  );
  await pool.query(`TRUNCATE ${source}, ${dest}`);
  await pool.query(
    `INSERT INTO ${source} SELECT g, 'row-' || g || '-' || md5(g::text) FROM generate_series(1, $1) g`,
    [rows],
  );
}

/**
 * The execute function of the copy pipeline.
 *
 * @example
 * ```ts
 * createScheduler({ execute: copyPipeline({ pool, checkpoints: store.checkpoints, pageDelayMs: 200 }), ... });
 * ```
 */
export function copyPipeline(deps: {
  pool: pg.Pool;
  checkpoints: CheckpointStore;
  pageDelayMs: number;
  prefix?: string;
}): ExecuteRun {
  const { source, dest } = copyTables(deps.prefix);
  return async (run, { signal, log }) => {
    const state = await deps.checkpoints.get(run.pipeline);
    let cursor =
      typeof state === 'object' &&
      state !== null &&
      !Array.isArray(state) &&
      typeof state.lastId === 'number'
        ? state.lastId
        : 0;
    let read = 0;
    for (;;) {
      signal.throwIfAborted();
      const page = await deps.pool.query<{ id: number; payload: string }>(
        `SELECT id, payload FROM ${source} WHERE id > $1 ORDER BY id LIMIT $2`,
        [cursor, COPY_PAGE_SIZE],
      );
      if (page.rows.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, deps.pageDelayMs));
      await deps.pool.query(
        `INSERT INTO ${dest} (id, payload) SELECT * FROM unnest($1::int[], $2::text[])
         ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, writes = ${dest}.writes + 1`,
        [page.rows.map((r) => r.id), page.rows.map((r) => r.payload)],
      );
      cursor = page.rows.at(-1)!.id;
      await deps.checkpoints.commit(run.pipeline, { lastId: cursor });
      read += page.rows.length;
      log.debug({ cursor }, 'page delivered');
    }
    return { counts: { read, delivered: read } };
  };
}
