/**
 * The engine of a running Sluice, without HTTP: the store (opened, migrated, seeded from the
 * file), the effective configuration, the destination pool, the scheduler's workers and cron
 * timers, webhook delivery pruning, and the one queue every configuration change goes through.
 * `startSluice` composes it with the HTTP server; CLI commands that only need the engine
 * (`run`, `dead-letters`) get it through `startSluice({ http: false })`.
 *
 * @packageDocumentation
 */
import { resolve } from 'node:path';
import type { Logger as PinoLogger } from 'pino';
import { createConfigRedactor, type SluiceConfig } from '@sluice/config';
import {
  systemClock,
  type Logger,
  type Metrics,
  type PluginContext,
  type PluginRegistry,
} from '@sluice/core';
import { DEFAULT_JOBS_SCHEMA, createStore, type Store } from '@sluice/store';
import { createScheduler, type Scheduler, type StopReport } from '@sluice/scheduler';
import type { Registry } from 'prom-client';
import type { LoadedConfig } from './config-load.js';
import { ConfigState } from './config-state.js';
import { DestinationPool } from './destination-pool.js';
import { createExecutor, type ExecutorDeps } from './executor.js';
import { composeExposition, createPromMetrics } from './metrics.js';
import { schedulingOf } from './scheduling.js';
import { redactingStore } from './store-redaction.js';
import { startDeliveryPruning, type DeliveryPruning } from './delivery-pruning.js';

/** Structural: pino's logger satisfies core's Logger. */
export function asCoreLogger(logger: PinoLogger): Logger {
  return logger as unknown as Logger;
}

/**
 * The redaction of the configuration in force: the logger and the store redact with it, and the
 * engine moves it to each configuration it applies (a secret added through the API is redacted
 * from the moment it is in use).
 */
export interface LiveRedactor {
  redact<T>(value: T): T;
  update(config: SluiceConfig): void;
}

/** A {@link LiveRedactor} starting at `config` (the file's, until the store's is known). */
export function createLiveRedactor(config: SluiceConfig): LiveRedactor {
  let redact = createConfigRedactor(config);
  return {
    redact: <T>(value: T) => redact(value),
    update: (next) => {
      redact = createConfigRedactor(next);
    },
  };
}

/**
 * One configuration change for `SluiceServer.changeConfig`.
 *
 * @example
 * ```ts
 * await sluice.changeConfig({
 *   check: () => sluice.state.check('pipelines', 'daily', next),
 *   store: async () => {
 *     const saved = await sluice.store.pipelines.save('daily', next);
 *     return { result: saved, changed: saved.changed, revert: async () => void (await sluice.store.pipelines.discardVersion('daily', saved.version)) };
 *   },
 * });
 * ```
 */
export interface ConfigChange<T> {
  /** Validates the configuration the change would produce; throws a `ConfigError` (nothing is stored). */
  check(): Promise<void>;
  /** Stores the change; `revert` takes it back exactly. */
  store(): Promise<{ result: T; changed: boolean; revert(): Promise<void> }>;
}

/** Options of {@link startEngine}. */
export interface EngineOptions {
  /** The validated file. */
  file: LoadedConfig;
  registry: PluginRegistry;
  env: Readonly<Record<string, string | undefined>>;
  logger: PinoLogger;
  redactor: LiveRedactor;
  /** Overrides `store.dataDir` (PGlite) when `store.url` is not set. */
  dataDir?: string | undefined;
  /** Claim and execute runs here (default true). */
  worker?: boolean | undefined;
  /** Fire cron schedules here (default true). */
  cron?: boolean | undefined;
  onProgress?: ExecutorDeps['onProgress'] | undefined;
  /** Called with every configuration applied after the start (the HTTP server's API keys follow it). */
  onApplied?: (config: SluiceConfig) => void;
}

/** A started engine. */
export interface Engine {
  readonly store: Store;
  readonly scheduler: Scheduler;
  readonly state: ConfigState;
  readonly pool: DestinationPool;
  /** The context plugins get; its signal aborts at {@link Engine.close}. */
  readonly ctx: PluginContext;
  readonly metrics: Metrics;
  /** The effective configuration. */
  config(): SluiceConfig;
  /** Applies the store's current configuration. */
  apply(): Promise<void>;
  /** See `SluiceServer.changeConfig`. */
  changeConfig<T>(change: ConfigChange<T>): Promise<T>;
  /** Takes `read()` as the new file (in the change queue), re-seeds the store and applies the result. */
  reload(read: () => Promise<LoadedConfig>): Promise<{ changed: string[]; retired: string[] }>;
  /** Text of every metric (server, engine, Prometheus destinations). */
  metricsText(): Promise<string>;
  /** Stops the scheduler (running runs finish or are re-queued), then closes the pool, pruning and store. */
  close(): Promise<StopReport>;
  /** After a start that failed later (the HTTP server did not listen): stops pruning and closes the store. */
  abandon(): Promise<void>;
}

