/** The durable webhook inbox: accepted deliveries of `webhook.delivery: inbox` pipelines, waiting for a drain run. */
import { ConfigError, type JsonObject, type WebhookInboxStore } from '@sluice/core';
import { sql, type Kysely } from 'kysely';
import type { StoreDatabase } from './schema.js';
import { fromJson, jsonText, parseTime, toNumber } from './values.js';

interface AppendRow {
  depth: string | number;
  position: string | number | null;
  seen: boolean | null;
}

interface EntryRow {
  position: string | number;
  delivery_id: string;
  received_at: Date | string;
  records: unknown;
}

const checkCount = (value: number, field: string, min: number) => {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError([
      { path: field, message: `expected a whole number of at least ${min}, got ${String(value)}` },
    ]);
  }
};

/**
 * Creates the webhook-inbox repository over `schema` (raw SQL names its tables explicitly).
 *
 * `append` is one statement: a bounded count of the pipeline's rows, the claim of the delivery id
 * in `webhook_deliveries` (INSERT ... ON CONFLICT DO NOTHING, only when under the bound) and the
 * inbox INSERT (only when the claim won), so a delivery is appended with its id claimed or not at
 * all, and the caller answers 2xx once the statement committed.
 *
 * `read` first takes the highest position under `LOCK TABLE ... IN SHARE MODE`, held for that one
 * query: the lock waits for every transaction holding the table's ROW EXCLUSIVE lock (an append in
 * flight, whose identity value is already drawn) to commit, and appends that start later draw
 * higher values. Identity values are drawn before commit, so without it a drain could read
 * position 11, commit its checkpoint, and skip a position 10 that committed a moment later.
 *
 * @example
 * ```ts
 * const inbox = createWebhookInboxStore(db, 'sluice');
 * await inbox.append({ pipeline: 'events', deliveryId: 'msg_1', receivedAt: new Date().toISOString(), records: [{ id: 1 }], maxDepth: 10_000 });
 * ```
 */
export function createWebhookInboxStore(
  db: Kysely<StoreDatabase>,
  schema: string,
): WebhookInboxStore {
  const inbox = sql.id(schema, 'webhook_inbox');
  const deliveries = sql.id(schema, 'webhook_deliveries');
  return {
    async append({ pipeline, deliveryId, receivedAt, records, maxDepth }) {
      if (typeof deliveryId !== 'string' || deliveryId.length === 0 || deliveryId.length > 500) {
        throw new ConfigError([
          { path: 'deliveryId', message: 'expected a non-empty string of at most 500 characters' },
        ]);
      }
      checkCount(maxDepth, 'maxDepth', 1);
      if (!Array.isArray(records)) {
        throw new ConfigError([{ path: 'records', message: 'expected an array of JSON objects' }]);
      }
      const at = parseTime(receivedAt, 'receivedAt');
      const text = jsonText(records);
      const result = await sql<AppendRow>`
        WITH room AS (
          SELECT count(*) AS depth FROM (
            SELECT 1 FROM ${inbox} WHERE pipeline = ${pipeline} LIMIT ${maxDepth}
          ) AS waiting
        ),
        claimed AS (
          INSERT INTO ${deliveries} (pipeline, delivery_id, received_at, run_id)
          SELECT ${pipeline}, ${deliveryId}, ${at}::timestamptz, NULL FROM room WHERE room.depth < ${maxDepth}
          ON CONFLICT (pipeline, delivery_id) DO NOTHING
          RETURNING delivery_id
        ),
        appended AS (
          INSERT INTO ${inbox} (pipeline, delivery_id, received_at, records)
          SELECT ${pipeline}, claimed.delivery_id, ${at}::timestamptz, ${text}::json FROM claimed
          RETURNING position
        )
        SELECT (SELECT depth FROM room) AS depth,
               (SELECT position FROM appended) AS position,
               EXISTS (
                 SELECT 1 FROM ${deliveries} WHERE pipeline = ${pipeline} AND delivery_id = ${deliveryId}
               ) AS seen`.execute(db);
      const row = result.rows[0]!;
      if (row.position !== null) return { outcome: 'appended', position: toNumber(row.position) };
      const depth = toNumber(row.depth);
      // Under the bound, no position means the claim lost: a copy (ON CONFLICT waited for a
      // concurrent first copy to commit). At the bound, a copy seen before is still a duplicate.
      if (depth < maxDepth || row.seen) return { outcome: 'duplicate' };
      return { outcome: 'full', depth };
    },

    async read(pipeline, { after, limit }) {
      checkCount(after, 'after', 0);
      checkCount(limit, 'limit', 1);
      const highest = await db.transaction().execute(async (trx) => {
        await sql`LOCK TABLE ${inbox} IN SHARE MODE`.execute(trx);
        const top = await sql<{
          top: string | number | null;
        }>`SELECT max(position) AS top FROM ${inbox}`.execute(trx);
        return top.rows[0]?.top ?? null;
      });
      if (highest === null || toNumber(highest) <= after) return [];
      const rows = await sql<EntryRow>`
        SELECT position, delivery_id, received_at, records FROM ${inbox}
        WHERE pipeline = ${pipeline} AND position > ${after} AND position <= ${toNumber(highest)}
        ORDER BY position
        LIMIT ${limit}`.execute(db);
      return rows.rows.map((row) => ({
        position: toNumber(row.position),
        deliveryId: row.delivery_id,
        receivedAt: new Date(row.received_at).toISOString(),
        records: fromJson<JsonObject[]>(row.records),
      }));
    },

    async remove(pipeline, through) {
      checkCount(through, 'through', 0);
      const result =
        await sql`DELETE FROM ${inbox} WHERE pipeline = ${pipeline} AND position <= ${through}`.execute(
          db,
        );
      return toNumber(result.numAffectedRows ?? 0n);
    },

    async depth(pipeline) {
      const result = await sql<{
        n: string | number;
      }>`SELECT count(*) AS n FROM ${inbox} WHERE pipeline = ${pipeline}`.execute(db);
      return toNumber(result.rows[0]?.n ?? 0);
    },

    async pending() {
      const result = await sql<{
        pipeline: string;
      }>`SELECT DISTINCT pipeline FROM ${inbox} ORDER BY pipeline`.execute(db);
      return result.rows.map((row) => row.pipeline);
    },
  };
}
