/**
 * The `cast` transform: converts fields to number, integer, boolean, string, date or datetime,
 * failing the record with a message naming the field and the value when a value does not convert.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import {
  compileFieldPath,
  defineTransform,
  formatFieldPath,
  readField,
  setField,
  type JsonValue,
} from '@sluice/core';

/** Types `cast` converts to. */
export const CAST_TYPES = ['number', 'integer', 'boolean', 'string', 'date', 'datetime'] as const;
/** One of {@link CAST_TYPES}. */
export type CastType = (typeof CAST_TYPES)[number];

const TRUE = new Set(['true', '1', 'yes', 'y', 'on']);
const FALSE = new Set(['false', '0', 'no', 'n', 'off']);

/**
 * Converts one value; returns `undefined` when it cannot be converted.
 *
 * @example
 * ```ts
 * castValue(' 12 ', 'integer');      // 12
 * castValue('20261124', 'date');     // '2026-11-24'
 * castValue('abc', 'number');        // undefined
 * ```
 */
export function castValue(value: JsonValue, type: CastType): JsonValue | undefined {
  switch (type) {
    case 'number':
    case 'integer': {
      let n: number;
      if (typeof value === 'number') n = value;
      else if (typeof value === 'boolean') n = value ? 1 : 0;
      else if (typeof value === 'string' && value.trim() !== '') n = Number(value.trim());
      else return undefined;
      if (!Number.isFinite(n)) return undefined;
      return type === 'integer' && !Number.isInteger(n) ? undefined : n;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (value === 1 || value === 0) return value === 1;
      if (typeof value === 'string') {
        const s = value.trim().toLowerCase();
        if (TRUE.has(s)) return true;
        if (FALSE.has(s)) return false;
      }
      return undefined;
    }
    case 'string':
      return typeof value === 'string'
        ? value
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
    case 'date':
    case 'datetime': {
      const ms = toEpochMs(value);
      if (ms === undefined) return undefined;
      const iso = new Date(ms).toISOString();
      return type === 'date' ? iso.slice(0, 10) : iso;
    }
  }
}

function toEpochMs(value: JsonValue): number | undefined {
  if (typeof value === 'number')
    return Number.isFinite(value) && Math.abs(value) <= 8.64e15 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  // Plain dates, including the YYYYMMDD form GA4 and BigQuery report, are UTC midnight.
  const day = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(s);
  if (day) {
    const text = `${day[1]}-${day[2]}-${day[3]}`;
    const ms = Date.parse(`${text}T00:00:00Z`);
    // Reject days that do not exist (2026-02-31) instead of rolling them over.
    return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(text) ? ms : undefined;
  }
  // Otherwise only ISO 8601 date-times and RFC 7231 (HTTP) dates: no locale-dependent guessing.
  if (
    !/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(s) &&
    !/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} /.test(s)
  ) {
    return undefined;
  }
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * `cast`: converts each listed field (`{ field: type }`). `null` and absent fields are left
 * alone. When a value does not convert, `onFailure: 'error'` (default) fails the record naming
 * the field and value; `'null'` stores `null` instead.
 *
 * @example
 * ```ts
 * // { kind: 'cast', fields: { sessions: 'integer', date: 'date', '$.flags.paid': 'boolean' } }
 * ```
 */
export const castTransform = defineTransform({
  kind: 'cast',
  version: '1.0.0',
  description: 'Converts fields to number, integer, boolean, string, date or datetime.',
  configSchema: v.strictObject({
    fields: v.pipe(
      v.record(v.string(), v.picklist(CAST_TYPES, `must be one of ${CAST_TYPES.join(', ')}`)),
      v.check((r) => Object.keys(r).length > 0, 'must list at least one field'),
      v.description(
        `Field (name or singular JSONPath) → target type: ${CAST_TYPES.join(', ')}. Absent and null values are left alone.`,
      ),
      v.metadata({ examples: [{ sessions: 'integer', date: 'date' }] }),
    ),
    onFailure: v.optional(
      v.pipe(
        v.picklist(['error', 'null']),
        v.description(
          'When a value does not convert: `error` fails the record naming the field; `null` stores null instead.',
        ),
      ),
      'error',
    ),
  }),
  create({ fields, onFailure }) {
    const steps = Object.entries(fields).map(
      ([field, type]) =>
        [compileFieldPath(field, `fields[${JSON.stringify(field)}]`), type] as const,
    );
    return (record) => {
      let out = record;
      for (const [path, type] of steps) {
        const value = readField(out, path);
        if (value === undefined || value === null) continue;
        let cast = castValue(value, type);
        if (cast === undefined) {
          if (onFailure === 'null') cast = null;
          else
            throw new TypeError(
              `cast: field ${formatFieldPath(path)}: cannot convert ${JSON.stringify(value).slice(0, 80)} to ${type}`,
            );
        }
        if (cast !== value) out = setField(out, path, cast);
      }
      return out === record ? { ...record } : out;
    };
  },
});
