/** Webhook delivery ids seen per pipeline and the run each started: replay protection for inbound webhooks. */
import { ConfigError, type WebhookDeliveryStore } from '@sluice/core';
import type { Kysely } from 'kysely';
import type { StoreDatabase } from './schema.js';
import { parseTime, toNumber } from './values.js';

/**
 * Creates the webhook-delivery repository. `recordDelivery` is one INSERT ... ON CONFLICT DO
 * NOTHING on the primary key (pipeline, delivery_id), so of any number of concurrent deliveries
 * with the same id exactly one is accepted; only a call that lost that race reads the row, to
 * learn the run id the winner recorded.
 *
 * @example
 * ```ts
 * const deliveries = createWebhookDeliveryStore(db);
 * await deliveries.recordDelivery('daily', 'msg_2b', new Date().toISOString(), runId); // { fresh: true, runId }
 * await deliveries.recordDelivery('daily', 'msg_2b', new Date().toISOString(), otherId); // { fresh: false, runId }: a replay
 * ```
 */
export function createWebhookDeliveryStore(db: Kysely<StoreDatabase>): WebhookDeliveryStore {
  return {
    async recordDelivery(pipeline, deliveryId, receivedAt, runId) {
      if (typeof deliveryId !== 'string' || deliveryId.length === 0 || deliveryId.length > 500) {
        throw new ConfigError([
          { path: 'deliveryId', message: 'expected a non-empty string of at most 500 characters' },
        ]);
      }
      if (typeof runId !== 'string' || runId.length === 0 || runId.length > 200) {
        throw new ConfigError([
          { path: 'runId', message: 'expected a non-empty string of at most 200 characters' },
        ]);
      }
      const inserted = await db
        .insertInto('webhook_deliveries')
        .values({
          pipeline,
          delivery_id: deliveryId,
          received_at: parseTime(receivedAt, 'receivedAt'),
          run_id: runId,
        })
        .onConflict((oc) => oc.columns(['pipeline', 'delivery_id']).doNothing())
        .returning('run_id')
        .execute();
      if (inserted.length === 1) return { fresh: true, runId };
      // Lost to a committed row (ON CONFLICT waits for a concurrent insert to commit first).
      const first = await db
        .selectFrom('webhook_deliveries')
        .select('run_id')
        .where('pipeline', '=', pipeline)
        .where('delivery_id', '=', deliveryId)
        .executeTakeFirst();
      return { fresh: false, runId: first?.run_id ?? undefined };
    },
    async pruneDeliveries(before, options = {}) {
      const keep = [...(options.exceptPipelines ?? [])];
      let query = db
        .deleteFrom('webhook_deliveries')
        .where('received_at', '<', new Date(parseTime(before, 'before')));
      if (keep.length > 0) query = query.where('pipeline', 'not in', keep);
      const result = await query.executeTakeFirst();
      return toNumber(result.numDeletedRows);
    },
  };
}
