/**
 * The small portable set of column types, what each becomes in every dialect's DDL, and how a
 * record value is checked and converted before it reaches the driver. Checking values here,
 * per record, is what lets one bad record fail alone instead of poisoning its whole batch.
 */
import type { JsonValue } from '@sluice/core';
import type { DialectName } from './identifiers.js';

/** Portable column types. */
export const COLUMN_TYPES = [
  'text',
  'integer',
  'bigint',
  'numeric',
  'double',
  'boolean',
  'timestamp',
  'date',
  'json',
] as const;

/** One of {@link COLUMN_TYPES}. */
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** A value ready to bind as a driver parameter. */
export type SqlValue = string | number | boolean | bigint | null;

/**
 * A record value that does not fit its column. The message names the column and the field.
 *
 * @example
 * ```ts
 * throw new ValueError('expected an integer, got "abc"');
 * ```
 */
export class ValueError extends Error {
  override readonly name = 'ValueError';
}

/**
 * The DDL type of a portable type in a dialect. `keyed` columns are part of a primary or unique
 * key: MySQL cannot index an unbounded TEXT, so those become VARCHAR(255).
 *
 * @example
 * ```ts
 * ddlType('postgres', 'timestamp', false); // "timestamptz"
 * ddlType('mysql', 'text', true);          // "VARCHAR(255)"
 * ```
 */
export function ddlType(dialect: DialectName, type: ColumnType, keyed: boolean): string {
  switch (dialect) {
    case 'postgres':
      return {
        text: 'text',
        integer: 'integer',
        bigint: 'bigint',
        numeric: 'numeric',
        double: 'double precision',
        boolean: 'boolean',
        timestamp: 'timestamptz',
        date: 'date',
        json: 'jsonb',
      }[type];
    case 'mysql':
      return {
        text: keyed ? 'VARCHAR(255)' : 'TEXT',
        integer: 'INT',
        bigint: 'BIGINT',
        numeric: 'DECIMAL(38,10)',
        double: 'DOUBLE',
        boolean: 'BOOLEAN',
        timestamp: 'DATETIME(3)',
        date: 'DATE',
        json: 'JSON',
      }[type];
    case 'sqlite':
      // SQLite has type affinities, not types. Exact decimals and instants are kept as text so
      // nothing is rounded through REAL.
      return {
        text: 'TEXT',
        integer: 'INTEGER',
        bigint: 'INTEGER',
        numeric: 'TEXT',
        double: 'REAL',
        boolean: 'INTEGER',
        timestamp: 'TEXT',
        date: 'TEXT',
        json: 'TEXT',
      }[type];
  }
}

/** PostgreSQL array type used to bind a whole column with `unnest`. */
export function postgresArrayType(type: ColumnType): string {
  return {
    text: 'text[]',
    integer: 'int4[]',
    bigint: 'int8[]',
    numeric: 'numeric[]',
    double: 'float8[]',
    boolean: 'bool[]',
    timestamp: 'timestamptz[]',
    date: 'date[]',
    json: 'jsonb[]',
  }[type];
}

const INTEGER_TEXT = /^[+-]?\d+$/;
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TIMESTAMP_TEXT =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const INT32_MIN_BIG = BigInt(INT32_MIN);
const INT32_MAX_BIG = BigInt(INT32_MAX);

function describe(value: JsonValue): string {
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function kindOf(value: JsonValue): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function toInteger(value: JsonValue, min: bigint, max: bigint, what: string): number | bigint {
  if (typeof value === 'number') {
    // Safe integers within the bounds need no BigInt (the common case, and much cheaper).
    if (Number.isSafeInteger(value) && value >= Number(min) && value <= Number(max)) return value;
    if (!Number.isInteger(value)) throw new ValueError(`expected ${what}, got ${describe(value)}`);
    if (BigInt(value) < min || BigInt(value) > max)
      throw new ValueError(`${describe(value)} is out of range for ${what}`);
    return value;
  }
  if (typeof value === 'string' && INTEGER_TEXT.test(value.trim())) {
    const big = BigInt(value.trim());
    if (big < min || big > max)
      throw new ValueError(`${describe(value)} is out of range for ${what}`);
    return Number.isSafeInteger(Number(big)) ? Number(big) : big;
  }
  throw new ValueError(`expected ${what}, got ${kindOf(value)} ${describe(value)}`);
}

function toBoolean(value: JsonValue): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    if (lower === 'true' || lower === '1') return true;
    if (lower === 'false' || lower === '0') return false;
  }
  throw new ValueError(`expected a boolean, got ${kindOf(value)} ${describe(value)}`);
}

