/** Any value that survives `JSON.stringify` → `JSON.parse` unchanged. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One record: a plain JSON object. Connectors produce records, transforms reshape them,
 * destinations write them.
 *
 * @example
 * ```ts
 * const record: SluiceRecord = { date: '2026-11-24', channel: 'email', sessions: 1204 };
 * ```
 */
export type SluiceRecord = { [key: string]: JsonValue };

/**
 * A batch of records handed to one destination, with the context it came from.
 *
 * `id` is deterministic for the same records of the same run going to the same destination,
 * so a retried batch carries the same id: destinations use it for idempotency keys, S3 object
 * keys and e-mail Message-IDs.
 *
 * @example
 * ```ts
 * const batch: Batch = {
 *   id: 'daily-7f3a-web-0001',
 *   records: [{ id: 1 }],
 *   pipeline: 'daily',
 *   runId: '7f3a',
 *   source: 'ga4',
 *   attempt: 1,
 * };
 * ```
 */
export interface Batch {
  /**
   * Stable identity of this batch: the same on every retry, and — for a destination whose
   * capabilities say `idempotency: 'batch'` — on a take-over and a replay too. The router
   * derives it from the source position of the batch's first record, never from the attempt
   * (`daily-warehouse-7f3a-3f9c0a21be-000001`: pipeline, destination, run, checkpoint digest,
   * offset after the checkpoint; a retry of some records only adds `-r<n>`).
   */
  readonly id: string;
  readonly records: readonly SluiceRecord[];
  /** Name of the pipeline the records flow through. */
  readonly pipeline: string;
  /** Run that produced the records. */
  readonly runId: string;
  /** Name of the source (connector instance) that read the records. */
  readonly source: string;
  /** 1 on the first try, 2 on the first retry, ... */
  readonly attempt: number;
  /** Name of the route that sent the records, when the router built the batch and one route sent them all. */
  readonly route?: string;
  /**
   * Name of the route that sent each record (same order as `records`), when the router built a
   * batch that mixes routes (fan-out to one destination from several routes); `route` is then
   * absent. A destination that names its output by route (the file destination's `{{route}}`)
   * groups the records by it.
   */
  readonly routes?: readonly string[];
  /**
   * Stable identity of each record (same order as `records`) for this destination: the same on
   * the first try, a whole-batch retry, a partial retry (where the batch id and the indexes
   * change) and a take-over, derived from the record's source position. Destinations derive
   * per-record idempotency keys from it (webhook: `webhook-id`).
   * Set by the router; absent on batches built by hand.
   */
  readonly recordKeys?: readonly string[];
}

/**
 * Tells whether `value` is a plain JSON object usable as a record.
 *
 * @example
 * ```ts
 * isRecord({ a: 1 }); // true
 * isRecord([1]);      // false
 * ```
 */
export function isRecord(value: unknown): value is SluiceRecord {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The deepest nesting of objects and arrays Sluice accepts in any JSON it is handed. */
export const MAX_JSON_DEPTH = 512;

/**
 * True when `value` nests objects/arrays deeper than `max` levels. Iterative, so it cannot
 * overflow the stack on the hostile input it exists to reject (deeper values would overflow
 * `JSON.stringify` later, when they are stored).
 *
 * @example
 * ```ts
 * jsonDepthExceeds({ a: [{ b: 1 }] }, 2); // true (3 levels)
 * jsonDepthExceeds(JSON.parse(body), MAX_JSON_DEPTH);
 * ```
 */
export function jsonDepthExceeds(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
