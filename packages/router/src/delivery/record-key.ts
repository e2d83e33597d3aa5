/**
 * The stable identity of one record on its way to one destination: the idempotency key a
 * destination derives its per-record key from (the webhook destination's `webhook-id` and
 * idempotency header in record mode).
 *
 * It derives from the record's position in the run's input and the destination — never from the
 * batch it travels in or the attempt — so the first try, a whole-batch retry and a partial retry
 * (which sends only the failed records, in a batch of their own) all carry the same key for the
 * same record.
 *
 * @packageDocumentation
 */

/** Where a record came from. */
export interface RecordKeyContext {
  readonly pipeline: string;
  readonly runId: string;
  /**
   * The run attempt (a take-over resumes from the last checkpoint, so its positions count from
   * there); a later attempt's keys carry `-a<attempt>` like its batch ids.
   */
  readonly runAttempt?: number;
}

/**
 * The key of the record at input position `seq` (1-based, in the order the source produced the
 * records) for `destination`.
 *
 * @example
 * ```ts
 * recordKey({ pipeline: 'daily', runId: '7f3a' }, 'hooks', 41); // "daily-7f3a-hooks-r000041"
 * ```
 */
export function recordKey(context: RecordKeyContext, destination: string, seq: number): string {
  const attempt = (context.runAttempt ?? 1) > 1 ? `-a${context.runAttempt}` : '';
  return `${context.pipeline}-${context.runId}${attempt}-${destination}-r${String(seq).padStart(6, '0')}`;
}
