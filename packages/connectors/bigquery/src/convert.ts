import { FatalError, type JsonValue, type SluiceRecord } from '@sluice/core';

/** A column of a BigQuery result schema, as the API describes it. */
export interface BigQueryField {
  name: string;
  type: string;
  mode?: string | null;
  fields?: BigQueryField[] | null;
  /** Element type of a RANGE column. */
  rangeElementType?: { type?: string | null } | null;
}

/** Where a value sits, for error messages. */
export interface ValueLocation {
  page: number;
  row: number;
}

const INT = /^-?\d+$/;
const DECIMAL = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Converts one page of raw BigQuery rows (`{ f: [{ v }] }`, every scalar a string) into plain
 * JSON records, without losing precision:
 *
 * | BigQuery | record |
 * |---|---|
 * | INT64 | number when it is a safe integer, else the decimal string |
 * | NUMERIC, BIGNUMERIC | decimal string (exact) |
 * | FLOAT64 | number; `NaN`, `Infinity`, `-Infinity` as strings (JSON has no such numbers) |
 * | BOOL | boolean |
 * | TIMESTAMP | ISO 8601 UTC string with microseconds (`2026-11-24T08:00:00.000000Z`) |
 * | DATE, DATETIME, TIME, STRING, GEOGRAPHY (WKT), INTERVAL | string as sent |
 * | BYTES | base64 string as sent |
 * | JSON | the parsed value |
 * | RANGE | `{ start, end }` (null for an unbounded side) |
 * | RECORD / STRUCT | nested object |
 * | REPEATED | array (empty when BigQuery sends none) |
 *
 * A value of the wrong shape throws a {@link FatalError} naming the field, row and page.
 *
 * @example
 * ```ts
 * convertRows([{ name: 'n', type: 'INT64' }], [{ f: [{ v: '9007199254740993' }] }], 1);
 * // [{ n: '9007199254740993' }]
 * ```
 */
export function convertRows(
  fields: readonly BigQueryField[],
  rows: readonly unknown[],
  page: number,
): SluiceRecord[] {
  const out: SluiceRecord[] = new Array<SluiceRecord>(rows.length);
  for (let i = 0; i < rows.length; i++)
    out[i] = convertRecord(fields, rows[i], '', { page, row: i });
  return out;
}

function convertRecord(
  fields: readonly BigQueryField[],
  raw: unknown,
  prefix: string,
  at: ValueLocation,
): SluiceRecord {
  const cells = (raw as { f?: unknown } | null)?.f;
  if (!Array.isArray(cells))
    fail(prefix === '' ? 'rows[].f' : prefix, at, 'expected a row object {"f":[...]}', raw);
  if (cells.length !== fields.length) {
    fail(
      prefix === '' ? 'rows[].f' : prefix,
      at,
      `expected ${fields.length} cells (one per schema field), got ${cells.length}`,
      undefined,
    );
  }
  const record: SluiceRecord = {};
  for (let k = 0; k < fields.length; k++) {
    const field = fields[k]!;
    const path = prefix === '' ? field.name : `${prefix}.${field.name}`;
    const cell = cells[k] as { v?: unknown } | null;
    if (cell === null || typeof cell !== 'object' || !('v' in cell))
      fail(path, at, 'expected a cell object {"v":...}', cell);
    record[field.name] = convertField(field, cell.v, path, at);
  }
  return record;
}

function convertField(
  field: BigQueryField,
  value: unknown,
  path: string,
  at: ValueLocation,
): JsonValue {
  if (field.mode === 'REPEATED') {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) fail(path, at, 'expected a list for a REPEATED field', value);
    return value.map((item, i) => {
      const cell = item as { v?: unknown } | null;
      if (cell === null || typeof cell !== 'object' || !('v' in cell))
        fail(`${path}[${i}]`, at, 'expected an element {"v":...}', item);
      return convertScalarOrRecord(field, cell.v, `${path}[${i}]`, at);
    });
  }
  return convertScalarOrRecord(field, value, path, at);
}

