/**
 * What to do about ticks that passed while no scheduler was running.
 *
 * @packageDocumentation
 */
import type { CronSchedule } from './schedule.js';

/**
 * `skip`: ticks missed during downtime are not run; the schedule resumes with the next tick.
 * `catch-up`: the newest `max` missed ticks are run, oldest first, each as its own run for its
 * own tick time.
 */
export type MissedRunPolicy = { kind: 'skip' } | { kind: 'catch-up'; max: number };

/** Which ticks to fire now. */
export interface DueTicks {
  /** Tick times to enqueue, oldest first. */
  fire: number[];
  /** How many missed ticks the policy passed over (counted up to {@link MISSED_COUNT_CAP}). */
  skipped: number;
}

/** Counting skipped ticks stops here: after a long outage of a per-second cron the exact number does not matter. */
export const MISSED_COUNT_CAP = 10_000;

/**
 * Decides which ticks after `lastTickMs` are due at `nowMs`. Ticks no older than `graceMs` are
 * merely late (a busy event loop, a slow query, a restart) and always fire; older ones are
 * missed and follow `policy`. With no `lastTickMs` (a schedule seen for the first time) only the
 * ticks within the grace window fire: a new schedule never back-fills its past.
 *
 * @example
 * ```ts
 * dueTicks(cron, lastTick, Date.now(), { kind: 'catch-up', max: 3 }, 1000).fire; // up to 3 missed + the late ones
 * ```
 */
export function dueTicks(
  schedule: CronSchedule,
  lastTickMs: number | undefined,
  nowMs: number,
  policy: MissedRunPolicy,
  graceMs: number,
): DueTicks {
  const graceStart = nowMs - graceMs;
  const after = lastTickMs === undefined ? graceStart : Math.max(lastTickMs, graceStart);
  const late = schedule.between(after, nowMs);
  if (lastTickMs === undefined || lastTickMs >= graceStart) return { fire: late, skipped: 0 };
  const missedMax = policy.kind === 'catch-up' ? policy.max : 0;
  const caughtUp = schedule.latest(graceStart, missedMax).filter((t) => t > lastTickMs);
  const missedCount = schedule.between(lastTickMs, graceStart, MISSED_COUNT_CAP).length;
  return { fire: [...caughtUp, ...late], skipped: Math.max(0, missedCount - caughtUp.length) };
}
