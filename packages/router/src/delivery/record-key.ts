/**
 * The stable identity of one record on its way to one destination: the idempotency key a
 * destination derives its per-record key from (the webhook destination's `webhook-id` and
 * idempotency header in record mode).
 *
 * It derives from the record's source position (see source-position.ts: the checkpoint it
 * follows and its offset after it) and the destination — never from the batch it travels in or
 * the attempt — so the first try, a whole-batch retry, a partial retry (which sends only the
 * failed records, in a batch of their own) and a take-over that re-reads the source from the
 * last checkpoint all carry the same key for the same record.
 *
 * @packageDocumentation
 */

/**
 * The key of the record at source position `position` (`<runId>-<segment>-<offset>`: the run
 * that first read it, the checkpoint it follows, its offset after it; a transform's second
 * output of the same record to the same destination adds `.1`, and so on) for `destination` of
 * `pipeline`.
 *
 * @example
 * ```ts
 * recordKey('daily', 'hooks', '7f3a-3f9c0a21be-000041'); // "daily-hooks-7f3a-3f9c0a21be-r000041"
 * ```
 */
export function recordKey(pipeline: string, destination: string, position: string): string {
  const dash = position.lastIndexOf('-');
  return `${pipeline}-${destination}-${position.slice(0, dash)}-r${position.slice(dash + 1)}`;
}

/**
 * The id of a batch whose first record is at `position`: `<pipeline>-<destination>-<position>`.
 *
 * @example
 * ```ts
 * batchIdAt('daily', 'warehouse', '7f3a-3f9c0a21be-000001'); // "daily-warehouse-7f3a-3f9c0a21be-000001"
 * ```
 */
export function batchIdAt(pipeline: string, destination: string, position: string): string {
  return `${pipeline}-${destination}-${position}`;
}