/** Opens the store for the file's `store` section: PostgreSQL when `store.url` is set, else PGlite in a folder. */
function openStore(
  config: SluiceConfig,
  dataDir: string | undefined,
  logger: PinoLogger,
): Promise<Store> {
  const storeLogger = asCoreLogger(logger.child({ component: 'store' }));
  return createStore(
    config.store.url
      ? { url: config.store.url, logger: storeLogger }
      : {
          dataDir: resolve(dataDir ?? config.store.dataDir),
          wasmCompiler: config.store.wasmCompiler,
          logger: storeLogger,
        },
  );
}

/** Migrates the store and makes the file its configuration (warning about what the file no longer declares). */
async function seedStore(
  store: Store,
  options: EngineOptions,
  ctx: PluginContext,
): Promise<ConfigState> {
  await store.migrate();
  const state = new ConfigState({
    store,
    registry: options.registry,
    env: options.env,
    baseDir: options.file.baseDir,
    file: options.file.document,
    ctx,
  });
  const seeded = await state.seed();
  if (seeded.retired.length > 0) {
    options.logger.warn(
      { retired: seeded.retired },
      `the store holds configuration the file does not declare: ${seeded.retired.join(', ')} — disabled (pipelines) or removed (connections, destinations); the file is the source of truth at start (docs/configuration-guide.md, "The file and the store")`,
    );
  }
  return state;
}

/** The parts of a started engine the scheduler executes runs with. */
interface SchedulerParts {
  store: Store;
  state: ConfigState;
  pool: DestinationPool;
  ctx: PluginContext;
  pluginState: ExecutorDeps['pluginState'];
  pipelines: ReturnType<typeof schedulingOf>;
}

/** Creates and starts the scheduler: its workers execute runs with the executor, its cron timers fire schedules. */
async function startScheduler(
  options: EngineOptions,
  { store, state, pool, ctx, pluginState, pipelines }: SchedulerParts,
): Promise<Scheduler> {
  const { registry, redactor, logger } = options;
  // What the engine writes to the store (dead letters, run errors, run log lines) is redacted on
  // the way in: a secret a driver echoes in an error never reaches the database or its backups.
  const stored = redactingStore(store, (value) => redactor.redact(value));
  const refused = ctx.metrics.counter({
    name: 'trigger_refused_total',
    help: "Triggers refused instead of queued, by pipeline, trigger (webhook, api, cli) and reason (backlog-full: the pipeline's queued runs reached maxQueuedRuns; inbox-full: its webhook inbox reached webhook.inbox.maxDepth)",
    labelNames: ['pipeline', 'trigger', 'reason'],
  });
  const scheduler = createScheduler({
    pipelines,
    stores: stored,
    // The jobs schema the store's PGlite image was made with (a new folder starts with it).
    boss: { ...store.pgBossDb(), schema: DEFAULT_JOBS_SCHEMA },
    execute: createExecutor({
      state,
      registry,
      store: stored,
      pool,
      ctx,
      pluginState,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    }),
    // The scheduler binds its own `component`; run loggers get `runId`, `pipeline`, `runAttempt`.
    logger: asCoreLogger(logger),
    worker: options.worker ?? true,
    cron: options.cron ?? true,
    // An instance claims only runs of the pipelines it has, at their version or an older one;
    // a run no instance can execute fails after this (docs/scheduler/delivery-and-scaling.md).
    pipelineVersion: (name) => state.current.pipelineVersions[name] ?? null,
    unclaimedRunTimeoutSeconds: options.file.config.scheduler.unclaimedRunTimeoutSeconds,
    // Back-pressure (docs/scheduler/triggers.md): past a pipeline's bound its webhook and API
    // triggers answer 429; each refusal is counted here.
    maxQueuedRuns: options.file.config.scheduler.maxQueuedRuns,
    onTriggerRefused: ({ pipeline, trigger, reason }) => refused.inc({ pipeline, trigger, reason }),
  });
  await scheduler.start();
  return scheduler;
}

/**
 * Configuration changes (API writes and reloads) one at a time: each starts when the one before
 * has ended, whether that one succeeded or failed.
 */
