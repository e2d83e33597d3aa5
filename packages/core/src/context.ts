/**
 * What the engine injects into every plugin. Plugins never read `process.env`, never create
 * their own logger, and never use timers directly where the clock will do: that keeps them
 * testable and lets the server redact secrets and export metrics in one place.
 *
 * @packageDocumentation
 */
import type { PluginStateStore } from './plugin-state.js';

/** A pino-compatible log function: `log(obj, msg)` or `log(msg)`. */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/**
 * The logger given to plugins; structurally a subset of pino's, so a pino child fits.
 *
 * @example
 * ```ts
 * ctx.logger.info({ rows: 120 }, 'page read');
 * ```
 */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  /** The keys this logger writes on every line (pino's `bindings()`); optional. */
  bindings?(): Record<string, unknown>;
}

/**
 * `logger.child(bindings)` without the keys `logger` binds already. pino does not replace a
 * binding: a child that binds a key again writes it twice on every line (`{"runId":…,"runId":…}`),
 * so code that adds context it may already have (the router under a run's logger) uses this.
 * A logger that cannot tell its bindings gets every key.
 *
 * @example
 * ```ts
 * const log = childLogger(runLog, { component: 'router', runId, pipeline }); // adds `component` only
 * ```
 */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  const bound = typeof logger.bindings === 'function' ? logger.bindings() : {};
  const missing = Object.fromEntries(
    Object.entries(bindings).filter(([key]) => !Object.hasOwn(bound, key)),
  );
  return Object.keys(missing).length === 0 ? logger : logger.child(missing);
}

/** Label values of one metric series. */
export type MetricLabels = Record<string, string | number>;

/** A monotonically increasing metric. */
export interface Counter {
  inc(labels?: MetricLabels, value?: number): void;
}

/** A metric that goes up and down. */
export interface Gauge {
  set(labels: MetricLabels, value: number): void;
  inc(labels?: MetricLabels, value?: number): void;
  dec(labels?: MetricLabels, value?: number): void;
}

/** A distribution of observed values. */
export interface Histogram {
  observe(labels: MetricLabels, value: number): void;
}

/** Declaration of a metric a plugin wants. Names get the server's `sluice_` prefix only if missing. */
export interface MetricOptions {
  name: string;
  help: string;
  labelNames?: readonly string[];
}

/**
 * Factory of metrics; the server backs it with prom-client, tests with {@link createMemoryMetrics}.
 * Asking twice for the same name returns the same metric.
 *
 * @example
 * ```ts
 * const pages = ctx.metrics.counter({ name: 'ga4_pages_total', help: 'Pages read', labelNames: ['property'] });
 * pages.inc({ property: '123' });
 * ```
 */
export interface Metrics {
  counter(options: MetricOptions): Counter;
  gauge(options: MetricOptions): Gauge;
  histogram(options: MetricOptions & { buckets?: readonly number[] }): Histogram;
}

/**
 * Time as the engine sees it. Tests substitute a fake clock.
 *
 * @example
 * ```ts
 * await ctx.clock.sleep(1000, ctx.signal);
 * ```
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * A change a plugin made to the structure it writes to, under its schema policy: a table
 * created, a column added, a column's type widened (the database destination's `schema`).
 *
 * @example
 * ```ts
 * const event: SchemaChangeEvent = { change: 'add_column', table: 'analytics.sessions', column: 'utm_term', to: 'text', statement: 'alter table ...' };
 * ```
 */
export interface SchemaChangeEvent {
  change: 'create_table' | 'add_column' | 'widen_column';
  /** The table changed (`name` or `schema.name`). */
  table: string;
  /** The column added or widened. */
  column?: string;
  /** Its portable type before (widen_column). */
  from?: string;
  /** Its portable type after (add_column, widen_column). */
  to?: string;
  /** The DDL that ran. */
  statement?: string;
}

/**
 * The context every plugin's `create()` receives.
 *
 * @example
 * ```ts
 * create(config, ctx) {
 *   ctx.logger.debug({ kind: 'http-json' }, 'creating connector');
 *   return { async *read() { ... } };
 * }
 * ```
 */
