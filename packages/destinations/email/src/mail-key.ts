/**
 * The one identity of each e-mail: the key of core's delivery ledger (what was sent, so a repeat
 * of a batch is not e-mailed again) and the local part of its Message-ID.
 *
 * @packageDocumentation
 */
import type { Batch } from '@sluice/core';

/**
 * The identity of the mail of record `index` of `batch` (or of the batch's digest): the record's
 * key when the router gave one (the same on a partial retry, where the batch id and index
 * change), else the batch id and index.
 *
 * @example
 * ```ts
 * mailKey({ id: 'daily-mail-7f3a-3f9c0a21be-000001', recordKeys: ['daily-mail-7f3a-3f9c0a21be-r000001'], ... }, 0);
 * // "daily-mail-7f3a-3f9c0a21be-r000001"
 * ```
 */
export function mailKey(batch: Pick<Batch, 'id' | 'recordKeys'>, index: number | 'digest'): string {
  if (index === 'digest') return `${batch.id}.digest`;
  return batch.recordKeys?.[index] ?? `${batch.id}.${index}`;
}
