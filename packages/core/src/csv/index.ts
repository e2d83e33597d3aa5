/**
 * The one CSV writer of Sluice (RFC 4180), shared by every destination that writes CSV (file,
 * S3, e-mail attachments). Imported as `@sluice/core/csv` so core's main entry stays light.
 *
 * What it guarantees, read back by any RFC 4180 reader (Python's `csv`, pandas, csv-parse):
 * - a cell is quoted when it contains CR, LF, the delimiter or the quote character, or starts or
 *   ends with white space (a lone CR is quoted too: csv-stringify quotes only the record
 *   delimiter, so readers split such rows); quotes inside are doubled;
 * - `null` and missing fields are written as `nullAs` (default: an empty unquoted cell) while an
 *   empty string is written as `""`, so the two stay distinguishable;
 * - `escapeFormulas` (opt-in, OWASP CSV injection guidance) prefixes a cell starting with
 *   `=`, `+`, `-`, `@`, tab or CR with a single quote, so spreadsheets show it as text.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import type { JsonValue, SluiceRecord } from '../record.js';

/**
 * The config entries every CSV-writing destination offers (spread into its `csv` object schema),
 * so `nullAs` and `escapeFormulas` read and validate the same everywhere.
 *
 * @example
 * ```ts
 * const csvOptions = v.strictObject({ delimiter: v.optional(v.string(), ','), ...csvWriterConfigEntries });
 * ```
 */
export const csvWriterConfigEntries = {
  nullAs: v.optional(
    v.pipe(
      v.string(),
      v.description(
        'How `null` and missing fields are written. Default: an empty unquoted cell, while an empty string is written `""`; set e.g. `\\N` or `NULL` for readers that cannot tell the two apart.',
      ),
    ),
    '',
  ),
  escapeFormulas: v.optional(
    v.pipe(
      v.boolean(),
      v.description(
        "Prefix text cells starting with `=`, `+`, `-`, `@`, tab or CR with `'` so spreadsheets do not run them as formulas (OWASP CSV injection). Numbers are never changed. Off by default: it alters values.",
      ),
    ),
    false,
  ),
} as const;

/** How records become CSV. */
export interface CsvWriterOptions {
  /** The character between cells (one character). Default `,`. */
  delimiter?: string;
  /** The quote character (one character). Default `"`. */
  quote?: string;
  /** Quote every cell, not only those that need it. Default `false`. */
  quoteAll?: boolean;
  /**
   * How `null` and missing fields are written. Default `''` — an empty, unquoted cell, while an
   * empty string is written quoted (`""`), so a reader can tell the two apart.
   */
  nullAs?: string;
  /**
   * Opt-in defence against spreadsheet formula injection (OWASP): a text cell starting with
   * `=`, `+`, `-`, `@`, tab or CR gets a leading `'`. Numbers are never changed. Default `false`.
   */
  escapeFormulas?: boolean;
  /** Between records. Default `\n`; `\r\n` for strict RFC 4180 consumers. */
  recordDelimiter?: '\n' | '\r\n';
}

/** A column: a field of the record and the header it is written under. */
export interface CsvColumn {
  field: string;
  header: string;
}

/** A writer for one set of options. */
export interface CsvWriter {
  /** One header line (ending with the record delimiter). */
  header(columns: readonly CsvColumn[]): string;
  /** The records as lines (each ending with the record delimiter); `''` for none. */
  rows(records: readonly SluiceRecord[], columns: readonly CsvColumn[]): string;
  /** One cell, quoted as needed. */
  cell(value: JsonValue | undefined): string;
}

const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * The fields of the records in first-seen order, as columns.
 *
 * @example
 * ```ts
 * csvColumnsOf([{ a: 1 }, { b: 2, a: 3 }]); // [{ field: 'a', header: 'a' }, { field: 'b', header: 'b' }]
 * ```
 */
export function csvColumnsOf(records: readonly SluiceRecord[]): CsvColumn[] {
  const seen = new Set<string>();
  for (const record of records) for (const key of Object.keys(record)) seen.add(key);
  return [...seen].map((field) => ({ field, header: field }));
}

/**
 * A CSV writer.
 *
 * @example
 * ```ts
 * const csv = createCsvWriter({ nullAs: 'NULL' });
 * const columns = csvColumnsOf(records);
 * const text = csv.header(columns) + csv.rows(records, columns);
 * csv.cell('a\rb'); // '"a\rb"'
 * csv.cell(null);   // 'NULL'
 * csv.cell('');     // '""'
 * ```
 */
export function createCsvWriter(options: CsvWriterOptions = {}): CsvWriter {
  const delimiter = options.delimiter ?? ',';
  const quote = options.quote ?? '"';
  if (delimiter.length !== 1) throw new TypeError('CSV delimiter must be exactly one character');
  if (quote.length !== 1) throw new TypeError('CSV quote must be exactly one character');
  if (delimiter === quote) throw new TypeError('CSV delimiter and quote must differ');
  const nullAs = options.nullAs ?? '';
  const recordDelimiter = options.recordDelimiter ?? '\n';
  const quoteAll = options.quoteAll ?? false;
  const escapeFormulas = options.escapeFormulas ?? false;
  const doubled = quote + quote;

  const quoted = (text: string): string => quote + text.split(quote).join(doubled) + quote;
  const needsQuotes = (text: string): boolean =>
    text.includes('\r') ||
    text.includes('\n') ||
    text.includes(delimiter) ||
    text.includes(quote) ||
    /^\s|\s$/.test(text);

  const text = (value: string): string => {
    const safe = escapeFormulas && FORMULA_START.test(value) ? `'${value}` : value;
    // An empty string is always quoted: an empty unquoted cell means null or missing.
    return quoteAll || safe === '' || needsQuotes(safe) ? quoted(safe) : safe;
  };

  const cell = (value: JsonValue | undefined): string => {
    if (value === undefined || value === null) return nullAs === '' ? '' : text(nullAs);
    if (typeof value === 'string') return text(value);
    if (typeof value === 'number' || typeof value === 'boolean') {
      const s = String(value);
      return quoteAll ? quoted(s) : s;
    }
    // Nested values as JSON text, never as a formula (JSON starts with { or [).
    return text(JSON.stringify(value));
  };

  const line = (cells: readonly string[]): string => cells.join(delimiter) + recordDelimiter;
  return {
    cell,
    header: (columns) => line(columns.map((c) => text(c.header))),
    rows: (records, columns) => {
      let out = '';
      for (const record of records) out += line(columns.map((c) => cell(record[c.field])));
      return out;
    },
  };
}
