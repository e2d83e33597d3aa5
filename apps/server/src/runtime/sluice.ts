import pino, { type Logger as PinoLogger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { SluiceConfig } from '@sluice/config';
import type { PluginRegistry } from '@sluice/core';
import type { Store } from '@sluice/store';
import type { Scheduler, StopReport } from '@sluice/scheduler';
import { loadApiKeys, type ApiKeyEntry } from '../http/auth.js';
import { loadServerConfig } from './config-load.js';
import type { ConfigState, RawConfig } from './config-state.js';
import type { DestinationPool } from './destination-pool.js';
import { createLiveRedactor, startEngine, type ConfigChange, type LiveRedactor } from './engine.js';
import type { ExecutorDeps } from './executor.js';
import { createServerLogger } from './logger.js';
import { createRegistry } from './plugins.js';

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

/** The logger of `options`: none, the caller's, or pino at the file's `logging` settings, redacting with the configuration in force. */
function serverLogger(
  options: SluiceOptions,
  config: SluiceConfig,
  redactor: LiveRedactor,
): PinoLogger {
  if (options.logger === false) return pino({ enabled: false });
  return (
    options.logger ??
    createServerLogger({
      level: config.logging.level,
      format: options.logFormat ?? config.logging.format,
      redact: (args) => redactor.redact(args) as unknown[],
    })
  );
}

/**
 * Loads and validates the configuration (exiting with path-precise errors on bad config is the
 * CLI's job: this throws the `ConfigError`), registers built-in and plugin kinds, opens the store
 * (PGlite in `store.dataDir` by default, PostgreSQL when `store.url` is set), migrates, seeds the
 * store from the file, starts the scheduler's workers and cron timers, and serves the REST API.
 * The parts: config-load.ts (the load the CLI shares), engine.ts (store, scheduler, configuration
 * changes) and http-server.ts (app, routes, listening).
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
  const registry = createRegistry();
  const file = await loadServerConfig({
    configPath: options.configPath,
    baseDir: options.baseDir,
    registry,
    env,
  });
  const redactor = createLiveRedactor(file.config);
  const logger = serverLogger(options, file.config, redactor);

  let keys: readonly ApiKeyEntry[] = [];
  const engine = await startEngine({
    file,
    registry,
    env,
    logger,
    redactor,
    dataDir: options.dataDir,
    worker: options.worker,
    cron: options.cron,
    onProgress: options.onProgress,
    onApplied: (config) => {
      keys = loadApiKeys(config.server.apiKeys);
    },
  });

  let app: FastifyInstance | undefined;
  let url = '';
  const server: SluiceServer = {
    get url() {
      return url;
    },
    get app() {
      return app;
    },
    store: engine.store,
    scheduler: engine.scheduler,
    registry,
    state: engine.state,
    pool: engine.pool,
    logger,
    config: engine.config,
    // The same load as at start, from the same folder, with the engine's context.
    reload: () =>
      engine.reload(() =>
        loadServerConfig({
          configPath: options.configPath,
          baseDir: file.baseDir,
          registry,
          env,
          ctx: engine.ctx,
        }),
      ),
    apply: engine.apply,
    changeConfig: engine.changeConfig,
    metricsText: engine.metricsText,
    async close() {
      await app?.close();
      const report = await engine.close();
      logger.info(
        { finished: report.finished, requeued: report.requeued, runs: report.runs },
        stoppedMessage(report),
      );
      return report;
    },
  };

  try {
    keys = loadApiKeys(engine.config().server.apiKeys);
    if (options.http ?? true) {
      // Loaded only here: the HTTP server (fastify, the routes, the dashboard) is a third of the
      // modules the process would load, and `sluice run` or an embedding without HTTP needs none.
      const { startHttpServer } = await import('./http-server.js');
      const started = await startHttpServer({
        sluice: server,
        config: engine.config().server,
        logger,
        metrics: engine.metrics,
        keys: () => keys,
        redact: redactor.redact,
        port: options.port,
        host: options.host,
      });
      app = started.app;
      url = started.url;
      logger.info(
        { url, store: file.config.store.url ? 'postgresql' : 'pglite' },
        'sluice is serving',
      );
    }
    return server;
  } catch (error) {
    await engine.abandon();
    throw error;
  }
}

export type { ConfigChange, RawConfig };
