import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import pino, { type Logger as PinoLogger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { configOrThrow, createConfigRedactor, validationError, type SluiceConfig } from '@sluice/config';
import { systemClock, type Logger, type PluginContext, type PluginRegistry } from '@sluice/core';
import { createStore, type Store } from '@sluice/store';
import { createScheduler, type Scheduler, type StopReport } from '@sluice/scheduler';
import type { Registry } from 'prom-client';
import { createHttpApp } from '../http/app.js';
import { loadApiKeys, type ApiKeyEntry } from '../http/auth.js';
import { registerApiRoutes } from '../routes/index.js';
import { ConfigState, type RawConfig } from './config-state.js';
import { DestinationPool } from './destination-pool.js';
import { createExecutor, type ExecutorDeps } from './executor.js';
import { composeExposition, createPromMetrics } from './metrics.js';
import { createServerLogger } from './logger.js';
import { createRegistry } from './plugins.js';
import { readConfigFile, validateServerConfig } from './validation.js';
import { schedulingOf } from './scheduling.js';
import { redactingStore } from './store-redaction.js';
import { startDeliveryPruning, type DeliveryPruning } from './delivery-pruning.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Options of {@link startSluice}. */
export interface SluiceOptions {
  /** Path of `sluice.yaml` (or `.json`). */
  configPath: string;
  /** Folder relative paths of the configuration resolve against. Default: the file's folder (the CLI passes the working directory for `$SLUICE_CONFIG`). */
  baseDir?: string;
  /** Overrides `server.port` (0 = any free port). */
  port?: number;
  /** Overrides `server.host`. */
  host?: string;
  /** Overrides `store.dataDir` (PGlite) when `store.url` is not set. */
  dataDir?: string;
  /** Environment for `${env:..}` references. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** A pino logger, or `false` for none. Default: pino to stdout at `logging.level`, in `logging.format`. */
  logger?: PinoLogger | false;
  /** Overrides `logging.format` of the default logger: `json`, `pretty`, or `auto` (pretty on a terminal). */
  logFormat?: 'auto' | 'json' | 'pretty';
  /** Claim and execute runs here (default true). */
  worker?: boolean;
  /** Fire cron schedules here (default true). */
  cron?: boolean;
  /** Skip the HTTP server (CLI commands that only need the engine). */
  http?: boolean;
  /** Progress of runs executed here, about once a second. */
  onProgress?: ExecutorDeps['onProgress'];
}

/**
 * One configuration change for {@link SluiceServer.changeConfig}.
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

/** A running Sluice: the composed engine and its HTTP server. */
export interface SluiceServer {
  /** `http://host:port` the server listens on. */
  readonly url: string;
  readonly app: FastifyInstance | undefined;
  readonly store: Store;
  readonly scheduler: Scheduler;
  readonly registry: PluginRegistry;
  readonly state: ConfigState;
  readonly pool: DestinationPool;
  readonly logger: PinoLogger;
  /** The effective configuration. */
  config(): SluiceConfig;
  /** Re-reads the file, re-seeds the store and applies the result without dropping in-flight runs. */
  reload(): Promise<{ changed: string[]; retired: string[] }>;
  /** Applies the store's current configuration (after an API change). */
  apply(): Promise<void>;
  /**
   * Makes one configuration change the way every API write does: one change at a time; the
   * configuration it would produce validated completely (`check`: the one validation pipeline,
   * including whether the scheduler can apply it) before anything is stored; then stored and
   * applied to the running scheduler. When it cannot be applied, the stored change is taken back
   * (`revert`), the previous configuration is applied again and the error is thrown: a refused
   * or failed change leaves nothing stored.
   */
  changeConfig<T>(change: ConfigChange<T>): Promise<T>;
  /** Text of every metric (server, engine, Prometheus destinations). */
  metricsText(): Promise<string>;
  /**
   * Stops accepting requests, lets running runs finish or re-queues them, closes everything, and
   * logs a last line saying how many in-flight runs finished and how many were re-queued.
   */
  close(): Promise<StopReport>;
}

/** The last line of a stopped server, e.g. "sluice stopped: 1 in-flight run finished, 1 re-queued". */
function stoppedMessage(report: StopReport): string {
  if (report.runs.length === 0) return 'sluice stopped: no run was in flight';
  const runs = (n: number) => `${n} in-flight run${n === 1 ? '' : 's'}`;
  return `sluice stopped: ${runs(report.finished)} finished, ${report.requeued} re-queued`;
}

/** Structural: pino's logger satisfies core's Logger. */
function asCoreLogger(logger: PinoLogger): Logger {
  return logger as unknown as Logger;
}

/**
 * Loads and validates the configuration (exiting with path-precise errors on bad config is the
 * CLI's job: this throws the `ConfigError`), registers built-in and plugin kinds, opens the store
 * (PGlite in `store.dataDir` by default, PostgreSQL when `store.url` is set), migrates, seeds the
 * store from the file, starts the scheduler's workers and cron timers, and serves the REST API.
 *
 * @example
 * ```ts
 * const sluice = await startSluice({ configPath: 'sluice.yaml', port: 0 });
 * console.log(sluice.url);
 * await sluice.close();
 * ```
 */
export async function startSluice(options: SluiceOptions): Promise<SluiceServer> {
  const env = options.env ?? process.env;
  const file = await readConfigFile(options.configPath);
  const baseDir = options.baseDir ?? file.baseDir;
  const registry = createRegistry();
  // The one validation pipeline, on the file's text (so every problem has its line and column).
  const validation = await validateServerConfig(file.text, { registry, env, baseDir, format: file.format });
  const fileConfig = configOrThrow(validation);
  const raw = validation.document as RawConfig;
  const redactFile = createConfigRedactor(fileConfig);

  let redact = redactFile;
  const logger: PinoLogger =
    options.logger === false
      ? pino({ enabled: false })
      : (options.logger ??
        createServerLogger({
          level: fileConfig.logging.level,
          format: options.logFormat ?? fileConfig.logging.format,
          redact: (args) => redact(args) as unknown[],
        }));

  const { registry: metricsRegistry, metrics } = createPromMetrics();
  const shutdown = new AbortController();
  let pruning: DeliveryPruning | undefined;
  const ctx: PluginContext = { logger: asCoreLogger(logger), metrics, signal: shutdown.signal, clock: systemClock };

  const store = await createStore(
    fileConfig.store.url
      ? { url: fileConfig.store.url, logger: asCoreLogger(logger.child({ component: 'store' })) }
      : { dataDir: resolve(options.dataDir ?? fileConfig.store.dataDir), logger: asCoreLogger(logger.child({ component: 'store' })) },
  );
  try {
    await store.migrate();
    const state = new ConfigState({
      store,
      registry,
      env,
      baseDir,
      file: raw,
      ctx,
    });
    const seeded = await state.seed();
    if (seeded.retired.length > 0) {
      logger.warn(
        { retired: seeded.retired },
        `the store holds configuration the file does not declare: ${seeded.retired.join(', ')} — disabled (pipelines) or removed (connections, destinations); the file is the source of truth at start (docs/configuration-guide.md, "The file and the store")`,
      );
    }
    let effective = await state.refresh();
    redact = createConfigRedactor(effective.config);

    // Plugins remember things across runs and restarts in the store, one namespace per instance.
    const pluginState = (namespace: string) => store.pluginState(namespace);
    const pool = new DestinationPool(registry, ctx, pluginState);
    // What the engine writes to the store (dead letters, run errors, run log lines) is redacted on
    // the way in: a secret a driver echoes in an error never reaches the database or its backups.
    const stored = redactingStore(store, (value) => redact(value));
    const scheduler = createScheduler({
      pipelines: schedulingOf(effective.config),
      stores: stored,
      boss: { ...store.pgBossDb(), schema: 'sluice_jobs' },
      execute: createExecutor({ state, registry, store: stored, pool, ctx, pluginState, ...(options.onProgress ? { onProgress: options.onProgress } : {}) }),
      // The scheduler binds its own `component`; run loggers get `runId`, `pipeline`, `runAttempt`.
      logger: asCoreLogger(logger),
      worker: options.worker ?? true,
      cron: options.cron ?? true,
      // An instance claims only runs of the pipelines it has, at their version or an older one;
      // a run no instance can execute fails after this (docs/scheduler/delivery-and-scaling.md).
      pipelineVersion: (name) => state.current.pipelineVersions[name] ?? null,
      unclaimedRunTimeoutSeconds: fileConfig.scheduler.unclaimedRunTimeoutSeconds,
    });
    await scheduler.start();
    // Replay protection needs a delivery id only while a copy could still be accepted (24 h kept;
    // scheme `none` pipelines never pruned): see delivery-pruning.ts.
    pruning = startDeliveryPruning({
      deliveries: store.webhookDeliveries,
      config: () => effective.config,
      logger: asCoreLogger(logger.child({ component: 'store' })),
      clock: systemClock,
    });

    let keys: readonly ApiKeyEntry[] = loadApiKeys(effective.config.server.apiKeys);
    const apply = async () => {
      effective = await state.refresh();
      redact = createConfigRedactor(effective.config);
      keys = loadApiKeys(effective.config.server.apiKeys);
      await scheduler.setPipelines(schedulingOf(effective.config));
      await pool.retain(Object.keys(effective.config.destinations));
    };

    // Configuration changes, one at a time: check, store, apply (or take back).
    let writes: Promise<unknown> = Promise.resolve();
    const changeConfig = <T>(change: ConfigChange<T>): Promise<T> => {
      const run = writes.then(async () => {
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
      });
      writes = run.catch(() => undefined);
      return run;
    };

    let app: FastifyInstance | undefined;
    let url = '';
    const server: SluiceServer = {
      get url() {
        return url;
      },
      get app() {
        return app;
      },
      store,
      scheduler,
      registry,
      state,
      pool,
      logger,
      config: () => effective.config,
      async reload() {
        const run = writes.then(async () => {
          const next = await readConfigFile(options.configPath);
          const result = await validateServerConfig(next.text, { registry, env, baseDir, format: next.format, ctx });
          if (!result.ok) throw validationError(result);
          state.setFile(result.document as RawConfig);
          const { changed, retired } = await state.seed();
          await apply();
          if (retired.length > 0) logger.warn({ retired }, `configuration reloaded; retired what the file no longer declares: ${retired.join(', ')}`);
          logger.info({ changed }, 'configuration reloaded');
          return { changed, retired };
        });
        writes = run.catch(() => undefined);
        return run;
      },
      apply,
      changeConfig,
      async metricsText() {
        // One exposition with each family once (several Prometheus destinations, dropped-series counters).
        const registries: Registry[] = [metricsRegistry, ...(await pool.registries())];
        return composeExposition(registries);
      },
      async close() {
        await app?.close();
        const report = await scheduler.stop();
        shutdown.abort(new Error('server shutting down'));
        await pool.closeAll();
        await pruning?.stop();
        await store.close();
        logger.info({ finished: report.finished, requeued: report.requeued, runs: report.runs }, stoppedMessage(report));
        return report;
      },
    };

    if (options.http ?? true) {
      const server_ = effective.config.server;
      const created = await createHttpApp({
        logger: logger.child({ component: 'http' }),
        version: VERSION,
        bodyLimitBytes: server_.bodyLimitBytes,
        authEnabled: server_.auth,
        keys: () => keys,
        rateLimitPerMinute: server_.rateLimit.perMinute,
        redact: (value) => redact(value),
      });
      app = created.app;
      await registerApiRoutes(app, created.routes, { sluice: server, metrics, version: VERSION });
      await app.ready();
      const address = await app.listen({ port: options.port ?? server_.port, host: options.host ?? server_.host });
      url = address.replace('[::1]', 'localhost');
      logger.info({ url, store: fileConfig.store.url ? 'postgresql' : 'pglite' }, 'sluice is serving');
    }
    return server;
  } catch (error) {
    await pruning?.stop();
    await store.close().catch(() => {});
    throw error;
  }
}

export type { RawConfig };