function toInstant(value: JsonValue): Date {
  let ms: number;
  if (typeof value === 'number' && Number.isFinite(value)) {
    ms = value;
  } else if (typeof value === 'string' && TIMESTAMP_TEXT.test(value.trim())) {
    const text = value.trim().replace(' ', 'T');
    // A date-time without a zone is read as UTC, never as the server's local time.
    const zoned =
      /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(text) || text.length === 10 ? text : `${text}Z`;
    ms = Date.parse(zoned.length === 10 ? `${zoned}T00:00:00Z` : zoned);
  } else {
    throw new ValueError(
      `expected a timestamp (ISO-8601 text or epoch milliseconds), got ${kindOf(value)} ${describe(value)}`,
    );
  }
  const date = new Date(ms);
  if (Number.isNaN(date.getTime()))
    throw new ValueError(`${describe(value)} is not a valid timestamp`);
  return date;
}

/** The value of the decimal digits of `text` from `start` to `end`, or -1 if one is not a digit. */
function digitsAt(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n;
}

function toDate(value: JsonValue): string {
  if (typeof value === 'string') {
    // Read by character codes and checked by arithmetic: a RegExp match and a Date per value
    // were the mapper's hottest spots.
    const text = value.length === 10 ? value : value.trim();
    if (text.length === 10 && text[4] === '-' && text[7] === '-') {
      const y = digitsAt(text, 0, 4);
      const mo = digitsAt(text, 5, 7);
      const d = digitsAt(text, 8, 10);
      const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
      const days =
        mo === 2 ? (leap ? 29 : 28) : mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
      // Years below 100 stay refused, as they were (Date.UTC reads them as 19xx).
      if (y >= 100 && mo >= 1 && mo <= 12 && d >= 1 && d <= days) return text;
    }
  }
  throw new ValueError(`expected a date (YYYY-MM-DD), got ${kindOf(value)} ${describe(value)}`);
}

function mysqlDateTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/**
 * Checks one non-null record value against a column type and converts it to what the dialect's
 * driver binds. Throws a {@link ValueError} saying what was expected.
 *
 * @example
 * ```ts
 * convertValue('postgres', 'integer', '42'); // 42
 * convertValue('mysql', 'boolean', true);    // 1
 * convertValue('sqlite', 'json', { a: 1 });  // '{"a":1}'
 * ```
 */
export function convertValue(dialect: DialectName, type: ColumnType, value: JsonValue): SqlValue {
  switch (type) {
    case 'text':
      if (typeof value === 'string') {
        // PostgreSQL text cannot hold U+0000: refuse it here, naming the column, rather than let
        // the server reject the row with an encoding error that names nothing.
        if (dialect === 'postgres' && value.includes('\u0000'))
          throw new ValueError('PostgreSQL text cannot contain the character U+0000 (NUL)');
        return value;
      }
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw new ValueError(`expected text, got ${kindOf(value)} ${describe(value)}`);
    case 'integer':
      // An in-range JSON integer (the common case) needs no further checks.
      if (
        Number.isInteger(value) &&
        (value as number) >= INT32_MIN &&
        (value as number) <= INT32_MAX
      )
        return value as number;
      return toInteger(value, INT32_MIN_BIG, INT32_MAX_BIG, 'a 32-bit integer');
    case 'bigint': {
      if (Number.isSafeInteger(value)) return value as number;
      const n = toInteger(value, INT64_MIN, INT64_MAX, 'a 64-bit integer');
      return typeof n === 'bigint' && dialect !== 'sqlite' ? n.toString() : n;
    }
    case 'numeric': {
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value === 'string' && DECIMAL_TEXT.test(value.trim())) return value.trim();
      throw new ValueError(`expected a decimal number, got ${kindOf(value)} ${describe(value)}`);
    }
    case 'double': {
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (typeof value === 'string' && DECIMAL_TEXT.test(value.trim())) return Number(value.trim());
      throw new ValueError(`expected a number, got ${kindOf(value)} ${describe(value)}`);
    }
    case 'boolean': {
      const b = toBoolean(value);
      return dialect === 'postgres' ? b : b ? 1 : 0;
    }
    case 'timestamp': {
      const date = toInstant(value);
      return dialect === 'mysql' ? mysqlDateTime(date) : date.toISOString();
    }
    case 'date':
      return toDate(value);
    case 'json': {
      const text = JSON.stringify(value);
      if (dialect === 'postgres' && text.includes('\\u0000'))
        throw new ValueError('PostgreSQL json cannot contain the character U+0000 (NUL)');
      return text;
    }
  }
}
