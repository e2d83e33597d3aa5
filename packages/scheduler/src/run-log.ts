/**
 * A logger for one run: every line goes to the host's logger (with run and pipeline bound) and,
 * from `info` up, to the run's log in the store, so `GET /runs/:id/logs` shows what happened.
 *
 * @packageDocumentation
 */
import type { JsonObject, JsonValue, LogFn, Logger, NewRunLogEntry, RunLogLevel, RunStore } from '@sluice/core';

/** A {@link Logger} that also keeps a run's log; `flush()` waits until every line is stored. */
export interface RunLogger extends Logger {
  flush(): Promise<void>;
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
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = toJson(item, depth + 1);
    return out;
  }
  return String(value);
}

/**
 * Creates the logger of one run. Store writes are queued in order and never throw into the run:
 * a failing log write is reported on the host logger instead.
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
  const host = base.child({ runId, ...bindings });
  let chain: Promise<void> = Promise.resolve();
  const store = (level: RunLogLevel, obj: unknown, msg: unknown) => {
    const entry: NewRunLogEntry =
      typeof obj === 'string'
        ? { level, message: obj }
        : { level, message: typeof msg === 'string' ? msg : '', fields: toJson(obj) as JsonObject };
    entry.at = new Date().toISOString();
    chain = chain
      .then(() => runs.appendLog(runId, [entry]))
      .catch((error: unknown) => host.warn({ err: error }, 'could not store a run log line'));
  };
  const method = (name: keyof Omit<Logger, 'child'>): LogFn =>
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
    child: (more) => createRunLogger(host, runs, runId, more),
    flush: async () => {
      // A line logged while waiting extends the chain; wait until it settles.
      let seen: Promise<void>;
      do {
        seen = chain;
        await seen;
      } while (seen !== chain);
    },
  };
  return logger;
}
