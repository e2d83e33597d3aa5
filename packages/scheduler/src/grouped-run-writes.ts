/**
 * The run-record writes of the scheduler's hot path — recording a triggered run, marking a first
 * claim running, recording an outcome — grouped with {@link createKeyedGroupCommit}: runs triggered, claimed
 * or ended at the same moment share one statement (`createManyIfAbsent`, `markManyRunning`,
 * `markManyFinished`), a lone one goes at once.
 *
 * @packageDocumentation
 */
import {
  createKeyedGroupCommit,
  type MarkRunningOptions,
  type NewRun,
  type RunOutcome,
  type RunRecord,
  type RunStore,
  type RunWriteOptions,
} from '@sluice/core';

/** Grouped forms of {@link RunStore.createIfAbsent}, {@link RunStore.markRunning} and {@link RunStore.markFinished}. */
export interface GroupedRunWrites {
  /** Records a queued run unless its id is taken; true when this call created it. */
  createIfAbsent(run: NewRun & { id: string }): Promise<boolean>;
  /** Like {@link RunStore.markRunning}. */
  markRunning(id: string, options: MarkRunningOptions): Promise<RunRecord | undefined>;
  /** Like {@link RunStore.markFinished}. */
  markFinished(id: string, outcome: RunOutcome): Promise<RunRecord | undefined>;
}

/**
 * These writes commit without waiting for the WAL flush ({@link RunWriteOptions}): each sits
 * next to a synchronous statement of its run's job, which makes it durable — the record of a
 * triggered run follows its job's insert (a record lost in a crash is re-created from the job by
 * the worker that claims it), a `running` mark follows the job's claim (lost, the re-claim after
 * the take-over marks it again), and an outcome precedes the job's completion (the WAL is flushed
 * in order, so the completion's flush carries it; lost together, the job is taken over and the
 * run executed again, as after any crash before its outcome). A run's path from trigger to
 * outcome then waits for three WAL flushes on PostgreSQL (its job's insert, claim and completion)
 * instead of six.
 */
const ASYNC: RunWriteOptions = { waitForFlush: false };

/**
 * Groups the hot-path writes to `runs`. A group that fails is retried call by call (with the
 * single-run methods, which wait for the flush), so each caller gets its own run's error (an
 * unknown parent run, say) and the others still land.
 *
 * @example
 * ```ts
 * const writes = groupedRunWrites(store.runs);
 * await writes.createIfAbsent(newRunOf(job.data));
 * ```
 */
export function groupedRunWrites(runs: RunStore): GroupedRunWrites {
  const create = createKeyedGroupCommit({
    maxInFlight: 1,
    maxItems: 500,
    commit: async (_: string, inputs: readonly (NewRun & { id: string })[]) => {
      // The ids of one group must differ: a repeat is not created by this group.
      const distinct = [...new Map(inputs.map((input) => [input.id, input])).values()];
      let created: Set<string>;
      try {
        created = new Set(await runs.createManyIfAbsent(distinct, ASYNC));
      } catch {
        return Promise.all(
          inputs.map(async (input) => (await runs.createIfAbsent(input)) !== undefined),
        );
      }
      return firstOfEach(inputs, (input) => created.has(input.id));
    },
  });
  const mark = createKeyedGroupCommit({
    maxInFlight: 1,
    maxItems: 500,
    commit: async (_: string, inputs: readonly ({ id: string } & MarkRunningOptions)[]) => {
      const distinct = [...new Map(inputs.map((input) => [input.id, input])).values()];
      let marked: Map<string, RunRecord | undefined>;
      try {
        const records = await runs.markManyRunning(distinct, ASYNC);
        marked = new Map(distinct.map((input, index) => [input.id, records[index]]));
      } catch {
        return Promise.all(inputs.map(({ id, ...options }) => runs.markRunning(id, options)));
      }
      return inputs.map((input) => marked.get(input.id));
    },
  });
  const finish = createKeyedGroupCommit({
    maxInFlight: 1,
    maxItems: 500,
    commit: async (_: string, inputs: readonly { id: string; outcome: RunOutcome }[]) => {
      const distinct = [...new Map(inputs.map((input) => [input.id, input])).values()];
      let finished: Map<string, RunRecord | undefined>;
      try {
        const records = await runs.markManyFinished(distinct, ASYNC);
        finished = new Map(distinct.map((input, index) => [input.id, records[index]]));
      } catch {
        return Promise.all(inputs.map(({ id, outcome }) => runs.markFinished(id, outcome)));
      }
      return inputs.map((input) => finished.get(input.id));
    },
  });
  return {
    createIfAbsent: (run) => create('', run),
    markRunning: (id, options) => mark('', { id, ...options }),
    markFinished: (id, outcome) => finish('', { id, outcome }),
  };
}

/** `answer` for the first input of each id, false for its repeats. */
function firstOfEach<T extends { id: string }>(
  inputs: readonly T[],
  answer: (input: T) => boolean,
): boolean[] {
  const seen = new Set<string>();
  return inputs.map((input) => {
    const first = !seen.has(input.id);
    seen.add(input.id);
    return first && answer(input);
  });
}
