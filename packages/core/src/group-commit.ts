/**
 * Group commit: items that concurrent callers hand in while the database is busy go to it
 * together, as one statement (one round trip, one commit) instead of one statement each. Each
 * caller's promise settles once the statement carrying its item has committed (or failed), so a
 * caller that answers after the promise still answers after its commit. The webhook inbox
 * appends deliveries this way, and the scheduler writes run records and pg-boss jobs
 * ({@link createKeyedGroupCommit}: one group commit per pipeline or queue).
 *
 * @packageDocumentation
 */

/** Options of {@link createGroupCommit}. */
export interface GroupCommitOptions<I, O> {
  /**
   * Statements in flight at once. While all are in flight, arrivals wait and go together in the
   * next statement; below it, an arrival waits only for the rest of the current I/O turn.
   */
  maxInFlight: number;
  /** The most items one statement carries. */
  maxItems: number;
  /** Commits `items` in one statement; resolves with one outcome per item, in the same order. */
  commit(items: readonly I[]): Promise<readonly O[]>;
}

interface Waiting<I, O> {
  item: I;
  resolve(outcome: O): void;
  reject(error: unknown): void;
}

/**
 * Creates a group commit: the returned function queues one item and resolves with its outcome.
 *
 * @example
 * ```ts
 * const insert = createGroupCommit({ maxInFlight: 2, maxItems: 500, commit: (rows) => insertAll(rows) });
 * const outcome = await insert(row); // committed, possibly together with concurrent callers' rows
 * ```
 */
export function createGroupCommit<I, O>(
  options: GroupCommitOptions<I, O>,
): (item: I) => Promise<O> {
  const { maxInFlight, maxItems } = options;
  const waiting: Waiting<I, O>[] = [];
  let inFlight = 0;
  let scheduled = false;

  const settle = (group: Waiting<I, O>[], outcomes: readonly O[]) => {
    if (outcomes.length !== group.length) {
      const error = new Error(
        `a group commit resolved ${outcomes.length} outcomes for ${group.length} items`,
      );
      for (const entry of group) entry.reject(error);
      return;
    }
    group.forEach((entry, i) => entry.resolve(outcomes[i]!));
  };

  const pump = () => {
    scheduled = false;
    while (inFlight < maxInFlight && waiting.length > 0) {
      const group = waiting.splice(0, maxItems);
      inFlight += 1;
      let committed: Promise<readonly O[]>;
      try {
        committed = options.commit(group.map((entry) => entry.item));
      } catch (error) {
        committed = Promise.reject(error);
      }
      committed
        .then(
          (outcomes) => settle(group, outcomes),
          (error: unknown) => {
            for (const entry of group) entry.reject(error);
          },
        )
        .finally(() => {
          inFlight -= 1;
          pump();
        });
    }
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      // setImmediate, not a microtask: requests parsed in the same I/O turn share a statement.
      if (!scheduled && inFlight < maxInFlight) {
        scheduled = true;
        setImmediate(pump);
      }
    });
}

/** Options of {@link createKeyedGroupCommit}. */
export interface KeyedGroupCommitOptions<K, I, O> extends Omit<GroupCommitOptions<I, O>, 'commit'> {
  /** Commits `items`, all of `key`, in one statement; one outcome per item, in the same order. */
  commit(key: K, items: readonly I[]): Promise<readonly O[]>;
}

/**
 * One {@link createGroupCommit} per key: items of one key go together, keys never share a
 * statement (a queue's jobs, a table's rows).
 *
 * @example
 * ```ts
 * const insertJob = createKeyedGroupCommit({ maxInFlight: 1, maxItems: 500, commit: (queue, jobs) => insertAll(queue, jobs) });
 * await Promise.all([insertJob('q', a), insertJob('q', b)]); // one insertAll('q', [a, b])
 * ```
 */
export function createKeyedGroupCommit<K, I, O>(
  options: KeyedGroupCommitOptions<K, I, O>,
): (key: K, item: I) => Promise<O> {
  const groups = new Map<K, (item: I) => Promise<O>>();
  return (key, item) => {
    let group = groups.get(key);
    if (group === undefined) {
      group = createGroupCommit({
        maxInFlight: options.maxInFlight,
        maxItems: options.maxItems,
        commit: (items) => options.commit(key, items),
      });
      groups.set(key, group);
    }
    return group(item);
  };
}