export interface PluginContext {
  logger: Logger;
  metrics: Metrics;
  /** Aborts when the owner (run, server) shuts down. */
  signal: AbortSignal;
  clock: Clock;
  /**
   * Durable key/value state of this plugin instance, kept across runs and restarts (the server
   * namespaces it per destination / per pipeline's connector and keeps it in its store).
   * Absent when the engine has no store (plain embedding): plugins fall back to memory.
   *
   * @example
   * ```ts
   * const seen = (await ctx.state?.get(`alert:${id}`)) !== undefined;
   * ```
   */
  state?: PluginStateStore;
  /**
   * Told of every table change the plugin made (see {@link SchemaChangeEvent}), once the change
   * is committed; the server records it in its store's schema-change log
   * (`GET /api/v1/schema-changes`). The plugin awaits it but a failure only gets logged: the
   * table has changed either way. Absent: changes are logged and counted only.
   *
   * @example
   * ```ts
   * await ctx.onSchemaChange?.({ change: 'add_column', table: 'sessions', column: 'utm', to: 'text' });
   * ```
   */
  onSchemaChange?: (event: SchemaChangeEvent) => Promise<void> | void;
}

/**
 * The real clock, backed by `Date.now()` and timers.
 *
 * @example
 * ```ts
 * const t0 = systemClock.now();
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

const noop = () => {};

/**
 * A logger that discards everything.
 *
 * @example
 * ```ts
 * const ctx = createPluginContext({ logger: createNoopLogger() });
 * ```
 */
export function createNoopLogger(): Logger {
  const logger: Logger = {
    trace: noop,
    debug: noop,
    info: noop,
    warn: noop,
    error: noop,
    fatal: noop,
    child: () => logger,
  };
  return logger;
}

/** Every observation recorded by {@link createMemoryMetrics}, keyed by metric name. */
export interface MemoryMetrics extends Metrics {
  /** Sum of counter increments / last gauge value / observations, per serialized label set. */
  readonly values: Map<string, Map<string, number | number[]>>;
  /** The value of one series; `0` / `[]` when never touched. */
  get(name: string, labels?: MetricLabels): number | number[];
}

function labelKey(labels: MetricLabels = {}): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * In-memory metrics for tests and for embedding without Prometheus.
 *
 * @example
 * ```ts
 * const metrics = createMemoryMetrics();
 * metrics.counter({ name: 'x_total', help: 'x' }).inc({ a: '1' }, 2);
 * metrics.get('x_total', { a: '1' }); // 2
 * ```
 */
export function createMemoryMetrics(): MemoryMetrics {
  const values = new Map<string, Map<string, number | number[]>>();
  const series = (name: string) => {
    let s = values.get(name);
    if (!s) values.set(name, (s = new Map()));
    return s;
  };
  const add = (name: string, labels: MetricLabels | undefined, delta: number) => {
    const s = series(name);
    const key = labelKey(labels);
    s.set(key, ((s.get(key) as number | undefined) ?? 0) + delta);
  };
  return {
    values,
    get(name, labels) {
      return values.get(name)?.get(labelKey(labels)) ?? 0;
    },
    counter: ({ name }) => ({ inc: (labels, value = 1) => add(name, labels, value) }),
    gauge: ({ name }) => ({
      set: (labels, value) => void series(name).set(labelKey(labels), value),
      inc: (labels, value = 1) => add(name, labels, value),
      dec: (labels, value = 1) => add(name, labels, -value),
    }),
    histogram: ({ name }) => ({
      observe: (labels, value) => {
        const s = series(name);
        const key = labelKey(labels);
        const list = (s.get(key) as number[] | undefined) ?? [];
        list.push(value);
        s.set(key, list);
      },
    }),
  };
}

/**
 * Builds a {@link PluginContext}, filling every part not given with a harmless default
 * (no-op logger, in-memory metrics, a never-aborting signal, the system clock). `state` is
 * passed through when given and otherwise left absent.
 *
 * @example
 * ```ts
 * const destination = await fileDestination.create(config, createPluginContext());
 * const stateful = await slackDestination.create(config, createPluginContext({ state: createMemoryPluginState() }));
 * ```
 */
export function createPluginContext(parts: Partial<PluginContext> = {}): PluginContext {
  return {
    logger: parts.logger ?? createNoopLogger(),
    metrics: parts.metrics ?? createMemoryMetrics(),
    signal: parts.signal ?? new AbortController().signal,
    clock: parts.clock ?? systemClock,
    ...(parts.state ? { state: parts.state } : {}),
    ...(parts.onSchemaChange ? { onSchemaChange: parts.onSchemaChange } : {}),
  };
}
