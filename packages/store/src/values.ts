/**
 * Conversions between database values and the JSON/ISO shapes of the public API, shared by
 * every repository.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '@sluice/core';

/** A `Date` (or a driver's string) as an ISO 8601 string. */
export function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** Like {@link toIso}, keeping `null`. */
export function toIsoOrNull(value: Date | string | null | undefined): string | null {
  return value === null || value === undefined ? null : toIso(value);
}

/** A bigint column (string from pg, number or bigint from PGlite) as a number. */
export function toNumber(value: string | number | bigint): number {
  return typeof value === 'number' ? value : Number(value);
}

/**
 * Parses an ISO 8601 time given by a caller and normalises it (UTC, milliseconds), or throws a
 * ConfigError naming `field`.
 */
export function parseTime(value: string, field: string): string {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new ConfigError([
      { path: field, message: `expected an ISO 8601 time, got ${JSON.stringify(value)}` },
    ]);
  }
  return new Date(ms).toISOString();
}

/**
 * Key of the wrapper that carries a value jsonb cannot hold. PostgreSQL's jsonb refuses U+0000 in
 * any string ("unsupported Unicode escape sequence"), yet records, dead letters and run parameters
 * may contain it: such a value is stored as its JSON text inside `{ [NUL_SAFE_KEY]: text }`, where
 * the NUL is only the six characters of its escape, and {@link fromJson} restores it exactly.
 */
export const NUL_SAFE_KEY = '$sluice:json-text';

/**
 * JSON text for a jsonb parameter (both drivers pass strings through unchanged). Values that
 * contain U+0000 (or the wrapper key itself, so decoding stays unambiguous) are wrapped.
 *
 * @example
 * ```ts
 * jsonText({ a: 1 });        // '{"a":1}'
 * jsonText({ a: 'x\u0000' }); // '{"$sluice:json-text":"{\\"a\\":\\"x\\\\u0000\\"}"}'
 * ```
 */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value);
  if (!text.includes('\\u0000') && !text.includes(NUL_SAFE_KEY)) return text;
  return JSON.stringify({ [NUL_SAFE_KEY]: text });
}

/** JSON with object keys sorted, so equal configs hash equally whatever their key order. */
export { canonicalJson } from '@sluice/core';

/** sha256 hex of a text. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Reads a jsonb value that drivers may hand back parsed or (rarely) as text, unwrapping {@link jsonText}'s wrapper. */
export function fromJson<T>(value: unknown): T {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const wrapped = (parsed as Record<string, unknown>)[NUL_SAFE_KEY];
    if (typeof wrapped === 'string' && Object.keys(parsed).length === 1)
      return JSON.parse(wrapped) as T;
  }
  return parsed as T;
}
