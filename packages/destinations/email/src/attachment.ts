/**
 * The records of an e-mail as a CSV or NDJSON attachment.
 *
 * @packageDocumentation
 */
import type { SluiceRecord } from '@sluice/core';
import { createCsvWriter, csvColumnsOf, type CsvWriterOptions } from '@sluice/core/csv';

/**
 * The fields of the records in first-seen order (the digest table's and the CSV's columns).
 *
 * @example
 * ```ts
 * columnsOf([{ a: 1 }, { b: 2, a: 3 }]); // ["a", "b"]
 * ```
 */
export function columnsOf(records: readonly SluiceRecord[]): string[] {
  return csvColumnsOf(records).map((c) => c.field);
}

/**
 * Encodes records as CSV (core's one RFC 4180 writer: header row, nested values as JSON, `nullAs`
 * and `escapeFormulas` as configured) or NDJSON.
 *
 * @example
 * ```ts
 * encodeAttachment([{ id: 1, ok: true }], 'csv'); // "id,ok\n1,true\n"
 * ```
 */
export function encodeAttachment(
  records: readonly SluiceRecord[],
  format: 'csv' | 'ndjson',
  csv: Pick<CsvWriterOptions, 'nullAs' | 'escapeFormulas'> = {},
): string {
  if (format === 'ndjson') return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const writer = createCsvWriter({
    nullAs: csv.nullAs ?? '',
    escapeFormulas: csv.escapeFormulas ?? false,
  });
  const columns = csvColumnsOf(records);
  return writer.header(columns) + writer.rows(records, columns);
}
