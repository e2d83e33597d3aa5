/**
 * Hostile values for text-producing destinations and a reader that is not ours: Python's `csv`
 * module (Debian's `/usr/bin/python3`, RFC 4180 dialect), run as a child process. A destination's
 * test writes {@link hostileRecords} and reads its output back with {@link readCsvWithPython}.
 *
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { SluiceRecord } from '@sluice/core';

/** One megabyte of text with a CR, an LF, a quote and a delimiter in the middle. */
const MEGABYTE = `${'x'.repeat(512 * 1024)}\r\n",;${'y'.repeat(512 * 1024 - 4)}`;

/**
 * Records whose values break naive CSV writers: CR, LF, CRLF, quotes, delimiters, NUL, RTL,
 * emoji, a 1 MB string, formula prefixes, leading/trailing spaces, empty strings next to nulls,
 * nested values and keys with dots, brackets, quotes and new lines.
 */
export const hostileRecords: readonly SluiceRecord[] = [
  { id: 1, text: 'lone\rCR', 'a.b': 'dot key', 'c[0]': 'bracket key', empty: '', nothing: null },
  { id: 2, text: 'lone\nLF', 'a.b': 'CRLF\r\nhere', 'c[0]': 'say "hi"', empty: '', nothing: null },
  {
    id: 3,
    text: 'a,b;c\td|e',
    'a.b': '\u0000NUL\u0000',
    'c[0]': '\u202Eright-to-left\u202C עברית',
    empty: ' ',
    nothing: 'not null',
  },
  { id: 4, text: '🙂 emoji 👩‍👩‍👧', 'a.b': '  leading and trailing  ', 'c[0]': '"', empty: '""' },
  { id: 5, text: '=1+2', 'a.b': '+SUM(A1)', 'c[0]': '-2', empty: '@cmd', nothing: '\t=tab' },
  {
    id: 6,
    text: '\r=cr formula',
    'a.b': { nested: { deep: [1, 'two', null] } },
    'c[0]': [1, 2],
    empty: 'x',
  },
  {
    id: 7,
    text: MEGABYTE,
    'a.b': 'big',
    'c[0]': 'row',
    empty: 'y',
    nothing: null,
    'key\nwith "quote",': 'odd key',
  },
];

/** The columns of {@link hostileRecords} in first-seen order. */
export const hostileColumns: readonly string[] = [
  'id',
  'text',
  'a.b',
  'c[0]',
  'empty',
  'nothing',
  'key\nwith "quote",',
];

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const READER = `
import csv, io, json, sys
args = json.loads(sys.argv[1])
csv.field_size_limit(sys.maxsize)
data = sys.stdin.buffer.read().decode('utf-8')
rows = list(csv.reader(io.StringIO(data, newline=''), delimiter=args['delimiter'], quotechar=args['quote'], strict=True))
sys.stdout.write(json.dumps(rows))
`;

/**
 * Reads CSV text with Python's `csv` module (strict mode) and returns its rows as strings.
 *
 * @example
 * ```ts
 * readCsvWithPython('a,b\n"x\ry",\n'); // [["a", "b"], ["x\ry", ""]]
 * ```
 */
export function readCsvWithPython(
  text: string | Buffer,
  options: { delimiter?: string; quote?: string } = {},
): string[][] {
  const out = execFileSync(
    PYTHON,
    [
      '-c',
      READER,
      JSON.stringify({ delimiter: options.delimiter ?? ',', quote: options.quote ?? '"' }),
    ],
    {
      input: typeof text === 'string' ? Buffer.from(text, 'utf8') : text,
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  return JSON.parse(out.toString('utf8')) as string[][];
}

/**
 * What a reader should see for a record's field: text as written, `nullAs` for null/missing,
 * JSON for nested values, and the `'` prefix when formulas are escaped.
 */
export function expectedCsvCell(
  value: unknown,
  options: { nullAs?: string; escapeFormulas?: boolean; delimiter?: string } = {},
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
