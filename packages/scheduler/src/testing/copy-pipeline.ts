/**
 * A small real pipeline for the fault tests: reads `sched_source` a page at a time (ordered by
 * id, the cursor being the last id), upserts each page into `sched_dest` (idempotent), and
 * commits the cursor only after the write is acknowledged — the delivery contract of DESIGN §7.
 * Not exported.
 *
 * @packageDocumentation
 */
import type { CheckpointStore } from '@sluice/core';
import type pg from 'pg';
import type { ExecuteRun } from '../types.js';

/** Rows per page. */
export const COPY_PAGE_SIZE = 10;

/**
 * Creates the tables and `rows` source rows.
 *
 * @example
 * ```ts
 * await seedCopyTables(pool, 100);
 * ```
 */
export async function seedCopyTables(pool: pg.Pool, rows: number): Promise<void> {
  await pool.query('CREATE TABLE IF NOT EXISTS sched_source (id int PRIMARY KEY, payload text NOT NULL)');
  await pool.query('CREATE TABLE IF NOT EXISTS sched_dest (id int PRIMARY KEY, payload text NOT NULL, writes int NOT NULL DEFAULT 1)');
  await pool.query('TRUNCATE sched_source, sched_dest');
  await pool.query("INSERT INTO sched_source SELECT g, 'row-' || g || '-' || md5(g::text) FROM generate_series(1, $1) g", [rows]);
}

/**
 * The execute function of the copy pipeline.
 *
 * @example
 * ```ts
 * createScheduler({ execute: copyPipeline({ pool, checkpoints: store.checkpoints, pageDelayMs: 200 }), ... });
 * ```
 */
export function copyPipeline(deps: { pool: pg.Pool; checkpoints: CheckpointStore; pageDelayMs: number }): ExecuteRun {
  return async (run, { signal, log }) => {
    const state = await deps.checkpoints.get(run.pipeline);
    let cursor = typeof state === 'object' && state !== null && !Array.isArray(state) && typeof state.lastId === 'number' ? state.lastId : 0;
    let read = 0;
    for (;;) {
      signal.throwIfAborted();
      const page = await deps.pool.query<{ id: number; payload: string }>(
        'SELECT id, payload FROM sched_source WHERE id > $1 ORDER BY id LIMIT $2',
        [cursor, COPY_PAGE_SIZE],
      );
      if (page.rows.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, deps.pageDelayMs));
      await deps.pool.query(
        `INSERT INTO sched_dest (id, payload) SELECT * FROM unnest($1::int[], $2::text[])
         ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, writes = sched_dest.writes + 1`,
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
