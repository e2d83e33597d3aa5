/**
 * Groups concurrent calls that can share one statement: calls of one key made in the same turn of
 * the event loop go together, and while a group of a key is being written, later calls for that
 * key gather and go together as the next group. A lone call waits only for the end of its turn
 * (no timer); under a burst, N calls cost a few statements instead of N. This is how the
 * scheduler writes the jobs and records of runs triggered, claimed or ended at the same moment
 * (issue 20).
 *
 * @packageDocumentation
 */

/**
 * Writes one group: resolves one result per input, in the inputs' order.
 *
 * @example
 * ```ts
 * const write: GroupWriter<string, number, boolean> = async (key, inputs) => inputs.map(() => true);
 * ```
 */
export type GroupWriter<K, In, Out> = (key: K, inputs: readonly In[]) => Promise<readonly Out[]>;

/**
 * A function of `(key, input)` that sends calls of one key in groups (see the module comment). A
 * failed group rejects each of its calls with the group's error; the next group is sent anyway.
 *
 * @param maxGroup - The largest group one write gets (its statement's size); more wait for the next.
 * @example
 * ```ts
 * const insertJob = groupCalls((queue: string, jobs: Job[]) => insertAll(queue, jobs), 500);
 * await Promise.all([insertJob('q', a), insertJob('q', b)]); // one insertAll of [a] then one of [b]… or of [a, b]
 * ```
 */
export function groupCalls<K, In, Out>(
  write: GroupWriter<K, In, Out>,
  maxGroup = 500,
): (key: K, input: In) => Promise<Out> {
  interface Waiting {
    input: In;
    resolve(out: Out): void;
    reject(error: unknown): void;
  }
  const waiting = new Map<K, Waiting[]>();
  const writing = new Set<K>();

  const flush = (key: K): void => {
    const queued = waiting.get(key);
    if (!queued || queued.length === 0) {
      waiting.delete(key);
      writing.delete(key);
      return;
    }
    const group = queued.splice(0, maxGroup);
    writing.add(key);
    write(
      key,
      group.map((call) => call.input),
    )
      .then(
        (outs) => {
          group.forEach((call, index) => {
            if (index < outs.length) call.resolve(outs[index]!);
            else
              call.reject(
                new Error(`a grouped write returned ${outs.length} of ${group.length} results`),
              );
          });
        },
        (error: unknown) => {
          for (const call of group) call.reject(error);
        },
      )
      .finally(() => flush(key));
  };

  return (key, input) =>
    new Promise<Out>((resolve, reject) => {
      let queued = waiting.get(key);
      if (!queued) waiting.set(key, (queued = []));
      queued.push({ input, resolve, reject });
      if (writing.has(key)) return;
      // setImmediate, not at once: calls made in the same turn (runs ending together) share it.
      writing.add(key);
      setImmediate(() => flush(key));
    });
}
