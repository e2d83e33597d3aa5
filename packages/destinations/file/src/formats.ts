/**
 * Serialises records as NDJSON, a JSON array or CSV, in pieces that can start a file or be
 * appended to one: a new file is `head + body + tail`; an append removes the old `tail` and adds
 * `separator + body + tail`. Only JSON has a tail (`\n]\n`), so appending NDJSON and CSV never
 * rewrites a byte already written.
 */
import { stringify } from 'csv-stringify/sync';
import type { JsonValue, SluiceRecord } from '@sluice/core';

/** One batch's records for one file, serialised. */
export interface EncodedPiece {
  /** Written only when the file is new (CSV header, JSON `[`). */
  head: string;
  body: string;
  /** Written after the body, removed before the next append (JSON `]`). */
  tail: string;
  /** Written between the existing content and `body` when appending. */
  separator: string;
}

/** CSV options after defaults. */
export interface CsvOptions {
  header: boolean;
  delimiter: string;
  quote: string;
  quoteAll: boolean;
  columns?: (string | { field: string; header?: string | undefined })[] | undefined;
}

/** Serialises the records of one file. */
export type Encoder = (records: readonly SluiceRecord[]) => EncodedPiece;

function cell(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function csvEncoder(options: CsvOptions): Encoder {
  const fixed = options.columns?.map((c) => (typeof c === 'string' ? { field: c, header: c } : { field: c.field, header: c.header ?? c.field }));
  const csvOptions = { delimiter: options.delimiter, quote: options.quote, quoted: options.quoteAll, eof: true, record_delimiter: 'unix' as const };
  return (records) => {
    let columns = fixed;
    if (columns === undefined) {
      // Without a declared list, the columns are every field of these records in first-seen order.
      const seen = new Set<string>();
      for (const record of records) for (const key of Object.keys(record)) seen.add(key);
      columns = [...seen].map((field) => ({ field, header: field }));
    }
    const rows = records.map((record) => columns.map((c) => cell(record[c.field])));
    return {
      head: options.header ? stringify([columns.map((c) => c.header)], csvOptions) : '',
      body: rows.length === 0 ? '' : stringify(rows, csvOptions),
      tail: '',
      separator: '',
    };
  };
}

/**
 * The encoder of a format.
 *
 * @example
 * ```ts
 * const encode = createEncoder('ndjson');
 * encode([{ a: 1 }]).body; // '{"a":1}\n'
 * ```
 */
export function createEncoder(format: 'ndjson' | 'json' | 'csv', csv?: CsvOptions): Encoder {
  switch (format) {
    case 'ndjson':
      return (records) => {
        let body = '';
        for (const record of records) body += `${JSON.stringify(record)}\n`;
        return { head: '', body, tail: '', separator: '' };
      };
    case 'json':
      return (records) => ({
        head: '[\n',
        body: records.map((r) => JSON.stringify(r)).join(',\n'),
        tail: '\n]\n',
        separator: ',\n',
      });
    case 'csv':
      return csvEncoder(csv ?? { header: true, delimiter: ',', quote: '"', quoteAll: false });
  }
}
