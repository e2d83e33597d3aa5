/**
 * Checks of schedule expressions and time zones, shared by the schemas.
 *
 * @packageDocumentation
 */
import { cronProblem, isValidTimeZone } from '@sluice/core';

/**
 * Why a cron expression is invalid, or `undefined` when it is valid and fires at least once:
 * `@sluice/core`'s `cronProblem`, the one croner configuration the scheduler fires with too
 * (5 fields, 6 with seconds first, 7 with a year last, or a nickname such as `@daily`).
 *
 * @example
 * ```ts
 * cronProblem('0 8 * * *');   // undefined
 * cronProblem('@daily');      // undefined
 * cronProblem('61 * * * *');  // 'invalid cron expression "61 * * * *": ... minute: 61 ...'
 * ```
 */
export { cronProblem };

/**
 * Tells whether `zone` is an IANA time zone name this runtime knows (`Europe/Berlin`, `UTC`).
 * UTC offsets such as `+01:00` are rejected: they ignore daylight saving time.
 *
 * @example
 * ```ts
 * isValidTimeZone('Europe/Berlin'); // true
 * isValidTimeZone('Europe/Berlinn'); // false
 * ```
 */

/**
 * Every IANA time zone the runtime knows, for suggestions.
 *
 * @example
 * ```ts
 * knownTimeZones().includes('Europe/Berlin'); // true
 * ```
 */
export function knownTimeZones(): string[] {
  return ['UTC', ...Intl.supportedValuesOf('timeZone')];
}

/** Re-exported from `@sluice/core` (one definition for every package). */
export { isValidTimeZone };
