/**
 * The records of an e-mail as a CSV or NDJSON attachment.
 *
 * @packageDocumentation
 */
import { stringify } from 'csv-stringify/sync';
import type { SluiceRecord } from '@sluice/core';

/**
 * The fields of the records in first-seen order (the digest table's and the CSV's columns).
 *
 * @example
 * ```ts
 * columnsOf([{ a: 1 }, { b: 2, a: 3 }]); // ["a", "b"]
 * ```
 */
export function columnsOf(records: readonly SluiceRecord[]): string[] {
  const seen = new Set<string>();
  for (const record of records) for (const key of Object.keys(record)) seen.add(key);
  return [...seen];
}

/**
 * Encodes records as CSV (header row, nested values as JSON) or NDJSON.
 *
 * @example
 * ```ts
 * encodeAttachment([{ id: 1, ok: true }], 'csv'); // "id,ok\n1,true\n"
 * ```
 */
export function encodeAttachment(records: readonly SluiceRecord[], format: 'csv' | 'ndjson'): string {
  if (format === 'ndjson') return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  return stringify(records as SluiceRecord[], {
    header: true,
    columns: columnsOf(records),
    cast: { boolean: (value) => String(value), object: (value) => JSON.stringify(value) },
    record_delimiter: '\n',
  });
}
