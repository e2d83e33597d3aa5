/**
 * Serialises records as NDJSON, a JSON array or CSV, in pieces that can start a file or be
 * appended to one: a new file is `head + body + tail`; an append removes the old `tail` and adds
 * `separator + body + tail`. Only JSON has a tail (`\n]\n`), so appending NDJSON and CSV never
 * rewrites a byte already written.
 */
import type { SluiceRecord } from '@sluice/core';
import { createCsvWriter, csvColumnsOf } from '@sluice/core/csv';

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
  /** How null and missing fields are written (default: an empty unquoted cell; `""` is an empty string). */
  nullAs?: string | undefined;
  /** Prefix text cells starting with = + - @ tab CR with `'` (OWASP CSV injection). */
  escapeFormulas?: boolean | undefined;
  columns?: (string | { field: string; header?: string | undefined })[] | undefined;
}

/** Serialises the records of one file. */
export type Encoder = (records: readonly SluiceRecord[]) => EncodedPiece;

function csvEncoder(options: CsvOptions): Encoder {
  const fixed = options.columns?.map((c) =>
    typeof c === 'string'
      ? { field: c, header: c }
      : { field: c.field, header: c.header ?? c.field },
  );
  // Core's one RFC 4180 writer (also used by the S3 and e-mail destinations).
  const csv = createCsvWriter({
    delimiter: options.delimiter,
    quote: options.quote,
    quoteAll: options.quoteAll,
    nullAs: options.nullAs ?? '',
    escapeFormulas: options.escapeFormulas ?? false,
  });
  return (records) => {
    // Without a declared list, the columns are every field of these records in first-seen order.
    const columns = fixed ?? csvColumnsOf(records);
    return {
      head: options.header ? csv.header(columns) : '',
      body: csv.rows(records, columns),
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
