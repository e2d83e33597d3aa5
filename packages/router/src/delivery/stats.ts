/**
 * The counts a router keeps for its summary: records in and where they went, per route and per
 * destination. Plain counters; the modules that decide (queueing, acknowledgement, error
 * policy) add to them.
 *
 * @packageDocumentation
 */
import type { CompiledRoute } from '../route-table.js';
import type { DestinationQueue } from './destination-queue.js';
import type { DestinationSummary, RouteSummary, RouterSummary } from './summary.js';

/** What a destination's records came to besides delivery. */
export interface DestinationCounts {
  deadLettered: number;
  dropped: number;
  failed: number;
}

/**
 * The run's counters.
 *
 * @example
 * ```ts
 * const stats = new RouterStats(table.routes, ['warehouse']);
 * stats.counts.in += 10;
 * stats.route('all').matched++;
 * ```
 */
export class RouterStats {
  readonly counts = { in: 0, matched: 0, defaulted: 0, unmatched: 0, dropped: 0, deadLettered: 0 };
  readonly routes = new Map<string, RouteSummary>();
  readonly destinations = new Map<string, DestinationCounts>();

  constructor(routes: readonly CompiledRoute[], destinations: Iterable<string>) {
    for (const route of routes)
      this.routes.set(route.name, { matched: 0, produced: 0, droppedByTransform: 0, failed: 0 });
    for (const name of destinations)
      this.destinations.set(name, { deadLettered: 0, dropped: 0, failed: 0 });
  }

  /** The counts of a route of the table. */
  route(name: string): RouteSummary {
    return this.routes.get(name)!;
  }

  /** The counts of a destination the table sends to. */
  destination(name: string): DestinationCounts {
    return this.destinations.get(name)!;
  }

  /** The summary so far, with each queue's delivery counts and the failure, if any. */
  summary(
    queues: ReadonlyMap<string, DestinationQueue>,
    acknowledged: number,
    failure: Error | undefined,
  ): RouterSummary {
    const destinations: Record<string, DestinationSummary> = {};
    for (const [name, queue] of queues) {
      const counts = this.destination(name);
      destinations[name] = {
        ...queue.stats,
        deadLettered: counts.deadLettered,
        dropped: counts.dropped,
        failed: counts.failed,
      };
    }
    const { counts } = this;
    return {
      records: {
        in: counts.in,
        matched: counts.matched,
        defaulted: counts.defaulted,
        unmatched: counts.unmatched,
        acknowledged,
      },
      routes: Object.fromEntries([...this.routes].map(([name, s]) => [name, { ...s }])),
      destinations,
      dropped: counts.dropped,
      deadLettered: counts.deadLettered,
      failed: failure !== undefined,
      ...(failure ? { error: { name: failure.name, message: failure.message } } : {}),
    };
  }
}
