/**
 * The run-record writes of the scheduler's hot path — recording a triggered run, marking a first
 * claim running, recording an outcome — grouped with {@link groupCalls}: runs triggered, claimed
 * or ended at the same moment share one statement (`createManyIfAbsent`, `markManyRunning`,
 * `markManyFinished`), a lone one goes at once.
 *
 * @packageDocumentation
 */
import type { MarkRunningOptions, NewRun, RunOutcome, RunRecord, RunStore } from '@sluice/core';
import { groupCalls } from './call-groups.js';

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
 * Groups the hot-path writes to `runs`. A group that fails is retried call by call, so each
 * caller gets its own run's error (an unknown parent run, say) and the others still land.
 *
 * @example
 * ```ts
 * const writes = groupedRunWrites(store.runs);
 * await writes.createIfAbsent(newRunOf(job.data));
 * ```
 */
export function groupedRunWrites(runs: RunStore): GroupedRunWrites {
  const create = groupCalls(async (_: string, inputs: readonly (NewRun & { id: string })[]) => {
    if (inputs.length === 1) return [(await runs.createIfAbsent(inputs[0]!)) !== undefined];
    // The ids of one group must differ: a repeat is not created by this group.
    const distinct = [...new Map(inputs.map((input) => [input.id, input])).values()];
    let created: Set<string>;
    try {
      created = new Set(await runs.createManyIfAbsent(distinct));
    } catch {
      return Promise.all(
        inputs.map(async (input) => (await runs.createIfAbsent(input)) !== undefined),
      );
    }
    return firstOfEach(inputs, (input) => created.has(input.id));
  });
  const mark = groupCalls(
    async (_: string, inputs: readonly ({ id: string } & MarkRunningOptions)[]) => {
      if (inputs.length === 1) {
        const { id, ...options } = inputs[0]!;
        return [await runs.markRunning(id, options)];
      }
      const distinct = [...new Map(inputs.map((input) => [input.id, input])).values()];
      let marked: Map<string, RunRecord | undefined>;
      try {
        const records = await runs.markManyRunning(distinct);
        marked = new Map(distinct.map((input, index) => [input.id, records[index]]));
      } catch {
        return Promise.all(inputs.map(({ id, ...options }) => runs.markRunning(id, options)));
      }
      return inputs.map((input) => marked.get(input.id));
    },
  );
  const finish = groupCalls(
    async (_: string, inputs: readonly { id: string; outcome: RunOutcome }[]) => {
      if (inputs.length === 1) return [await runs.markFinished(inputs[0]!.id, inputs[0]!.outcome)];
      const distinct = [...new Map(inputs.map((input) => [input.id, input])).values()];
      let finished: Map<string, RunRecord | undefined>;
      try {
        const records = await runs.markManyFinished(distinct);
        finished = new Map(distinct.map((input, index) => [input.id, records[index]]));
      } catch {
        return Promise.all(inputs.map(({ id, outcome }) => runs.markFinished(id, outcome)));
      }
      return inputs.map((input) => finished.get(input.id));
    },
  );
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
