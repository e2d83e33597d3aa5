import { BigQuery } from '@google-cloud/bigquery';
import type { JsonValue } from '@sluice/core';
import type { CursorType } from './config.js';

/** The checkpoint the connector commits: the cursor column's value up to which every row was read. */
export interface BigQueryState {
  cursor: string | number;
}

/** Where an incremental read starts when there is no state and no `cursor.initial`. */
const MINIMUM: Record<CursorType, string | number> = {
  TIMESTAMP: '0001-01-01T00:00:00.000000Z',
  DATETIME: '0001-01-01T00:00:00',
  DATE: '0001-01-01',
  INT64: '-9223372036854775808',
  NUMERIC: '-99999999999999999999999999999.999999999',
  BIGNUMERIC: '-1e38',
  FLOAT64: '-1.7976931348623157e308',
  STRING: '',
};

/** Schema type names the API uses for each cursor type (legacy and standard spellings). */
const SCHEMA_TYPES: Record<CursorType, string[]> = {
  TIMESTAMP: ['TIMESTAMP'],
  DATETIME: ['DATETIME'],
  DATE: ['DATE'],
  INT64: ['INT64', 'INTEGER'],
  NUMERIC: ['NUMERIC', 'DECIMAL'],
  BIGNUMERIC: ['BIGNUMERIC', 'BIGDECIMAL'],
  FLOAT64: ['FLOAT64', 'FLOAT'],
  STRING: ['STRING'],
};

/**
 * Tells whether a result column of `schemaType` can hold a cursor of `type`.
 *
 * @example
 * ```ts
 * cursorMatchesSchema('INT64', 'INTEGER'); // true
 * ```
 */
export function cursorMatchesSchema(type: CursorType, schemaType: string): boolean {
  return SCHEMA_TYPES[type].includes(schemaType.toUpperCase());
}

/**
 * The cursor value a read starts from: the state's, else the configured initial value, else
 * the smallest value of the type. Throws a `TypeError` naming `state.cursor` when the state is
 * not a checkpoint of this connector.
 *
 * @example
 * ```ts
 * startCursor({ cursor: '2026-11-24T08:00:00.000000Z' }, undefined, 'TIMESTAMP'); // '2026-11-24T08:00:00.000000Z'
 * ```
 */
export function startCursor(
  state: JsonValue | undefined,
  initial: string | number | undefined,
  type: CursorType,
): string | number {
  if (state !== undefined && state !== null) {
    const cursor = typeof state === 'object' && !Array.isArray(state) ? state.cursor : undefined;
    if (typeof cursor !== 'string' && typeof cursor !== 'number') {
      throw new TypeError(
        `state.cursor must be a string or number (a checkpoint of this connector), got ${JSON.stringify(state)}`,
      );
    }
    return cursor;
  }
  return initial ?? MINIMUM[type];
}

/**
 * The SDK parameter value for a cursor: the SDK needs its wrapper objects for the time types.
 *
 * @example
 * ```ts
 * const params = { cursor: cursorParam('2026-11-24T08:00:00Z', 'TIMESTAMP') };
 * ```
 */
export function cursorParam(value: string | number, type: CursorType): unknown {
  switch (type) {
    case 'TIMESTAMP':
      return BigQuery.timestamp(String(value));
    case 'DATETIME':
      return BigQuery.datetime(String(value));
    case 'DATE':
      return BigQuery.date(String(value));
    case 'INT64':
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return String(value);
    case 'FLOAT64':
      return Number(value);
    default:
      return String(value);
  }
}

/**
 * Compares two cursor values of one type as BigQuery orders them (integers and decimals
 * exactly, not as floats). Returns a negative number, 0 or a positive number.
 *
 * @example
 * ```ts
 * compareCursor('9007199254740993', 9007199254740992, 'INT64'); // 1
 * ```
 */
export function compareCursor(a: string | number, b: string | number, type: CursorType): number {
  switch (type) {
    case 'INT64': {
      const x = BigInt(a);
      const y = BigInt(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return compareDecimal(String(a), String(b));
    case 'FLOAT64':
      return Number(a) - Number(b);
    default: {
      // TIMESTAMP values are fixed-width ISO strings (see timestampToIso), DATE/DATETIME too.
      const x = String(a);
      const y = String(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
  }
}

/** Exact comparison of two decimal strings (`-12.5`, `3`, `1e38`). */
function compareDecimal(a: string, b: string): number {
  const [ai, af, an] = splitDecimal(a);
  const [bi, bf, bn] = splitDecimal(b);
  if (an !== bn) return an ? -1 : 1;
  const sign = an ? -1 : 1;
  if (ai.length !== bi.length) return sign * (ai.length - bi.length);
  if (ai !== bi) return sign * (ai < bi ? -1 : 1);
  const width = Math.max(af.length, bf.length);
  const x = af.padEnd(width, '0');
  const y = bf.padEnd(width, '0');
  return x === y ? 0 : sign * (x < y ? -1 : 1);
}

function splitDecimal(text: string): [string, string, boolean] {
  let t = text.trim();
  const negative = t.startsWith('-');
  if (negative || t.startsWith('+')) t = t.slice(1);
  if (/e/i.test(t)) {
    // Expand scientific notation exactly: move the decimal point by the exponent.
    const [mantissa, exponent] = t.toLowerCase().split('e') as [string, string];
    const [mi, mf = ''] = mantissa.split('.') as [string, string?];
    const exp = Number(exponent);
    const digits = mi + mf;
    const point = mi.length + exp;
    t =
      point <= 0
        ? `0.${'0'.repeat(-point)}${digits}`
        : point >= digits.length
          ? digits + '0'.repeat(point - digits.length)
          : `${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  const [int = '0', frac = ''] = t.split('.');
  const i = int.replace(/^0+(?=\d)/, '');
  const f = frac.replace(/0+$/, '');
  const zero = /^0*$/.test(i) && f === '';
  return [i, f, negative && !zero];
}
