/** Last fired cron tick per pipeline schedule, advanced by compare-and-set. */
import type { ScheduleStateStore } from '@sluice/core';
import { sql, type Kysely } from 'kysely';
import type { StoreDatabase } from './schema.js';
import { parseTime, toIso } from './values.js';

/**
 * Creates the schedule-tick repository. `setLastTick` is one INSERT ... ON CONFLICT DO UPDATE
 * guarded by `last_tick < excluded.last_tick`: of several instances firing the same tick exactly
 * one gets `true`.
 *
 * @example
 * ```ts
 * const ticks = createScheduleStateStore(db);
 * if (await ticks.setLastTick('daily', 'morning', tick)) await enqueue();
 * ```
 */
export function createScheduleStateStore(db: Kysely<StoreDatabase>): ScheduleStateStore {
  return {
    async getLastTick(pipeline, schedule) {
      const row = await db
        .selectFrom('schedule_ticks')
        .select('last_tick')
        .where('pipeline', '=', pipeline)
        .where('schedule', '=', schedule)
        .executeTakeFirst();
      return row ? toIso(row.last_tick) : undefined;
    },
    async setLastTick(pipeline, schedule, tick) {
      const at = parseTime(tick, 'tick');
      const now = new Date().toISOString();
      const rows = await db
        .insertInto('schedule_ticks')
        .values({ pipeline, schedule, last_tick: at, updated_at: now })
        .onConflict((oc) =>
          oc
            .columns(['pipeline', 'schedule'])
            .doUpdateSet({ last_tick: at, updated_at: now })
            .where(sql<boolean>`schedule_ticks.last_tick < excluded.last_tick`),
        )
        .returning('pipeline')
        .execute();
      return rows.length === 1;
    },
  };
}