function convertScalarOrRecord(
  field: BigQueryField,
  value: unknown,
  path: string,
  at: ValueLocation,
): JsonValue {
  if (value === null || value === undefined) return null;
  const type = field.type.toUpperCase();
  if (type === 'RECORD' || type === 'STRUCT')
    return convertRecord(field.fields ?? [], value, path, at);
  if (typeof value !== 'string') fail(path, at, `expected a string for ${type}`, value);
  switch (type) {
    case 'INTEGER':
    case 'INT64': {
      if (!INT.test(value)) fail(path, at, 'expected an integer', value);
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : value;
    }
    case 'FLOAT':
    case 'FLOAT64': {
      if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return value;
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n))
        fail(path, at, 'expected a floating-point number', value);
      return n;
    }
    case 'NUMERIC':
    case 'BIGNUMERIC':
    case 'DECIMAL':
    case 'BIGDECIMAL':
      if (!DECIMAL.test(value)) fail(path, at, 'expected a decimal number', value);
      return value;
    case 'BOOLEAN':
    case 'BOOL': {
      const lower = value.toLowerCase();
      if (lower !== 'true' && lower !== 'false')
        fail(path, at, 'expected "true" or "false"', value);
      return lower === 'true';
    }
    case 'TIMESTAMP':
      return timestampToIso(value, path, at);
    case 'JSON':
      try {
        return JSON.parse(value) as JsonValue;
      } catch {
        return fail(path, at, 'expected a JSON document', value);
      }
    case 'RANGE':
      return convertRange(field, value, path, at);
    default:
      // STRING, BYTES (base64), DATE, DATETIME, TIME, GEOGRAPHY (WKT), INTERVAL: the API's text is the value.
      return value;
  }
}

/**
 * Formats BigQuery's integer microseconds since the epoch as an ISO string with six fractional
 * digits. Also accepts float seconds (legacy `tabledata` format) and ISO strings.
 *
 * @example
 * ```ts
 * timestampToIso('1767225610000001'); // "2026-01-01T00:00:10.000001Z"
 * ```
 */
export function timestampToIso(
  value: string,
  path = 'value',
  at: ValueLocation = { page: 0, row: 0 },
): string {
  let micros: bigint;
  if (INT.test(value)) micros = BigInt(value);
  else if (DECIMAL.test(value)) micros = BigInt(Math.round(Number(value) * 1e6));
  else {
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) fail(path, at, 'expected a TIMESTAMP (integer microseconds)', value);
    const fraction = /\.(\d+)/.exec(value)?.[1] ?? '';
    micros = BigInt(ms) * 1000n + BigInt(fraction.padEnd(6, '0').slice(3, 6) || '0');
  }
  // Floor division keeps pre-1970 instants right (-1 µs is 1969-12-31T23:59:59.999999Z).
  let ms = micros / 1000n;
  let rest = micros % 1000n;
  if (rest < 0n) {
    rest += 1000n;
    ms -= 1n;
  }
  const date = new Date(Number(ms));
  if (Number.isNaN(date.getTime())) fail(path, at, 'TIMESTAMP out of range', value);
  return `${date.toISOString().slice(0, 23)}${rest.toString().padStart(3, '0')}Z`;
}

function convertRange(
  field: BigQueryField,
  value: string,
  path: string,
  at: ValueLocation,
): JsonValue {
  const m = /^\[\s*([^,]*?)\s*,\s*([^)]*?)\s*\)$/.exec(value);
  if (!m) fail(path, at, 'expected a RANGE like "[start, end)"', value);
  const element = field.rangeElementType?.type ?? 'STRING';
  const side = (text: string): JsonValue =>
    text === '' || text.toUpperCase() === 'UNBOUNDED' || text.toUpperCase() === 'NULL'
      ? null
      : element === 'TIMESTAMP'
        ? timestampToIso(text, path, at)
        : text;
  return { start: side(m[1]!), end: side(m[2]!) };
}

function fail(path: string, at: ValueLocation, expectation: string, got: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(got) ?? String(got);
  } catch {
    shown = String(got);
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  throw new FatalError(
    `BigQuery returned a malformed value for field "${path}" (row ${at.row} of page ${at.page}): ${expectation}, got ${shown}`,
    { details: { field: path, page: at.page, row: at.row } },
  );
}
