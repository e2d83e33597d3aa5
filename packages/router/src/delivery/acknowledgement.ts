/**
 * Acknowledgement: how many deliveries settle each pushed record, and marking them settled as
 * destinations deliver. A record is acknowledged (its source checkpoint safe) once all of them
 * are delivered, dead-lettered or dropped; {@link AckTracker} keeps the count.
 *
 * @packageDocumentation
 */
import type { RecordEvaluation } from '../route-table.js';
import type { AckTracker } from './ack-tracker.js';
import type { DeliveryItem } from './destination-queue.js';
import type { RouterMetrics } from './metrics.js';

/**
 * The deliveries that settle one record: one per output record and destination of each matching
 * route (less the outputs a destination's expectations withheld from it), and one per destination of each failed route whose `onError` dead-letters the record
 * or fails the run (a dropped failure settles nothing).
 *
 * @example
 * ```ts
 * const seq = tracker.open(deliveriesOf(evaluateRecord(record, table)));
 * ```
 */
export function deliveriesOf(evaluation: RecordEvaluation): number {
  let deliveries = 0;
  for (const match of evaluation.matches) {
    deliveries += match.records.length * match.route.to.length;
    for (const withheld of match.withheld?.values() ?? []) deliveries -= withheld.size;
  }
  for (const f of evaluation.failures)
    if (f.route.onError === 'dead-letter' || f.route.onError === 'fail-run')
      deliveries += f.route.to.length;
  return deliveries;
}

/**
 * Settles the deliveries a destination wrote, and counts them per route.
 *
 * @example
 * ```ts
 * acknowledgeDelivered({ tracker, metrics, pipeline: 'daily' }, 'warehouse', items);
 * ```
 */
export function acknowledgeDelivered(
  run: { readonly tracker: AckTracker; readonly metrics: RouterMetrics; readonly pipeline: string },
  destination: string,
  items: readonly DeliveryItem[],
): void {
  const perRoute = new Map<string, number>();
  for (const item of items) {
    perRoute.set(item.route.name, (perRoute.get(item.route.name) ?? 0) + 1);
    run.tracker.done(item.seq);
  }
  for (const [route, n] of perRoute)
    run.metrics.delivered.inc({ pipeline: run.pipeline, route, destination }, n);
}
