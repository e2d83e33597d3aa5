/** State checkpoints (incremental cursors) per pipeline and stream: the router's `CheckpointStore`. */
import type { CheckpointStore, JsonValue } from '@sluice/core';
import type { Kysely } from 'kysely';
import type { StoreDatabase } from './schema.js';
import { fromJson, jsonText } from './values.js';

/**
 * Creates the checkpoint repository. A checkpoint without a stream is stored under stream `''`.
 *
 * @example
 * ```ts
 * const checkpoints = createCheckpointStore(db);
 * await checkpoints.commit('daily', { cursor: '2026-11-24' }, 'sessions');
 * await checkpoints.get('daily', 'sessions'); // { cursor: '2026-11-24' }
 * ```
 */
export function createCheckpointStore(db: Kysely<StoreDatabase>): CheckpointStore {
  return {
    async get(pipeline, stream = '') {
      const row = await db
        .selectFrom('checkpoints')
        .select('state')
        .where('pipeline', '=', pipeline)
        .where('stream', '=', stream)
        .executeTakeFirst();
      return row ? fromJson<JsonValue>(row.state) : undefined;
    },
    async commit(pipeline, state, stream = '') {
      const now = new Date().toISOString();
      await db
        .insertInto('checkpoints')
        .values({ pipeline, stream, state: jsonText(state), updated_at: now })
        .onConflict((oc) =>
          oc
            .columns(['pipeline', 'stream'])
            .doUpdateSet({ state: jsonText(state), updated_at: now }),
        )
        .execute();
    },
  };
}
