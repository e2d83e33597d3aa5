/** Shared pieces of the contract runs of every dialect. */
import type { SluiceRecord } from '@sluice/core';

/** The columns holding the contract suite's default records. */
export const contractColumns = [
  { name: 'id', type: 'bigint', primaryKey: true },
  { name: 'name', type: 'text' },
  { name: 'score', type: 'double' },
  { name: 'active', type: 'boolean' },
];

/** Turns rows read back from any dialect into the records that were written. */
export function normaliseRows(rows: readonly Record<string, unknown>[]): SluiceRecord[] {
  return rows.map((row) => ({
    id: Number(row.id),
    name: String(row.name),
    score: Number(row.score),
    active: row.active === true || row.active === 1 || row.active === '1',
  }));
}

/** Records 1 (type mismatch) and 3 (missing key) cannot be written. */
export const partialFailure = {
  records: [
    { id: 10, name: 'ok', score: 1, active: true },
    { id: 11, name: 'bad score', score: 'not a number', active: true },
    { id: 12, name: 'ok too', score: 2.5, active: false },
    { name: 'no id', score: 3, active: true },
    { id: 14, name: 'last', score: -1, active: false },
  ] as SluiceRecord[],
  failed: [1, 3],
};

let counter = 0;
/** A fresh table name for one test. */
export function nextTable(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}
