import type { SluiceConfig } from '@sluice/config';
import type { PipelineSchedulingInput } from '@sluice/scheduler';

/**
 * Translates the validated configuration into the scheduler's per-pipeline options. Disabled
 * pipelines are left out (nothing triggers them); a disabled schedule keeps the pipeline's
 * webhook and API triggers.
 *
 * @example
 * ```ts
 * await scheduler.setPipelines(schedulingOf(config));
 * ```
 */
export function schedulingOf(config: SluiceConfig): PipelineSchedulingInput[] {
  const out: PipelineSchedulingInput[] = [];
  for (const [name, pipeline] of Object.entries(config.pipelines)) {
    if (!pipeline.enabled) continue;
    const schedule = pipeline.schedule;
    const webhook = pipeline.webhook;
    out.push({
      name,
      ...(schedule && schedule.enabled
        ? {
            cron: {
              expression: schedule.cron,
              timezone: schedule.timezone,
              jitterMs: schedule.jitterMs,
              ...(schedule.missed === 'skip'
                ? { missed: 'skip' as const }
                : { missed: 'catch-up' as const, catchUpMax: schedule.missed.catchUp }),
            },
          }
        : {}),
      ...(webhook
        ? {
            webhook: {
              scheme: webhook.verify,
              ...(webhook.secret === undefined ? {} : { secret: webhook.secret }),
              toleranceSeconds: webhook.toleranceSeconds,
              maxBodyBytes: webhook.maxBytes,
              payload: webhook.payload,
              ...(webhook.delivery === undefined ? {} : { delivery: webhook.delivery }),
              ...(webhook.inbox === undefined ? {} : { inbox: webhook.inbox }),
            },
          }
        : {}),
      allowOverlap: pipeline.concurrency.allowOverlap,
      ...(pipeline.timeoutMs === undefined ? {} : { timeoutMs: pipeline.timeoutMs }),
      // The config's and the scheduler's `retry` are core's one backoff policy, with the same
      // defaults: without `retry` a run that fails (throws) is not retried. A run whose worker
      // died is still taken over by another worker: the scheduler counts take-overs apart, up to
      // its `maxTakeovers`, whatever this policy says.
      ...(pipeline.retry ? { retry: pipeline.retry } : {}),
      ...(pipeline.maxQueuedRuns === undefined ? {} : { maxQueuedRuns: pipeline.maxQueuedRuns }),
    });
  }
  return out;
}
