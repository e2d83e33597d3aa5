/**
 * Forgets old webhook delivery ids, so `webhook_deliveries` does not grow without limit.
 *
 * Replay protection needs an id only as long as a copy of its delivery could still be accepted.
 * The signed schemes (Standard Webhooks, HubSpot v3, Slack) refuse a timestamp outside their
 * tolerance (5 minutes by default, at most 1 hour with `toleranceSeconds`), so an older copy is
 * refused whether its id is known or not. Ids are kept {@link DELIVERY_RETENTION_MS} (24 hours):
 * far past any tolerance, with a wide margin for clock skew between senders and instances.
 *
 * Scheme `none` has no timestamp: a copy with the sender's id may arrive at any time, so no age is
 * safe to forget it at — pruning would let a re-sent copy start a second run. Pipelines whose
 * webhook uses `none` are therefore never pruned; their ids stay until the pipeline's webhook
 * uses a signed scheme or the pipeline is removed.
 *
 * @packageDocumentation
 */
import type { SluiceConfig } from '@sluice/config';
import type { Clock, Logger, WebhookDeliveryStore } from '@sluice/core';

/** How long a delivery id of a signed scheme is kept: 24 hours. */
export const DELIVERY_RETENTION_MS = 24 * 60 * 60 * 1000;
/** How often the server prunes: hourly (and once at start). */
export const DELIVERY_PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** Pipelines whose delivery ids must never be pruned: their webhook uses scheme `none`. */
export function unprunablePipelines(config: SluiceConfig): string[] {
  return Object.entries(config.pipelines)
    .filter(([, pipeline]) => pipeline.webhook?.verify === 'none')
    .map(([name]) => name);
}

/** What {@link startDeliveryPruning} needs. */
export interface DeliveryPruningOptions {
  deliveries: Pick<WebhookDeliveryStore, 'pruneDeliveries'>;
  /** The effective configuration now (it changes with reloads and API writes). */
  config: () => SluiceConfig;
  logger: Logger;
  clock: Clock;
  retentionMs?: number;
  intervalMs?: number;
}

/** A running pruner: `pruneNow()` runs one pass; `stop()` ends the timer and waits for a pass in flight. */
export interface DeliveryPruning {
  pruneNow(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Prunes once at start and then every `intervalMs`: delivery ids received more than
 * `retentionMs` ago, of every pipeline but those with scheme `none`. Several instances may prune
 * at once (a DELETE by age is idempotent). A failed pass is logged and tried again next time.
 *
 * @example
 * ```ts
 * const pruning = startDeliveryPruning({ deliveries: store.webhookDeliveries, config: () => effective.config, logger, clock: systemClock });
 * await pruning.stop();
 * ```
 */
export function startDeliveryPruning(options: DeliveryPruningOptions): DeliveryPruning {
  const retentionMs = options.retentionMs ?? DELIVERY_RETENTION_MS;
  const intervalMs = options.intervalMs ?? DELIVERY_PRUNE_INTERVAL_MS;
  let inFlight: Promise<number> | undefined;
  const pruneNow = (): Promise<number> => {
    inFlight ??= (async () => {
      try {
        const before = new Date(options.clock.now() - retentionMs).toISOString();
        const exceptPipelines = unprunablePipelines(options.config());
        const removed = await options.deliveries.pruneDeliveries(before, { exceptPipelines });
        if (removed > 0)
          options.logger.info(
            { removed, before, kept: exceptPipelines },
            'pruned old webhook delivery ids',
          );
        return removed;
      } catch (error) {
        options.logger.warn(
          { err: error },
          'pruning webhook delivery ids failed; trying again at the next interval',
        );
        return 0;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };
  void pruneNow();
  const timer = setInterval(() => void pruneNow(), intervalMs);
  timer.unref();
  return {
    pruneNow,
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
