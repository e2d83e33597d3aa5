import type { Counter, Histogram, Metrics } from '@sluice/core';

/** The router's metric series (prom-client compatible names and labels). */
export interface RouterMetrics {
  recordsIn: Counter;
  routeMatched: Counter;
  unmatched: Counter;
  delivered: Counter;
  dropped: Counter;
  deadLettered: Counter;
  retries: Counter;
  batchRecords: Histogram;
  batchWriteSeconds: Histogram;
  deliverySeconds: Histogram;
}

/**
 * Declares the router's metrics through core's `Metrics` (backed by prom-client in the server).
 *
 * @example
 * ```ts
 * const m = createRouterMetrics(ctx.metrics);
 * m.recordsIn.inc({ pipeline: 'daily' }, 100);
 * ```
 */
export function createRouterMetrics(metrics: Metrics): RouterMetrics {
  return {
    recordsIn: metrics.counter({
      name: 'sluice_router_records_in_total',
      help: 'Records pushed into the router',
      labelNames: ['pipeline'],
    }),
    routeMatched: metrics.counter({
      name: 'sluice_router_route_matched_total',
      help: 'Records matched per route',
      labelNames: ['pipeline', 'route'],
    }),
    unmatched: metrics.counter({
      name: 'sluice_router_records_unmatched_total',
      help: 'Records no route (nor a default route) took',
      labelNames: ['pipeline'],
    }),
    delivered: metrics.counter({
      name: 'sluice_router_records_delivered_total',
      help: 'Records written to a destination',
      labelNames: ['pipeline', 'route', 'destination'],
    }),
    dropped: metrics.counter({
      name: 'sluice_router_records_dropped_total',
      help: 'Records dropped (by a transform, or by onError: drop)',
      labelNames: ['pipeline', 'route', 'destination', 'reason'],
    }),
    deadLettered: metrics.counter({
      name: 'sluice_router_records_dead_lettered_total',
      help: 'Records handed to the dead-letter sink',
      labelNames: ['pipeline', 'route', 'destination'],
    }),
    retries: metrics.counter({
      name: 'sluice_router_batch_retries_total',
      help: 'Batch write retries',
      labelNames: ['pipeline', 'destination'],
    }),
    batchRecords: metrics.histogram({
      name: 'sluice_router_batch_records',
      help: 'Records per written batch',
      labelNames: ['pipeline', 'destination'],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 5000, 10000],
    }),
    batchWriteSeconds: metrics.histogram({
      name: 'sluice_router_batch_write_seconds',
      help: 'Duration of one batch write attempt',
      labelNames: ['pipeline', 'destination', 'outcome'],
    }),
    deliverySeconds: metrics.histogram({
      name: 'sluice_router_record_delivery_seconds',
      help: 'Time from push to acknowledgement of the oldest record of each batch',
      labelNames: ['pipeline', 'destination'],
    }),
  };
}
