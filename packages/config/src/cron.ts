/**
 * Checks of schedule expressions and time zones, shared by the schemas.
 *
 * @packageDocumentation
 */
import { isValidTimeZone } from '@sluice/core';
import { Cron } from 'croner';

/**
 * Why a cron expression is invalid (croner syntax: 5 fields, or 6 with seconds first, or 7
 * with a year; `@daily`-style nicknames), or `undefined` when it is valid and fires at least once.
 *
 * @example
 * ```ts
 * cronProblem('0 8 * * *');   // undefined
 * cronProblem('61 * * * *');  // 'invalid cron expression "61 * * * *": ... minute: 61'
 * ```
 */
export function cronProblem(expression: string): string | undefined {
  let job: Cron | undefined;
  try {
    job = new Cron(expression, { paused: true, timezone: 'UTC' });
    if (job.nextRun() === null) return `cron expression "${expression}" never fires`;
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    return `invalid cron expression "${expression}": ${reason}`;
  } finally {
    job?.stop();
  }
}

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
