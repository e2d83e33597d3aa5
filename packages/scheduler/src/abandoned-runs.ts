/**
 * The last line of the run lifecycle: a job pg-boss failed for good (its take-overs ran out before
 * any worker could record the run's outcome, or an operator failed it) lands in the
 * `<queue>.abandoned` queue, and this marks its run `failed` — so no run record stays `running`
 * (or `queued`) with no job left to finish it.
 *
 * @packageDocumentation
 */
import type { Logger, RunStore } from '@sluice/core';
import { RunAbandonedError } from './attempts.js';
import type { AbandonedRunJob } from './run-queue.js';
import { toRunError } from './run-worker.js';

/**
 * Why pg-boss failed a job, from the output it stored: its own message (`job heartbeat timeout`,
 * `job timed out`, `pg-boss shut down while active`) or the error a handler threw.
 *
 * @example
 * ```ts
 * queueFailureReason({ value: { message: 'job heartbeat timeout' } }); // 'job heartbeat timeout'
 * queueFailureReason(null);                                             // 'unknown'
 * ```
 */
export function queueFailureReason(output: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = output;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    const { message, value } = current as { message?: unknown; value?: unknown };
    if (typeof message === 'string' && message.length > 0) return message;
    if (typeof value === 'string' && value.length > 0) return value;
    current = value;
  }
  return typeof current === 'string' && current.length > 0 ? current : 'unknown';
}

/**
 * Marks the run of an abandoned job `failed` with a {@link RunAbandonedError}, unless the run
 * already ended (its worker recorded an outcome before pg-boss gave up on the job).
 *
 * @example
 * ```ts
 * await queue.workAbandoned((job) => failAbandonedRun(job, { runs: store.runs, logger }));
 * ```
 */
export async function failAbandonedRun(
  job: AbandonedRunJob,
  deps: { runs: RunStore; logger: Logger },
): Promise<unknown> {
  const runId = job.data.runId;
  const run = await deps.runs.get(runId);
  if (!run || (run.status !== 'queued' && run.status !== 'running'))
    return { skipped: run?.status ?? 'missing' };
  const error = toRunError(
    new RunAbandonedError(queueFailureReason(job.sourceOutput), (job.sourceRetryCount ?? 0) + 1),
  );
  deps.logger.error(
    { runId, pipeline: run.pipeline, err: error },
    'run failed: its job was abandoned by the queue',
  );
  await deps.runs.markFinished(runId, { status: 'failed', error });
  return { failed: error };
}
