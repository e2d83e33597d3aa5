/**
 * Queueing: one {@link DestinationQueue} per destination the table sends to, the outputs of a
 * record's matching routes added to them, and the back-pressure `push` waits on.
 *
 * @packageDocumentation
 */
import type { Logger, PluginContext, SluiceRecord } from '@sluice/core';
import type { RouteMatch, RouteTable } from '../route-table.js';
import {
  DestinationQueue,
  resolveQueueSettings,
  type QueueCallbacks,
} from './destination-queue.js';
import type { RouterMetrics } from './metrics.js';
import type { RouterDestination } from './router.js';
import type { RouterStats } from './stats.js';

/** What the queues of a run share. */
export interface QueueingRun {
  readonly pipeline: string;
  readonly runId: string;
  readonly source: string;
  readonly ctx: PluginContext;
  readonly logger: Logger;
  readonly metrics: RouterMetrics;
  readonly signal: AbortSignal;
  readonly random: () => number;
}

/**
 * The destinations the table's routes send to. Throws a `TypeError` when the table names one
 * without an instance; logs (debug) the destinations no route uses.
 *
 * @example
 * ```ts
 * const names = usedDestinations(table, options.destinations, logger);
 * ```
 */
export function usedDestinations(
  table: RouteTable,
  destinations: Readonly<Record<string, RouterDestination>>,
  logger: Logger,
): Set<string> {
  const routes = [...table.routes, ...(table.defaultRoute ? [table.defaultRoute] : [])];
  const used = new Set(routes.flatMap((r) => r.to));
  const unusable = [...used].filter((name) => !Object.hasOwn(destinations, name));
  if (unusable.length > 0) {
    throw new TypeError(
      `createRouter: no instance for destination(s) ${unusable.join(', ')} named by the route table`,
    );
  }
  const missing = table.destinations.filter((name) => !Object.hasOwn(destinations, name));
  if (missing.length > 0) logger.debug({ missing }, 'destinations without routes are not used');
  return used;
}

/**
 * A queue per used destination, with its settings from the destination's policy and
 * capabilities.
 *
 * @example
 * ```ts
 * const queues = createQueues(run, used, options.destinations, options.maxPendingRecords, callbacks);
 * ```
 */
export function createQueues(
  run: QueueingRun,
  used: Iterable<string>,
  destinations: Readonly<Record<string, RouterDestination>>,
  maxPendingRecords: number | undefined,
  callbacks: QueueCallbacks,
): Map<string, DestinationQueue> {
  const queues = new Map<string, DestinationQueue>();
  for (const name of used) {
    const d = destinations[name]!;
    queues.set(
      name,
      new DestinationQueue({
        name,
        instance: d.instance,
        settings: resolveQueueSettings(d.policy, d.capabilities, maxPendingRecords),
        ctx: run.ctx,
        logger: run.logger,
        metrics: run.metrics,
        batchContext: { pipeline: run.pipeline, runId: run.runId, source: run.source },
        signal: run.signal,
        random: run.random,
        callbacks,
      }),
    );
  }
  return queues;
}

/**
 * Adds the outputs of a record's matching routes to their destinations' queues (sequence number
 * `seq`, source position `position`), but not the outputs a destination's expectations withheld
 * from it (`RouteMatch.withheld`); a route whose transforms produced nothing counts as a drop.
 * The outputs one record sends to one destination (several routes, or a transform that yields
 * several records) get positions of their own: `position`, then `position.1`, `position.2`, ... `measureBytes`: some queue
 * limits batches by size, so each output's JSON size is measured (once per output).
 *
 * @example
 * ```ts
 * enqueueMatches({ ...run, stats, queues, measureBytes }, record, seq, '3f9c0a21be-000001', evaluation.matches);
 * ```
 */
export function enqueueMatches(
  run: {
    readonly pipeline: string;
    readonly ctx: PluginContext;
    readonly metrics: RouterMetrics;
    readonly stats: RouterStats;
    readonly queues: ReadonlyMap<string, DestinationQueue>;
    readonly measureBytes: boolean;
  },
  record: SluiceRecord,
  seq: number,
  position: string,
  matches: readonly RouteMatch[],
): void {
  const now = run.ctx.clock.now();
  let sizes: Map<SluiceRecord, number> | undefined;
  // Outputs so far per destination, only when the record goes to one destination more than once.
  let outputs: Map<string, number> | undefined;
  let first: Set<string> | undefined;
  for (const match of matches) {
    const route = match.route;
    const stats = run.stats.route(route.name);
    stats.matched++;
    stats.produced += match.records.length;
    if (match.records.length === 0) {
      stats.droppedByTransform++;
      run.stats.counts.dropped++;
      run.metrics.dropped.inc({
        pipeline: run.pipeline,
        route: route.name,
        destination: '',
        reason: 'transform',
      });
      continue;
    }
    for (const destination of route.to) {
      const queue = run.queues.get(destination)!;
      const withheld = match.withheld?.get(destination);
      for (const [i, output] of match.records.entries()) {
        let at = position;
        if (first === undefined) first = new Set([destination]);
        else if (!first.has(destination)) first.add(destination);
        else {
          outputs ??= new Map();
          const n = (outputs.get(destination) ?? 0) + 1;
          outputs.set(destination, n);
          at = `${position}.${n}`;
        }
        // Withheld by the destination's expectations: it takes its position all the same, so
        // the positions of the outputs after it are those of a run where it passed.
        if (withheld?.has(i)) continue;
        let bytes = 0;
        if (run.measureBytes) {
          sizes ??= new Map();
          bytes = sizes.get(output) ?? Buffer.byteLength(JSON.stringify(output));
          sizes.set(output, bytes);
        }
        queue.add({
          seq,
          position: at,
          route,
          record: output,
          original: record,
          bytes,
          enqueuedAt: now,
        });
      }
    }
  }
}

/**
 * Waits until every queue is below its high-water mark (back-pressure to the source);
 * `undefined` when there is room already, so the hot path does not wait a tick.
 *
 * @example
 * ```ts
 * const wait = waitForRoom(queueList);
 * if (wait) await wait;
 * ```
 */
export function waitForRoom(
  queues: readonly DestinationQueue[],
  from = 0,
): Promise<void> | undefined {
  for (let i = from; i < queues.length; i++) {
    const wait = queues[i]!.belowHighWater();
    if (wait) return wait.then(() => waitForRoom(queues, i + 1));
  }
  return undefined;
}
