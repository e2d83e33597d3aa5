/**
 * Conversions between database values and the JSON/ISO shapes of the public API, shared by
 * every repository.
 */
import { createHash } from 'node:crypto';
import { ConfigError, type JsonValue } from '@sluice/core';

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

/** JSON text for a jsonb parameter (both drivers pass strings through unchanged). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value);
}

/** JSON with object keys sorted, so equal configs hash equally whatever their key order. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as JsonValue)}`).join(',')}}`;
}

/** sha256 hex of a text. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Reads a jsonb value that drivers may hand back parsed or (rarely) as text. */
export function fromJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}
