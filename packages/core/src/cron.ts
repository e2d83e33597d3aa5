/**
 * The one cron parser of Sluice: croner with one set of options, used by the configuration (to
 * validate `schedule.cron`) and by the scheduler (to fire it), so every expression the
 * configuration accepts is one the scheduler runs.
 *
 * @packageDocumentation
 */
import { Cron } from 'croner';
import { isValidTimeZone } from './time-zone.js';

/**
 * The forms of cron expression Sluice accepts, for documentation and messages.
 *
 * @example
 * ```ts
 * CRON_FORMS; // '5 fields (minute hour day month weekday), 6 with seconds first, 7 with a year last, or a nickname (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)'
 * ```
 */
export const CRON_FORMS =
  '5 fields (minute hour day month weekday), 6 with seconds first, 7 with a year last, or a nickname (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)';

/**
 * Parses a cron expression for an IANA time zone into a paused croner job (no timer runs).
 * Every form of {@link CRON_FORMS} is accepted; `@reboot` is not (it is no time of day).
 * Throws croner's error for an invalid expression and a `RangeError` for an unknown time zone.
 *
 * @example
 * ```ts
 * parseCron('@daily', 'Europe/Berlin').nextRun(new Date('2026-03-28T12:00:00Z'))?.toISOString(); // '2026-03-28T23:00:00.000Z'
 * parseCron('0 0 8 * * * 2030').nextRun()?.getUTCFullYear(); // 2030
 * ```
 */
export function parseCron(expression: string, timezone = 'UTC'): Cron {
  if (!isValidTimeZone(timezone))
    throw new RangeError(`unknown IANA time zone ${JSON.stringify(timezone)}`);
  return new Cron(expression.trim(), { paused: true, timezone, mode: 'auto' });
}

/**
 * Why a cron expression cannot be scheduled, or `undefined` when it can: it parses (see
 * {@link parseCron}) and fires at least once after `now`.
 *
 * @example
 * ```ts
 * cronProblem('0 8 * * *');          // undefined
 * cronProblem('@daily');             // undefined
 * cronProblem('61 * * * *');         // 'invalid cron expression "61 * * * *": ...'
 * cronProblem('0 0 0 1 1 * 2020');   // 'cron expression "0 0 0 1 1 * 2020" never fires'
 * ```
 */
export function cronProblem(
  expression: string,
  timezone = 'UTC',
  now: Date = new Date(),
): string | undefined {
  let job: Cron | undefined;
  try {
    job = parseCron(expression, isValidTimeZone(timezone) ? timezone : 'UTC');
    if (job.nextRun(now) === null) return `cron expression "${expression}" never fires`;
    return undefined;
  } catch (error) {
    const reason =
      error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    return `invalid cron expression "${expression}": ${reason} (use ${CRON_FORMS})`;
  } finally {
    job?.stop();
  }
}
