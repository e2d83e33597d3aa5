/**
 * Fires the cron ticks of every pipeline on this instance. Every instance runs it; each tick is
 * enqueued under a deterministic run id, so however many instances fire a tick, one run results.
 * The last fired tick per schedule is kept in the store to catch up (or skip) after downtime.
 *
 * @packageDocumentation
 */
import type { Logger, ScheduleStateStore } from '@sluice/core';
import type { PipelineScheduling, ResolvedCronTrigger } from '../config.js';
import { dueTicks } from './missed.js';

/** Fires one tick: enqueues its run. Must be idempotent per (pipeline, tick). */
export type FireTick = (
  pipeline: PipelineScheduling,
  trigger: ResolvedCronTrigger,
  tickMs: number,
) => Promise<void>;

/** Options of {@link CronRunner}. */
export interface CronRunnerOptions {
  scheduleState: ScheduleStateStore;
  fire: FireTick;
  logger: Logger;
  /** At start-up, ticks older than this are "missed" and follow the missed-run policy. Default 2000 ms. */
  startupGraceMs?: number;
  /** While running, a tick that could not be fired (database unavailable) is retried for this long before the missed-run policy applies. Default 5 minutes. */
  lateToleranceMs?: number;
  /** Wait between retries of a tick that failed to fire. Default 1000 ms. */
  retryDelayMs?: number;
  now?: () => number;
}

// setTimeout overflows above 2^31-1 ms; long waits are re-planned in steps.
const MAX_TIMER_MS = 60 * 60 * 1000;

interface Loop {
  pipeline: PipelineScheduling;
  trigger: ResolvedCronTrigger;
  cursor: number | undefined;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
  running: Promise<void>;
}

/**
 * Timers for every cron trigger of the given pipelines.
 *
 * @example
 * ```ts
 * const runner = new CronRunner({ scheduleState: store.scheduleState, fire, logger });
 * await runner.start(pipelines);
 * // …
 * await runner.stop();
 * ```
 */
export class CronRunner {
  readonly #options: Required<Omit<CronRunnerOptions, 'scheduleState' | 'fire' | 'logger'>> &
    CronRunnerOptions;
  #loops: Loop[] = [];

  constructor(options: CronRunnerOptions) {
    this.#options = {
      startupGraceMs: 2000,
      lateToleranceMs: 5 * 60 * 1000,
      retryDelayMs: 1000,
      now: () => Date.now(),
      ...options,
    };
  }

  /** Starts one loop per cron trigger; resolves once each has handled its start-up catch-up. */
  async start(pipelines: readonly PipelineScheduling[]): Promise<void> {
    await this.stop();
    const loops: Loop[] = [];
    for (const pipeline of pipelines) {
      for (const trigger of pipeline.cron) {
        loops.push({
          pipeline,
          trigger,
          cursor: undefined,
          timer: undefined,
          stopped: false,
          running: Promise.resolve(),
        });
      }
    }
    this.#loops = loops;
    await Promise.all(loops.map((loop) => this.#startLoop(loop)));
  }

  /** Stops every timer and waits for ticks being fired. */
  async stop(): Promise<void> {
    const loops = this.#loops;
    this.#loops = [];
    for (const loop of loops) {
      loop.stopped = true;
      if (loop.timer) clearTimeout(loop.timer);
    }
    await Promise.all(loops.map((loop) => loop.running));
  }

  async #startLoop(loop: Loop): Promise<void> {
    const { scheduleState, logger, now, startupGraceMs } = this.#options;
    let last: string | undefined;
    try {
      last = await scheduleState.getLastTick(loop.pipeline.name, loop.trigger.name);
    } catch (error) {
      logger.warn(
        { err: error, pipeline: loop.pipeline.name },
        'could not read the last cron tick; missed ticks are not caught up',
      );
    }
    const lastMs = last === undefined ? undefined : Date.parse(last);
    const due = dueTicks(loop.trigger.schedule, lastMs, now(), loop.trigger.missed, startupGraceMs);
    if (due.skipped > 0) {
      logger.info(
        {
          pipeline: loop.pipeline.name,
          schedule: loop.trigger.name,
          skipped: due.skipped,
          policy: loop.trigger.missed.kind,
        },
        'cron ticks missed while no scheduler ran were skipped',
      );
    }
    // Ticks after the stored one but before the window count as handled once the policy ran.
    loop.cursor = Math.max(lastMs ?? Number.NEGATIVE_INFINITY, now() - startupGraceMs);
    loop.running = this.#fireAll(loop, due.fire).then(() => this.#plan(loop));
    await loop.running;
  }

  async #fireAll(loop: Loop, ticks: readonly number[]): Promise<void> {
    const { fire, scheduleState, logger, now, lateToleranceMs, retryDelayMs } = this.#options;
    for (const tick of ticks) {
      for (;;) {
        if (loop.stopped) return;
        try {
          await fire(loop.pipeline, loop.trigger, tick);
          break;
        } catch (error) {
          if (now() - tick > lateToleranceMs) {
            logger.error(
              { err: error, pipeline: loop.pipeline.name, tick: new Date(tick).toISOString() },
              'cron tick could not be fired in time; giving up on it',
            );
            break;
          }
          logger.warn(
            { err: error, pipeline: loop.pipeline.name, tick: new Date(tick).toISOString() },
            'cron tick could not be fired; retrying',
          );
          await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
        }
      }
      loop.cursor = Math.max(loop.cursor ?? tick, tick);
      try {
        await scheduleState.setLastTick(
          loop.pipeline.name,
          loop.trigger.name,
          new Date(tick).toISOString(),
        );
      } catch (error) {
        // The run is enqueued; only the catch-up bookmark is behind, and the next tick moves it.
        logger.warn(
          { err: error, pipeline: loop.pipeline.name },
          'could not record the last cron tick',
        );
      }
    }
  }

  #plan(loop: Loop): void {
    if (loop.stopped) return;
    const { now } = this.#options;
    const cursor = loop.cursor ?? now();
    const next = loop.trigger.schedule.next(cursor);
    if (next === undefined) return;
    const delay = Math.min(Math.max(0, next - now()), MAX_TIMER_MS);
    loop.timer = setTimeout(() => {
      loop.timer = undefined;
      loop.running = this.#onTimer(loop);
    }, delay);
  }

  async #onTimer(loop: Loop): Promise<void> {
    if (loop.stopped) return;
    const { now, lateToleranceMs } = this.#options;
    const due = dueTicks(
      loop.trigger.schedule,
      loop.cursor,
      now(),
      loop.trigger.missed,
      lateToleranceMs,
    );
    await this.#fireAll(loop, due.fire);
    this.#plan(loop);
  }
}
