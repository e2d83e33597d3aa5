/** The durable webhook inbox: accepted deliveries of `webhook.delivery: inbox` pipelines, waiting for a drain run. */
import {
  ConfigError,
  createGroupCommit,
  type JsonObject,
  type WebhookInboxAppend,
  type WebhookInboxStore,
} from '@sluice/core';
import { sql, type Kysely } from 'kysely';
import type { StoreDatabase } from './schema.js';
import { fromJson, jsonText, parseTime, toNumber } from './values.js';

/** One row of the group append's answer: an input delivery, by its place in the group. */
interface AppendRow {
  ord: string | number;
  position: string | number | null;
  depth: string | number;
  /** Claimed before this statement's snapshot: a copy. */
  seen: boolean;
  /** Within the room under maxDepth (so, unclaimed and unseen, it lost the claim to a concurrent copy). */
  roomy: boolean;
}

/** A validated delivery waiting for its group's statement. */
interface PendingAppend {
  deliveryId: string;
  receivedAt: string;
  text: string;
}

/** Append statements one pipeline may have in flight; see {@link createGroupCommit}. */
const APPENDS_IN_FLIGHT = 1;
/** The most deliveries one append statement carries. */
const APPENDS_PER_STATEMENT = 500;
/**
 * How long a counted inbox depth stands in for a count, while the depth stays under half of
 * `maxDepth`. Counting is a scan of the waiting rows (up to `maxDepth` of them) that every append
 * statement would otherwise repeat: far from the bound the last count plus this instance's own
 * appends since is used, so only other instances' appends of the last second go uncounted.
 */
