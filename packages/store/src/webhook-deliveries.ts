/** Webhook delivery ids seen per pipeline: replay protection for inbound webhooks. */
import { ConfigError, type WebhookDeliveryStore } from '@sluice/core';
import type { Kysely } from 'kysely';
import type { StoreDatabase } from './schema.js';
import { parseTime, toNumber } from './values.js';

/**
 * Creates the webhook-delivery repository. `recordDelivery` is one INSERT ... ON CONFLICT DO
 * NOTHING, so of two concurrent deliveries with the same id exactly one is accepted.
 *
 * @example
 * ```ts
 * const deliveries = createWebhookDeliveryStore(db);
 * await deliveries.recordDelivery('daily', 'msg_2b', new Date().toISOString()); // true
 * await deliveries.recordDelivery('daily', 'msg_2b', new Date().toISOString()); // false: replay
 * ```
 */
export function createWebhookDeliveryStore(db: Kysely<StoreDatabase>): WebhookDeliveryStore {
  return {
    async recordDelivery(pipeline, deliveryId, receivedAt) {
      if (typeof deliveryId !== 'string' || deliveryId.length === 0 || deliveryId.length > 500) {
        throw new ConfigError([
          { path: 'deliveryId', message: 'expected a non-empty string of at most 500 characters' },
        ]);
      }
      const rows = await db
        .insertInto('webhook_deliveries')
        .values({
          pipeline,
          delivery_id: deliveryId,
          received_at: parseTime(receivedAt, 'receivedAt'),
        })
        .onConflict((oc) => oc.columns(['pipeline', 'delivery_id']).doNothing())
        .returning('delivery_id')
        .execute();
      return rows.length === 1;
    },
    async pruneDeliveries(before) {
      const result = await db
        .deleteFrom('webhook_deliveries')
        .where('received_at', '<', new Date(parseTime(before, 'before')))
        .executeTakeFirst();
      return toNumber(result.numDeletedRows);
    },
  };
}
