/** `sluice serve`: the server in the foreground, until SIGTERM/SIGINT; SIGHUP reloads the configuration. */
import type { Command } from 'commander';
import { startSluice, type SluiceServer } from '../runtime/sluice.js';
import { logFormat, port } from './arguments.js';
import { configOptions } from './config-source.js';
import { EXIT, fail } from './exit.js';

interface ServeOptions {
  config?: string;
  port?: number;
  host?: string;
  dataDir?: string;
  worker: boolean;
  cron: boolean;
  logFormat?: 'auto' | 'json' | 'pretty';
}

/** Stops on SIGTERM/SIGINT (finishing or re-queueing running work, at most 60 s) and reloads on SIGHUP. */
function handleSignals(sluice: SluiceServer): void {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    sluice.logger.info({ signal }, 'shutting down: finishing or re-queueing running work');
    // The deadline ends the process regardless; close() logs the last line (finished / re-queued runs).
    const deadline = setTimeout(() => process.exit(EXIT.failed), 60_000);
    deadline.unref();
    sluice.close().then(
      () => process.exit(EXIT.ok),
      (error: unknown) => {
        sluice.logger.error({ err: error }, 'shutdown failed');
        process.exit(EXIT.failed);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => {
    sluice
      .reload()
      .catch((error: unknown) =>
        sluice.logger.error({ err: error }, 'reload failed; keeping the running configuration'),
      );
  });
}

async function serve(opts: ServeOptions): Promise<void> {
  let sluice: SluiceServer;
  const source = configOptions(opts.config);
  const file = source.configPath;
  try {
    sluice = await startSluice({
      ...source,
      ...(opts.port === undefined ? {} : { port: opts.port }),
      ...(opts.host === undefined ? {} : { host: opts.host }),
      ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
      ...(opts.logFormat === undefined ? {} : { logFormat: opts.logFormat }),
      worker: opts.worker,
      cron: opts.cron,
    });
  } catch (error) {
    fail(error, false, file);
  }
  // Whatever the log level, say where the server listens (scripts and people look for it).
  process.stderr.write(`sluice serving on ${sluice.url}\n`);
  handleSignals(sluice);
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the server: REST API, webhooks, metrics, scheduler workers')
    .option(
      '-c, --config <file>',
      'configuration file (default: $SLUICE_CONFIG, the configuration itself; else $SLUICE_CONFIG_FILE; else ./sluice.yaml)',
    )
    .option('-p, --port <n>', 'port to listen on (overrides server.port; 0 = any)', port)
    .option('--host <address>', 'address to listen on (overrides server.host)')
    .option(
      '-d, --data-dir <dir>',
      'PGlite data folder when store.url is not set (overrides store.dataDir)',
    )
    .option('--no-worker', 'do not execute runs on this instance (trigger-only)')
    .option('--no-cron', 'do not fire cron schedules on this instance')
    .option(
      '--log-format <format>',
      'json, pretty or auto: pretty when stdout is a terminal (overrides logging.format)',
      logFormat,
    )
    .action(serve);
}
