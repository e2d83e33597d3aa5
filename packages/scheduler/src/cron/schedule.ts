/**
 * Cron expressions (with optional seconds) in IANA time zones, parsed by croner, plus the
 * deterministic jitter every instance agrees on.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import {
  CRON_FORMS,
  ConfigError,
  isValidTimeZone,
  parseCron,
  type ConfigIssue,
} from '@sluice/core';
import type { Cron } from 'croner';

/** A compiled cron schedule: pure, no timers. */
export interface CronSchedule {
  /** The expression as given. */
  readonly expression: string;
  /** The IANA time zone ticks are computed in. */
  readonly timezone: string;
  /** The first tick strictly after `afterMs` (milliseconds since the epoch), or `undefined` when none is left. */
  next(afterMs: number): number | undefined;
  /** Every tick `t` with `afterMs < t <= untilMs`, oldest first, stopping after `limit` ticks. */
  between(afterMs: number, untilMs: number, limit?: number): number[];
  /** The newest `count` ticks `t` with `t <= atOrBeforeMs`, oldest first. */
  latest(atOrBeforeMs: number, count: number): number[];
}

/** Options of {@link compileCron}. */
export interface CronOptions {
  /**
   * Any form the configuration accepts (core's `parseCron`, the one parser): five fields
   * (minute…weekday), six with seconds first (`0 0 8 * * *`), seven with a year last, or a
   * nickname such as `@daily`.
   */
  expression: string;
  /** IANA time zone such as `Europe/Berlin`; default `UTC`. */
  timezone?: string | undefined;
}

/**
 * Parses a cron expression for a time zone. Fire times follow croner's DST rules: a fixed-time
 * job (`30 2 * * *`) whose time falls in a spring-forward gap runs at the first valid time after
 * the gap and runs once when the time repeats in autumn; an interval job (`0 * * * *`) skips
 * nonexistent times and fires on both occurrences of a repeated hour.
 *
 * @throws ConfigError naming `path` (e.g. `pipelines.daily.trigger.cron.expression`) when the
 * expression or time zone is invalid.
 * @example
 * ```ts
 * const cron = compileCron({ expression: '0 0 8 * * *', timezone: 'Europe/Berlin' });
 * new Date(cron.next(Date.parse('2026-03-28T12:00:00Z'))!).toISOString(); // '2026-03-29T06:00:00.000Z'
 * ```
 */
export function compileCron(
  options: CronOptions,
  path: readonly string[] = ['cron'],
): CronSchedule {
  const base = path.join('.');
  const issues: ConfigIssue[] = [];
  const timezone = options.timezone ?? 'UTC';
  if (!isValidTimeZone(timezone)) {
    issues.push({
      path: `${base}.timezone`,
      message: `unknown IANA time zone ${JSON.stringify(timezone)}`,
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  let cron: Cron;
  try {
    cron = parseCron(options.expression, timezone);
  } catch (error) {
    const reason =
      error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    throw new ConfigError(
      [{ path: `${base}.expression`, message: `${reason} (use ${CRON_FORMS})` }],
      { cause: error },
    );
  }
  const next = (afterMs: number): number | undefined => {
    // croner strips milliseconds from the reference and returns the first run strictly after it.
    const date = cron.nextRun(new Date(afterMs));
    return date ? date.getTime() : undefined;
  };
  return {
    expression: options.expression,
    timezone,
    next,
    between(afterMs, untilMs, limit = Number.POSITIVE_INFINITY) {
      const out: number[] = [];
      for (let t = next(afterMs); t !== undefined && t <= untilMs; t = next(t)) {
        out.push(t);
        if (out.length >= limit) break;
      }
      return out;
    },
    latest(atOrBeforeMs, count) {
      if (count <= 0) return [];
      // previousRuns counts from the reference's second; ask one second later and filter exactly.
      return cron
        .previousRuns(count + 1, new Date(atOrBeforeMs + 1000))
        .map((d) => d.getTime())
        .filter((t) => t <= atOrBeforeMs)
        .slice(0, count)
        .reverse();
    },
  };
}

/**
 * The delay added to one tick, the same on every instance: a hash of (pipeline, tick) scaled
 * into `[0, jitterMs)`. Spreads many pipelines on the same schedule without letting instances
 * disagree about when a run starts.
 *
 * @example
 * ```ts
 * tickJitterMs('daily', Date.parse('2026-01-01T08:00:00Z'), 30_000); // e.g. 17_412
 * ```
 */
export function tickJitterMs(pipeline: string, tickMs: number, jitterMs: number): number {
  if (!(jitterMs > 0)) return 0;
  const digest = createHash('sha256').update(`${pipeline}\u0000${tickMs}`).digest();
  return Math.floor((digest.readUInt32BE(0) / 0x1_0000_0000) * jitterMs);
}

/** Re-exported from `@sluice/core` (one definition for every package). */
export { isValidTimeZone };
