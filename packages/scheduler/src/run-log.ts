/**
 * A logger for one run: every line goes to the host's logger (with run and pipeline bound) and,
 * from `info` up, to the run's log in the store, so `GET /runs/:id/logs` shows what happened.
 *
 * @packageDocumentation
 */
import {
  childLogger,
  type JsonObject,
  type JsonValue,
  type LogFn,
  type Logger,
  type NewRunLogEntry,
  type RunLogLevel,
  type RunStore,
} from '@sluice/core';

/** A {@link Logger} that also keeps a run's log; `flush()` waits until every line is stored. */
export interface RunLogger extends Logger {
  /** A child that keeps the same run log (its lines share the parent's queue). */
  child(bindings: Record<string, unknown>): RunLogger;
  flush(): Promise<void>;
  /**
   * Logs one line on the host logger at once, like `info`/`warn`/`error`, and returns the run-log
   * entry instead of storing it: the caller stores it with another write (the scheduler passes a
   * run's last line to `markFinished` as `log`, one statement for both). Call `flush()` first so
   * it lands after the lines logged before.
   */
  deferLine(level: 'info' | 'warn' | 'error', obj: object | string, msg?: string): NewRunLogEntry;
}

const STORED: Readonly<Record<string, RunLogLevel | undefined>> = {
  info: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'error',
};

function toJson(value: unknown, depth = 0): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (depth > 4) return '[…]';
  if (Array.isArray(value)) return value.slice(0, 100).map((item) => toJson(item, depth + 1));
  if (typeof value === 'object') {
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(value))
      if (item !== undefined) out[key] = toJson(item, depth + 1);
    return out;
  }
  return String(value);
}

/**
 * Creates the logger of one run. Store writes are queued in order and never throw into the run:
 * a failing log write is reported on the host logger instead. Children (the router's, the
 * plugins') store their lines in the same queue, so `flush()` waits for theirs too, and never
 * bind a key twice (see `childLogger` of `@sluice/core`).
 *
 * @example
 * ```ts
 * const log = createRunLogger(logger, store.runs, run.id, { pipeline: run.pipeline });
 * log.info({ page: 3 }, 'page read');
 * await log.flush();
 * ```
 */
export function createRunLogger(
  base: Logger,
  runs: Pick<RunStore, 'appendLog'>,
  runId: string,
  bindings: Record<string, unknown> = {},
): RunLogger {
  const sink = { chain: Promise.resolve() as Promise<void> };
  const own = { runId, ...bindings };
  return runLogger(childLogger(base, own), { ...base.bindings?.(), ...own }, runs, runId, sink);
}

/** The stored form of one line. */
function entryOf(level: RunLogLevel, obj: unknown, msg: unknown): NewRunLogEntry {
  const entry: NewRunLogEntry =
    typeof obj === 'string'
      ? { level, message: obj }
      : { level, message: typeof msg === 'string' ? msg : '', fields: toJson(obj) as JsonObject };
  entry.at = new Date().toISOString();
  return entry;
}

function runLogger(
  host: Logger,
  bound: Record<string, unknown>,
  runs: Pick<RunStore, 'appendLog'>,
  runId: string,
  sink: { chain: Promise<void> },
): RunLogger {
  const store = (level: RunLogLevel, obj: unknown, msg: unknown) => {
    const entry = entryOf(level, obj, msg);
    sink.chain = sink.chain
      .then(() => runs.appendLog(runId, [entry]))
      .catch((error: unknown) => host.warn({ err: error }, 'could not store a run log line'));
  };
  const method = (name: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'): LogFn =>
    ((obj: object | string, msg?: string) => {
      if (typeof obj === 'string') host[name](obj);
      else host[name](obj, msg);
      const level = STORED[name];
      if (level) store(level, obj, msg);
    }) as LogFn;
  const logger: RunLogger = {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    child: (more) => {
      const missing = Object.fromEntries(
        Object.entries(more).filter(([key]) => !Object.hasOwn(bound, key)),
      );
      return Object.keys(missing).length === 0
        ? logger
        : runLogger(host.child(missing), { ...bound, ...missing }, runs, runId, sink);
    },
    bindings: () => ({ ...bound }),
    deferLine: (level, obj, msg) => {
      if (typeof obj === 'string') host[level](obj);
      else host[level](obj, msg);
      return entryOf(level, obj, msg);
    },
    flush: async () => {
      // A line logged while waiting extends the chain; wait until it settles.
      let seen: Promise<void>;
      do {
        seen = sink.chain;
        await seen;
      } while (seen !== sink.chain);
    },
  };
  return logger;
}
