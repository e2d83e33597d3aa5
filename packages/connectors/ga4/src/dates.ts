/** Calendar arithmetic on `YYYY-MM-DD` strings, in a property's time zone. */
import { dateInZone, isValidTimeZone } from '@sluice/core';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const RELATIVE = /^(today|yesterday|\d+daysAgo)$/;

/**
 * Tells whether `text` is a GA4 date: `YYYY-MM-DD`, `today`, `yesterday` or `NdaysAgo`.
 *
 * @example
 * ```ts
 * isGa4Date('7daysAgo'); // true
 * ```
 */
export function isGa4Date(text: string): boolean {
  return (
    RELATIVE.test(text) || (ISO_DATE.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`)))
  );
}

/**
 * Today's date in an IANA time zone.
 *
 * @example
 * ```ts
 * todayIn(Date.UTC(2026, 10, 25, 3), 'America/Los_Angeles'); // '2026-11-24'
 * ```
 */
export const todayIn: (nowMs: number, timeZone: string) => string = dateInZone;

/**
 * Adds (or subtracts) whole days.
 *
 * @example
 * ```ts
 * addDays('2026-03-01', -1); // '2026-02-28'
 * ```
 */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Resolves a GA4 date (relative or absolute) against `today`.
 *
 * @example
 * ```ts
 * resolveGa4Date('7daysAgo', '2026-11-25'); // '2026-11-18'
 * ```
 */
export function resolveGa4Date(text: string, today: string): string {
  if (text === 'today') return today;
  if (text === 'yesterday') return addDays(today, -1);
  const ago = /^(\d+)daysAgo$/.exec(text);
  if (ago) return addDays(today, -Number(ago[1]));
  if (!isGa4Date(text))
    throw new TypeError(`"${text}" is not a date: use YYYY-MM-DD, today, yesterday or NdaysAgo`);
  return text;
}

/**
 * Tells whether a string names a time zone this runtime knows.
 *
 * @example
 * ```ts
 * isTimeZone('Europe/Berlin'); // true
 * ```
 */

/**
 * Milliseconds from `nowMs` until the next midnight in `timeZone` (when GA4's daily quota refills).
 *
 * @example
 * ```ts
 * msUntilMidnight(Date.now(), 'America/Los_Angeles');
 * ```
 */
export function msUntilMidnight(nowMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(nowMs);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const elapsed = (get('hour') * 3600 + get('minute') * 60 + get('second')) * 1000 + (nowMs % 1000);
  return Math.max(1000, 86_400_000 - elapsed);
}

/**
 * Milliseconds from `nowMs` until the top of the next hour (when hourly quotas refill).
 *
 * @example
 * ```ts
 * msUntilNextHour(Date.UTC(2026, 0, 1, 10, 59)); // 60000
 * ```
 */
export function msUntilNextHour(nowMs: number): number {
  return Math.max(1000, 3_600_000 - (nowMs % 3_600_000));
}

/** Tells whether a string names an IANA time zone this runtime knows (`@sluice/core`'s `isValidTimeZone`). */
export const isTimeZone = isValidTimeZone;
