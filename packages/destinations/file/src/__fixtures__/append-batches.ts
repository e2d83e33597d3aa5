// The batches the append crash tests send: deterministic, as the router makes them (the same
// id and record keys in every attempt), large enough that a kill often lands inside a write.
import type { Batch, SluiceRecord } from '@sluice/core';

/** Records per batch. */
export const PER_BATCH = 400;

/** Batch `n` of a run: records `n * PER_BATCH` … with their source positions as record keys. */
export function batchOf(n: number): Batch {
  const records: SluiceRecord[] = [];
  const recordKeys: string[] = [];
  for (let i = 0; i < PER_BATCH; i++) {
    const seq = n * PER_BATCH + i;
    records.push({ seq, text: `record ${seq} `.padEnd(200, 'x') });
    recordKeys.push(`crash-files-run1-0000000000-r${String(seq).padStart(6, '0')}`);
  }
  return {
    id: `crash-files-run1-0000000000-${String(n * PER_BATCH).padStart(6, '0')}`,
    records,
    recordKeys,
    pipeline: 'crash',
    runId: 'run1',
    source: 'src',
    attempt: 1,
    route: 'all',
  };
}