const DEPTH_RECOUNT_MS = 1000;

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
 * all, and the caller answers 2xx once the statement committed. Concurrent appends of a pipeline
 * share that statement (group commit, {@link createGroupCommit}): under a burst one statement and
 * one commit carry many deliveries, each claimed and counted against `maxDepth` in arrival order
 * (near the bound a copy of an earlier delivery takes a place in that count too: the room is cut
 * before the claim finds copies, which keeps the statement's joins hashed rather than nested),
 * and each caller's promise resolves once that statement committed. Copies of one delivery id
 * within a group go in once; the others are its duplicates.
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

  /** Per pipeline: its inbox depth when last counted (with this instance's appends since added). */
  const depths = new Map<string, { depth: number; countedAt: number }>();

  /** One statement for a group of deliveries of one pipeline, in arrival order. */
  const appendGroup = async (
    pipeline: string,
    maxDepth: number,
    items: readonly PendingAppend[],
  ): Promise<WebhookInboxAppend[]> => {
    // The first copy of a delivery id in the group is the one sent; later copies are its duplicates.
    const firstOf = new Map<string, number>();
    const sent: PendingAppend[] = [];
    for (const item of items) {
      if (firstOf.has(item.deliveryId)) continue;
      firstOf.set(item.deliveryId, sent.length);
      sent.push(item);
    }
    // One json parameter (records as text, so their key order is kept by the ::json cast),
    // read back with ordinality: the same statement on PostgreSQL and PGlite.
    const input = JSON.stringify(
      sent.map((item) => ({ d: item.deliveryId, t: item.receivedAt, r: item.text })),
    );
    const startedAt = Date.now();
    const last = depths.get(pipeline);
    const recount =
      !last ||
      startedAt - last.countedAt >= DEPTH_RECOUNT_MS ||
      (last.depth + sent.length) * 2 >= maxDepth;
    const rows = sql`
      SELECT i.d AS delivery_id, i.t::timestamptz AS received_at, i.r AS records, i.ord
      FROM ROWS FROM (json_to_recordset(${input}::json) AS (d text, t text, r text))
        WITH ORDINALITY AS i(d, t, r, ord)`;
    // The claim of each delivery id of `source` (the deliveries that fit, or all of them) and
    // the append of those claimed: a copy of an id already claimed is not appended.
    const claimAndAppend = (source: 'roomy' | 'input') => {
      const from = sql.raw(source);
      return sql`claimed AS (
        INSERT INTO ${deliveries} (pipeline, delivery_id, received_at, run_id)
        SELECT ${pipeline}, ${from}.delivery_id, ${from}.received_at, NULL FROM ${from} ORDER BY ${from}.ord
        ON CONFLICT (pipeline, delivery_id) DO NOTHING
        RETURNING delivery_id
      ),
      appended AS (
        INSERT INTO ${inbox} (pipeline, delivery_id, received_at, records)
        SELECT ${pipeline}, ${from}.delivery_id, ${from}.received_at, ${from}.records::json
        FROM ${from} JOIN claimed ON claimed.delivery_id = ${from}.delivery_id
        ORDER BY ${from}.ord
        RETURNING position, delivery_id
      )`;
    };
    const result = await (
      recount
        ? sql<AppendRow>`
      WITH input AS (${rows}),
      room AS (
        SELECT count(*) AS depth FROM (
          SELECT 1 FROM ${inbox} WHERE pipeline = ${pipeline} LIMIT ${maxDepth}
        ) AS waiting
      ),
      roomy AS (
        SELECT input.* FROM input, room WHERE input.ord <= ${maxDepth} - room.depth
      ),
      ${claimAndAppend('roomy')}
      SELECT input.ord, appended.position, (SELECT depth FROM room) AS depth,
             EXISTS (
               SELECT 1 FROM ${deliveries} AS d
               WHERE d.pipeline = ${pipeline} AND d.delivery_id = input.delivery_id
             ) AS seen,
             input.ord <= ${maxDepth} - (SELECT depth FROM room) AS roomy
      FROM input
      LEFT JOIN appended ON appended.delivery_id = input.delivery_id
      ORDER BY input.ord`
        : // Far from the bound the whole group fits: no count, no look for copies before the
          // claim (ON CONFLICT finds them), so every unclaimed delivery is a copy.
          sql<AppendRow>`
      WITH input AS (${rows}),
      ${claimAndAppend('input')}
      SELECT input.ord, appended.position, ${last.depth}::bigint AS depth,
             false AS seen, true AS roomy
      FROM input
      LEFT JOIN appended ON appended.delivery_id = input.delivery_id
      ORDER BY input.ord`
    ).execute(db);
    const outcomes = result.rows.map((row): WebhookInboxAppend => {
      if (row.position !== null) return { outcome: 'appended', position: toNumber(row.position) };
      // Seen before, or within the room yet unclaimed (ON CONFLICT waited for a concurrent
      // first copy to commit): a copy. Past the bound and never seen: refused, nothing claimed.
      if (row.seen || row.roomy) return { outcome: 'duplicate' };
      // Refused at its turn in the group, so the inbox held maxDepth by then (the count stops there).
      return { outcome: 'full', depth: Math.max(toNumber(row.depth), maxDepth) };
    });
    const appended = outcomes.filter((outcome) => outcome.outcome === 'appended').length;
    if (recount) {
      const counted = toNumber(result.rows[0]?.depth ?? 0);
      depths.set(pipeline, { depth: counted + appended, countedAt: startedAt });
    } else {
      last.depth += appended;
    }
    return items.map((item) => {
      const first = firstOf.get(item.deliveryId)!;
      const outcome = outcomes[first]!;
      // A later copy in the same group: the first copy's refusal, or a duplicate of it.
      if (sent[first] !== item && outcome.outcome !== 'full') return { outcome: 'duplicate' };
      return outcome;
    });
  };
  const groups = new Map<string, (item: PendingAppend) => Promise<WebhookInboxAppend>>();

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
      const pending: PendingAppend = {
        deliveryId,
        receivedAt: parseTime(receivedAt, 'receivedAt'),
        text: jsonText(records),
      };
      const key = `${maxDepth}\n${pipeline}`;
      let group = groups.get(key);
      if (!group) {
        group = createGroupCommit<PendingAppend, WebhookInboxAppend>({
          maxInFlight: APPENDS_IN_FLIGHT,
          maxItems: APPENDS_PER_STATEMENT,
          commit: (items) => appendGroup(pipeline, maxDepth, items),
        });
        groups.set(key, group);
      }
      return group(pending);
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
