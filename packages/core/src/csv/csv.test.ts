import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import type { SluiceRecord } from '../record.js';
import { createCsvWriter, csvColumnsOf } from './index.js';

// Core cannot depend on @sluice/testing (which depends on core); the destinations' tests use its
// full hostile fixtures. This is the same reader: Debian's Python csv module, strict.
function readCsvWithPython(text: string, delimiter: string): string[][] {
  const script = [
    'import csv, io, json, sys',
    'csv.field_size_limit(sys.maxsize)',
    `rows = list(csv.reader(io.StringIO(sys.stdin.buffer.read().decode('utf-8'), newline=''), delimiter=sys.argv[1], strict=True))`,
    'sys.stdout.write(json.dumps(rows))',
  ].join('\n');
  return JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', script, delimiter], {
      input: text,
      maxBuffer: 64 * 1024 * 1024,
    }).toString('utf8'),
  ) as string[][];
}

const hostileRecords: SluiceRecord[] = [
  { id: 1, text: 'lone\rCR', 'a.b': 'CRLF\r\nhere', 'c[0]': 'say "hi"', empty: '', nothing: null },
  {
    id: 2,
    text: 'a,b;c\td',
    'a.b': '\u0000NUL',
    'c[0]': '\u202Eעברית 🙂',
    empty: ' x ',
    nothing: 'not null',
  },
  { id: 3, text: '=1+2', 'a.b': '@cmd', 'c[0]': '-2', empty: '\t=tab', nothing: '\r=cr' },
  { id: 4, text: 'z'.repeat(1024 * 1024) + '\r', 'a.b': { nested: [1, null] }, 'c[0]': -2 },
];
const hostileColumns = ['id', 'text', 'a.b', 'c[0]', 'empty', 'nothing'];

function expectedCsvCell(
  value: unknown,
  options: { nullAs?: string; escapeFormulas?: boolean },
): string {
  if (value === undefined || value === null) return options.nullAs ?? '';
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  return typeof value === 'string' && options.escapeFormulas === true && /^[=+\-@\t\r]/.test(text)
    ? `'${text}`
    : text;
}

describe('core csv writer (RFC 4180)', () => {
  it('quotes CR, LF, delimiter, quote and leading/trailing space; empty string is "" and null is empty', () => {
    const csv = createCsvWriter();
    expect(csv.cell('a\rb')).toBe('"a\rb"');
    expect(csv.cell('a\nb')).toBe('"a\nb"');
    expect(csv.cell('a,b')).toBe('"a,b"');
    expect(csv.cell('a"b')).toBe('"a""b"');
    expect(csv.cell(' a')).toBe('" a"');
    expect(csv.cell('a ')).toBe('"a "');
    expect(csv.cell('plain')).toBe('plain');
    expect(csv.cell('')).toBe('""');
    expect(csv.cell(null)).toBe('');
    expect(csv.cell(undefined)).toBe('');
    expect(csv.cell(-1.5)).toBe('-1.5');
    expect(csv.cell(true)).toBe('true');
    expect(csv.cell({ a: [1] })).toBe('"{""a"":[1]}"');
    expect(createCsvWriter({ delimiter: ';' }).cell('a;b')).toBe('"a;b"');
    expect(createCsvWriter({ nullAs: 'NULL' }).cell(null)).toBe('NULL');
    expect(createCsvWriter({ nullAs: ' ' }).cell(null)).toBe('" "');
  });

  it('escapes formula prefixes only on request, never numbers', () => {
    const csv = createCsvWriter({ escapeFormulas: true });
    for (const v of ['=1+2', '+1', '-x', '@SUM(A1)', '\tx', '\rx'])
      expect(csv.cell(v).replace(/^"|"$/g, '')).toBe(`'${v}`);
    expect(csv.cell(-3)).toBe('-3');
    expect(csv.cell('safe')).toBe('safe');
    expect(createCsvWriter().cell('=1+2')).toBe('=1+2');
  });

  it('refuses a delimiter equal to the quote or longer than one character', () => {
    expect(() => createCsvWriter({ delimiter: '"' })).toThrow(/differ/);
    expect(() => createCsvWriter({ delimiter: ';;' })).toThrow(/one character/);
  });

  for (const options of [
    { delimiter: ',', nullAs: '\\N' },
    { delimiter: ';', nullAs: 'NULL', escapeFormulas: true },
    { delimiter: '\t', nullAs: '\\N', quoteAll: true },
    { delimiter: ',', nullAs: '\\N', recordDelimiter: '\r\n' as const },
  ]) {
    it(`hostile values read back by Python csv: ${JSON.stringify(options)}`, () => {
      const csv = createCsvWriter(options);
      const columns = csvColumnsOf(hostileRecords);
      expect(columns.map((c) => c.field)).toEqual(hostileColumns);
      const text = csv.header(columns) + csv.rows(hostileRecords, columns);
      const expected = [
        [...hostileColumns],
        ...hostileRecords.map((r) => hostileColumns.map((c) => expectedCsvCell(r[c], options))),
      ];
      const python = readCsvWithPython(text, options.delimiter);
      expect(python.length).toBe(hostileRecords.length + 1);
      expect(python).toEqual(expected);
    });
  }
});
