/**
 * Bounded bookkeeping of the series (label combinations) of one metric: admits a new series
 * only while under the cardinality limit, and reports series that went stale so they can be
 * removed. Memory is O(limit) whatever the input.
 *
 * @packageDocumentation
 */

/** Label values of one series, in the metric's label order. */
export type SeriesLabels = Record<string, string>;

/** What {@link SeriesTracker.touch} decided. */
export type Admission = 'existing' | 'new' | 'dropped';

/**
 * Tracks the live series of one metric.
 *
 * @example
 * ```ts
 * const tracker = new SeriesTracker(2);
 * tracker.touch({ a: '1' }, 0); // "new"
 * tracker.touch({ a: '2' }, 0); // "new"
 * tracker.touch({ a: '3' }, 0); // "dropped" (limit 2)
 * tracker.sweep(10, 5);         // both series, last seen at 0, are stale → returned and forgotten
 * ```
 */
export class SeriesTracker {
  private readonly series = new Map<string, { labels: SeriesLabels; lastSeen: number }>();

  constructor(readonly limit: number) {}

  /** Number of live series. */
  get size(): number {
    return this.series.size;
  }

  /** Marks a series as updated at `now`; a new series beyond the limit is `dropped`. */
  touch(labels: SeriesLabels, now: number): Admission {
    const key = keyOf(labels);
    const entry = this.series.get(key);
    if (entry) {
      entry.lastSeen = now;
      return 'existing';
    }
    if (this.series.size >= this.limit) return 'dropped';
    this.series.set(key, { labels, lastSeen: now });
    return 'new';
  }

  /** Would `touch` admit this series right now (without recording anything)? */
  admits(labels: SeriesLabels): boolean {
    return this.series.size < this.limit || this.series.has(keyOf(labels));
  }

  /** Forgets and returns the series not touched within `ttlMs` before `now`. */
  sweep(now: number, ttlMs: number): SeriesLabels[] {
    const stale: SeriesLabels[] = [];
    for (const [key, entry] of this.series) {
      if (now - entry.lastSeen > ttlMs) {
        this.series.delete(key);
        stale.push(entry.labels);
      }
    }
    return stale;
  }
}

function keyOf(labels: SeriesLabels): string {
  // Label order is fixed per metric (config order), so values alone identify the series.
  return Object.values(labels).join('\u0000');
}
