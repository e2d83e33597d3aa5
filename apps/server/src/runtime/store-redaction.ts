/**
 * The one place where the server hands error text to the store: dead letters (written by the
 * router), run outcomes and run log lines (written by the scheduler). Destinations and drivers
 * echo what they were given — PostgreSQL's `database "db_<secret>" does not exist`, a URL with a
 * token — and the API redacts on the way out, but the database and its backups would keep the
 * secret. Everything the engine writes through this view is redacted first.
 *
 * @packageDocumentation
 */
import type {
  DeadLetter,
  DeadLetterStore,
  NewRunLogEntry,
  RunOutcome,
  RunStore,
  RunWriteOptions,
  SluiceStore,
} from '@sluice/core';

/** Replaces every secret value the process knows (deep inside objects too). */
export type Redact = <T>(value: T) => T;

/** `target` with some methods replaced; every other member is the target's own (bound). */
function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, key, receiver) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof T];
      const value: unknown = Reflect.get(object, key, receiver);
      return typeof value === 'function'
        ? (value as (...args: unknown[]) => unknown).bind(object)
        : value;
    },
  });
}

/**
 * A view of `store` whose writes of error text are redacted: a dead letter's `error`, a finished
 * run's `error`, and a run log line's message and fields (appended, or given with the run's
 * outcome). Records (`record`, `original`) are stored as they are: they are the data being moved,
 * and replay needs them intact. `redact` is called on every write, so it may follow configuration
 * changes.
 *
 * @example
 * ```ts
 * const stored = redactingStore(store, (value) => redact(value));
 * createScheduler({ stores: stored, ... });
 * createExecutor({ store: stored, ... });
 * ```
 */
export function redactingStore(store: SluiceStore, redact: Redact): SluiceStore {
  const redactLines = (entries: readonly NewRunLogEntry[]) =>
    entries.map((entry) => ({
      ...entry,
      message: redact(entry.message),
      ...(entry.fields === undefined ? {} : { fields: redact(entry.fields) }),
    }));
  // A run's outcome may carry its last log lines (`run failed` with the error): redacted too.
  const redactOutcome = (outcome: RunOutcome): RunOutcome => ({
    ...outcome,
    ...(outcome.error ? { error: redact(outcome.error) } : {}),
    ...(outcome.log ? { log: redactLines(outcome.log) } : {}),
  });
  const runs = overriding<RunStore>(store.runs, {
    markFinished: (id: string, outcome: RunOutcome) =>
      store.runs.markFinished(id, redactOutcome(outcome)),
    markManyFinished: (
      list: readonly { id: string; outcome: RunOutcome }[],
      options?: RunWriteOptions,
    ) =>
      store.runs.markManyFinished(
        list.map(({ id, outcome }) => ({ id, outcome: redactOutcome(outcome) })),
        options,
      ),
    appendLog: (runId: string, entries: readonly NewRunLogEntry[]) =>
      store.runs.appendLog(runId, redactLines(entries)),
  });
  const deadLetters = overriding<DeadLetterStore>(store.deadLetters, {
    write: (letters: readonly DeadLetter[]) =>
      store.deadLetters.write(
        letters.map((letter) => ({ ...letter, error: redact(letter.error) })),
      ),
  });
  return overriding<SluiceStore>(store, { runs, deadLetters });
}
