/**
 * Dead letters: the router's sink (`write`) and what operators do with them (list, inspect,
 * replay, discard). Replay and discard only move `pending` letters, in one guarded UPDATE.
 */
import { randomUUID } from 'node:crypto';
import {
  ConfigError,
  isRecord,
  type DeadLetter,
  type DeadLetterListFilter,
  type DeadLetterStatus,
  type DeadLetterStore,
  type SluiceRecord,
  type StoredDeadLetter,
} from '@sluice/core';
import type { Kysely, Selectable } from 'kysely';
import { parsePaging, toPage } from './paging.js';
import type { DeadLettersTable, StoreDatabase } from './schema.js';
import { fromJson, jsonText, parseTime, toIso, toIsoOrNull } from './values.js';

const STATUSES: readonly DeadLetterStatus[] = ['pending', 'replayed', 'discarded'];
/** Rows per INSERT: 12 parameters each stays far below PostgreSQL's 65535-parameter limit. */
const WRITE_CHUNK = 500;

function toLetter(row: Selectable<DeadLettersTable>): StoredDeadLetter {
  const letter: StoredDeadLetter = {
    id: row.id,
    pipeline: row.pipeline,
    runId: row.run_id,
    route: row.route,
    destination: row.destination,
    record: fromJson<SluiceRecord>(row.record),
    error: fromJson(row.error),
    attempts: row.attempts,
    failedAt: toIso(row.failed_at),
    status: row.status as DeadLetterStatus,
    createdAt: toIso(row.created_at),
    replayRunId: row.replay_run_id,
    replayedAt: toIsoOrNull(row.replayed_at),
    discardedAt: toIsoOrNull(row.discarded_at),
  };
  if (row.original !== null) letter.original = fromJson<SluiceRecord>(row.original);
  if (row.position !== null && row.position !== undefined) letter.position = row.position;
  return letter;
}

function checkLetter(letter: DeadLetter, index: number): void {
  const at = (field: string) => `letters[${index}].${field}`;
  for (const field of ['pipeline', 'runId', 'route', 'destination'] as const) {
    if (typeof letter[field] !== 'string' || letter[field].length === 0) {
      throw new ConfigError([{ path: at(field), message: 'expected a non-empty string' }]);
    }
  }
  if (!isRecord(letter.record))
    throw new ConfigError([{ path: at('record'), message: 'expected a JSON object' }]);
  if (letter.original !== undefined && !isRecord(letter.original)) {
    throw new ConfigError([{ path: at('original'), message: 'expected a JSON object' }]);
  }
  if (
    !letter.error ||
    typeof letter.error.message !== 'string' ||
    typeof letter.error.name !== 'string'
  ) {
    throw new ConfigError([{ path: at('error'), message: 'expected { name, message, code? }' }]);
  }
  if (!Number.isInteger(letter.attempts) || letter.attempts < 0) {
    throw new ConfigError([{ path: at('attempts'), message: 'expected a non-negative integer' }]);
  }
}

function checkIds(ids: readonly string[]): void {
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
    throw new ConfigError([{ path: 'ids', message: 'expected an array of dead-letter ids' }]);
  }
}

/**
 * Creates the dead-letter repository.
 *
 * @example
 * ```ts
 * const deadLetters = createDeadLetterStore(db);
 * const router = createRouter({ ..., deadLetters }); // the router only calls write()
 * const { items } = await deadLetters.list({ pipeline: 'daily', status: 'pending' });
 * ```
 */
export function createDeadLetterStore(db: Kysely<StoreDatabase>): DeadLetterStore {
  return {
    async write(letters) {
      letters.forEach(checkLetter);
      const createdAt = new Date().toISOString();
      const rows = letters.map((letter, index) => ({
        id: randomUUID(),
        pipeline: letter.pipeline,
        run_id: letter.runId,
        route: letter.route,
        destination: letter.destination,
        record: jsonText(letter.record),
        original: letter.original === undefined ? null : jsonText(letter.original),
        error: jsonText({
          name: letter.error.name,
          message: letter.error.message,
          ...(letter.error.code === undefined ? {} : { code: letter.error.code }),
        }),
        attempts: letter.attempts,
        failed_at: parseTime(letter.failedAt, `letters[${index}].failedAt`),
        created_at: createdAt,
        position: typeof letter.position === 'string' ? letter.position : null,
      }));
      if (rows.length === 0) return;
      // One transaction: the router counts the whole call as stored or not.
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += WRITE_CHUNK) {
          await trx
            .insertInto('dead_letters')
            .values(rows.slice(i, i + WRITE_CHUNK))
            .execute();
        }
      });
    },

    async list(filter: DeadLetterListFilter = {}) {
      const { limit, beforeSeq } = parsePaging(filter);
      if (filter.status !== undefined && !STATUSES.includes(filter.status)) {
        throw new ConfigError([
          { path: 'status', message: `expected one of ${STATUSES.join(', ')}` },
        ]);
      }
      let query = db.selectFrom('dead_letters').selectAll();
      if (filter.pipeline !== undefined) query = query.where('pipeline', '=', filter.pipeline);
      if (filter.status !== undefined) query = query.where('status', '=', filter.status);
      if (filter.runId !== undefined) query = query.where('run_id', '=', filter.runId);
      if (filter.route !== undefined) query = query.where('route', '=', filter.route);
      if (filter.destination !== undefined)
        query = query.where('destination', '=', filter.destination);
      if (beforeSeq !== undefined) query = query.where('seq', '<', beforeSeq.toString());
      const rows = await query
        .orderBy('seq', 'desc')
        .limit(limit + 1)
        .execute();
      return toPage(rows, limit, toLetter);
    },

    async get(id) {
      const row = await db
        .selectFrom('dead_letters')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toLetter(row) : undefined;
    },

    async markReplayed(ids, replayRunId) {
      checkIds(ids);
      if (typeof replayRunId !== 'string' || replayRunId.length === 0) {
        throw new ConfigError([
          { path: 'replayRunId', message: 'expected the id of the replay run' },
        ]);
      }
      if (ids.length === 0) return [];
      const rows = await db
        .updateTable('dead_letters')
        .set({
          status: 'replayed',
          replay_run_id: replayRunId,
          replayed_at: new Date().toISOString(),
        })
        .where('id', 'in', [...ids])
        .where('status', '=', 'pending')
        .returning('id')
        .execute();
      return rows.map((row) => row.id);
    },

    async discard(ids) {
      checkIds(ids);
      if (ids.length === 0) return [];
      const rows = await db
        .updateTable('dead_letters')
        .set({ status: 'discarded', discarded_at: new Date().toISOString() })
        .where('id', 'in', [...ids])
        .where('status', '=', 'pending')
        .returning('id')
        .execute();
      return rows.map((row) => row.id);
    },
  };
}
