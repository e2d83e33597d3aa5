/**
 * Encodes one object's records as NDJSON, a JSON array or CSV, optionally gzip-compressed.
 *
 * @packageDocumentation
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { SluiceRecord } from '@sluice/core';
import { createCsvWriter, csvColumnsOf } from '@sluice/core/csv';

const gzip = promisify(gzipCallback);

/** Output formats. */
export type ObjectFormat = 'ndjson' | 'json' | 'csv';

/** CSV options. */
export interface CsvOptions {
  header: boolean;
  delimiter: string;
  /** How null and missing fields are written (default: an empty unquoted cell; `""` is an empty string). */
  nullAs?: string | undefined;
  /** Prefix text cells starting with = + - @ tab CR with `'` (OWASP CSV injection). */
  escapeFormulas?: boolean | undefined;
  /** Column order; default: the fields of the records in first-seen order. */
  columns?: readonly string[];
}

/** What an object is stored as. */
export interface EncodedObject {
  body: Buffer;
  contentType: string;
  /** File extension including the dot, e.g. `.csv.gz`. */
  extension: string;
}

/** The extension of a format (with `.gz` when compressed). */
export function extensionOf(format: ObjectFormat, compress: boolean): string {
  return `.${format}${compress ? '.gz' : ''}`;
}

const CONTENT_TYPES: Record<ObjectFormat, string> = {
  ndjson: 'application/x-ndjson',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
};

function encodeText(
  records: readonly SluiceRecord[],
  format: ObjectFormat,
  csv: CsvOptions,
): string {
  if (format === 'ndjson') return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
  if (format === 'json') return JSON.stringify(records);
  // Core's one RFC 4180 writer (also used by the file and e-mail destinations).
  const writer = createCsvWriter({
    delimiter: csv.delimiter,
    nullAs: csv.nullAs ?? '',
    escapeFormulas: csv.escapeFormulas ?? false,
  });
  const columns = csv.columns?.map((field) => ({ field, header: field })) ?? csvColumnsOf(records);
  return (csv.header ? writer.header(columns) : '') + writer.rows(records, columns);
}

/**
 * Encodes records for one object.
 *
 * @example
 * ```ts
 * const { body, contentType, extension } = await encodeObject(records, 'csv', true, { header: true, delimiter: ',' });
 * // extension ".csv.gz", contentType "application/gzip"
 * ```
 */
export async function encodeObject(
  records: readonly SluiceRecord[],
  format: ObjectFormat,
  compress: boolean,
  csv: CsvOptions,
): Promise<EncodedObject> {
  const text = Buffer.from(encodeText(records, format, csv), 'utf8');
  return {
    body: compress ? await gzip(text) : text,
    contentType: compress ? 'application/gzip' : CONTENT_TYPES[format],
    extension: extensionOf(format, compress),
  };
}