function createWriteQueue(): <T>(work: () => Promise<T>) => Promise<T> {
  let writes: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>) => {
    const run = writes.then(work);
    writes = run.catch(() => undefined);
    return run;
  };
}

/** Check, store, apply — or, when the running engine cannot apply it, take the stored change back and re-apply. */
async function makeChange<T>(
  change: ConfigChange<T>,
  apply: () => Promise<void>,
  logger: PinoLogger,
): Promise<T> {
  await change.check();
  const { result, changed, revert } = await change.store();
  if (!changed) return result;
  try {
    await apply();
  } catch (error) {
    logger.error({ err: error }, 'a configuration change could not be applied: taking it back');
    await revert();
    await apply();
    throw error;
  }
  return result;
}

/** Makes the file `read()` returns the store's configuration again (as at start) and applies it. */
async function reloadFile(
  state: ConfigState,
  read: () => Promise<LoadedConfig>,
  apply: () => Promise<void>,
  logger: PinoLogger,
): Promise<{ changed: string[]; retired: string[] }> {
  const next = await read();
  state.setFile(next.document);
  const { changed, retired } = await state.seed();
  await apply();
  if (retired.length > 0)
    logger.warn(
      { retired },
      `configuration reloaded; retired what the file no longer declares: ${retired.join(', ')}`,
    );
  logger.info({ changed }, 'configuration reloaded');
  return { changed, retired };
}

/**
 * Opens and migrates the store, seeds it from the file, starts the scheduler's workers and cron
 * timers and the pruning of webhook deliveries. A failure closes what was opened and is thrown.
 *
 * @example
 * ```ts
 * const engine = await startEngine({ file, registry, env: process.env, logger, redactor: createLiveRedactor(file.config) });
 * await engine.close();
 * ```
 */
export async function startEngine(options: EngineOptions): Promise<Engine> {
  const { logger, registry, redactor } = options;
  const fileConfig = options.file.config;
  const { registry: metricsRegistry, metrics } = createPromMetrics();
  const shutdown = new AbortController();
  let pruning: DeliveryPruning | undefined;
  const ctx: PluginContext = {
    logger: asCoreLogger(logger),
    metrics,
    signal: shutdown.signal,
    clock: systemClock,
  };

  const store = await openStore(fileConfig, options.dataDir, logger);
  const abandon = async () => {
    await pruning?.stop();
    await store.close().catch(() => {});
  };
  try {
    const state = await seedStore(store, options, ctx);
    let effective = await state.refresh();
    redactor.update(effective.config);

    // Plugins remember things across runs and restarts in the store, one namespace per instance.
    const pluginState = (namespace: string) => store.pluginState(namespace);
    // Table changes destinations make under their schema policy go to the schema-change log.
    const pool = new DestinationPool(
      registry,
      ctx,
      pluginState,
      async (destination, kind, event) => {
        await store.schemaChanges.record({ destination, kind, ...event });
      },
    );
    const scheduler = await startScheduler(options, {
      store,
      state,
      pool,
      ctx,
      pluginState,
      pipelines: schedulingOf(effective.config),
    });
    // Replay protection needs a delivery id only while a copy could still be accepted (24 h kept;
    // scheme `none` pipelines never pruned): see delivery-pruning.ts.
    pruning = startDeliveryPruning({
      deliveries: store.webhookDeliveries,
      config: () => effective.config,
      logger: asCoreLogger(logger.child({ component: 'store' })),
      clock: systemClock,
    });

    const apply = async () => {
      effective = await state.refresh();
      redactor.update(effective.config);
      options.onApplied?.(effective.config);
      await scheduler.setPipelines(schedulingOf(effective.config));
      await pool.retain(Object.keys(effective.config.destinations));
    };

    const queued = createWriteQueue();

    return {
      store,
      scheduler,
      state,
      pool,
      ctx,
      metrics,
      config: () => effective.config,
      apply,
      changeConfig: (change) => queued(() => makeChange(change, apply, logger)),
      reload: (read) => queued(() => reloadFile(state, read, apply, logger)),
      async metricsText() {
        // One exposition with each family once (several Prometheus destinations, dropped-series counters).
        const registries: Registry[] = [metricsRegistry, ...(await pool.registries())];
        return composeExposition(registries);
      },
      async close() {
        const report = await scheduler.stop();
        shutdown.abort(new Error('server shutting down'));
        await pool.closeAll();
        await pruning?.stop();
        await store.close();
        return report;
      },
      abandon,
    };
  } catch (error) {
    await abandon();
    throw error;
  }
}
