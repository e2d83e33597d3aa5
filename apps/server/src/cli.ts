#!/usr/bin/env node
/**
 * The `sluice` command line. Exit codes: 0 success; 1 runtime failure (a run failed, a service
 * is unreachable); 2 invalid configuration or usage; 3 a run was cancelled.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { configOrThrow, toJsonSchema, validationError, type SluiceConfig } from '@sluice/config';
import { ConfigError, createPluginContext, isCatalogCode, type DeadLetterStatus, type JsonObject, type JsonValue, type RunRecord } from '@sluice/core';
import { createStore } from '@sluice/store';
import { dryRun } from '@sluice/router';
import { pipelineSourceOptions } from '@sluice/config';
import type { RouterSummary } from '@sluice/router';
import { compilePipelineTable } from './runtime/executor.js';
import { createRegistry } from './runtime/plugins.js';
import { readConfigFile, validateServerConfig } from './runtime/validation.js';
import { startSluice, type SluiceServer } from './runtime/sluice.js';

export const EXIT = { ok: 0, failed: 1, invalid: 2, cancelled: 3 } as const;

/** The installed @sluice/server's version (src/ and dist/ both sit one level below package.json). */
const SERVER_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Where the configuration comes from — the one precedence, used by every command and documented
 * in apps/server/README.md and docs/deployment.md:
 *
 * 1. `--config <file>`;
 * 2. `$SLUICE_CONFIG`: the configuration itself (YAML or JSON text), as container platforms
 *    inject a secret; written to a private (mode 600) temporary file, its relative paths
 *    (`${file:./x}`, `./plugins/...`, `store.dataDir`) resolving against the working directory;
 * 3. `$SLUICE_CONFIG_FILE`: the path of a file (the container image sets it to its bundled
 *    quick start, so a platform's `SLUICE_CONFIG` wins over it);
 * 4. `./sluice.yaml`.
 */
export function configSource(option: string | undefined, env: NodeJS.ProcessEnv = process.env): { path: string; baseDir?: string } {
  if (option) return { path: option };
  const inline = env.SLUICE_CONFIG;
  if (inline !== undefined && inline.trim() !== '') {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
    const file = join(dir, /^\s*[{[]/.test(inline) && isJson(inline) ? 'sluice.json' : 'sluice.yaml');
    writeFileSync(file, inline, { mode: 0o600 });
    return { path: file, baseDir: process.cwd() };
  }
  if (env.SLUICE_CONFIG_FILE) return { path: env.SLUICE_CONFIG_FILE };
  return { path: 'sluice.yaml' };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** {@link configSource} as `startSluice` options. */
function configOptions(option: string | undefined): { configPath: string; baseDir?: string } {
  const source = configSource(option);
  return { configPath: source.path, ...(source.baseDir === undefined ? {} : { baseDir: source.baseDir }) };
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number 0-65535');
  return n;
}

function logFormat(value: string): 'auto' | 'json' | 'pretty' {
  if (value !== 'auto' && value !== 'json' && value !== 'pretty') throw new InvalidArgumentError('json, pretty or auto');
  return value;
}

function date(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new InvalidArgumentError('a date as YYYY-MM-DD');
  return value;
}

/** A failure as JSON: coded errors (SLUICE_ERR_DATA_DIR_LOCKED: another process owns the data folder) keep their code and details. */
function jsonError(error: unknown, message: string): unknown {
  const { code, toJSON } = (error ?? {}) as { code?: unknown; toJSON?: unknown };
  if (!isCatalogCode(code)) return { message };
  return typeof toJSON === 'function' ? (toJSON as () => unknown).call(error) : { code, message };
}

/**
 * A configuration error as the CLI prints it: one line per problem, `file:line:column` first when
 * the problem has a position (as compilers print them, so editors and terminals link them), then
 * the path by name and the message.
 */
export function formatConfigError(error: ConfigError, file?: string): string {
  const lines = error.issues.map((issue) => {
    if (issue.line === undefined) return `  ${issue.path || '(root)'}: ${issue.message}`;
    const message = issue.message.replace(/ \(line \d+, column \d+\)$/, '');
    return `  ${file ?? 'line'}:${issue.line}:${issue.column}  ${issue.path || '(root)'}: ${message}`;
  });
  const count = error.issues.length;
  const title = error.message.split('\n')[0]!.replace(/:$/, '');
  return `${title}${file ? ` in ${file}` : ''} (${count} problem${count === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

function fail(error: unknown, json: boolean, file?: string): never {
  if (error instanceof ConfigError) {
    if (json) console.log(JSON.stringify({ ok: false, error: error.toJSON() }));
    else console.error(formatConfigError(error, file));
    process.exit(EXIT.invalid);
  }
  const message = error instanceof Error ? error.message : String(error);
  if (json) console.log(JSON.stringify({ ok: false, error: jsonError(error, message) }));
  else console.error(`error: ${message}`);
  process.exit(EXIT.failed);
}

/**
 * Validates a config file with the server's one validation pipeline (structure, plugins, secrets
 * policy, references, plugin sections, route tables, scheduling), every problem at once with its
 * line and column. `environment: false` resolves no reference and reads no secret file.
 */
async function validateFile(source: string | { path: string; baseDir?: string }, environment = true) {
  const { path, baseDir } = typeof source === 'string' ? { path: source, baseDir: undefined } : source;
  const file = await readConfigFile(path);
  const registry = createRegistry();
  const folder = baseDir ?? file.baseDir;
  const result = await validateServerConfig(file.text, { registry, env: process.env, baseDir: folder, format: file.format, environment });
  if (!result.ok) throw validationError(result);
  return { config: configOrThrow(result), registry, baseDir: folder };
}

/** Where a dry run starts reading: the start, or the checkpoint the pipeline's last run committed. */
type DryRunStart = { from: 'start'; reason: 'default' | 'no-saved-cursor' } | { from: 'cursor'; cursor: JsonValue };

/**
 * The pipeline's saved cursor, read from the store without changing it: a PGlite folder that
 * does not exist yet is not created, and a store never migrated has no cursor.
 */
async function savedCursor(config: SluiceConfig, pipeline: string, dataDir: string | undefined): Promise<JsonValue | undefined> {
  let options: { url: string } | { dataDir: string };
  if (config.store.url) options = { url: config.store.url };
  else {
    const dir = resolve(dataDir ?? config.store.dataDir);
    if (!existsSync(dir)) return undefined;
    options = { dataDir: dir };
  }
  const store = await createStore(options);
  try {
    const migrations = await store.migrationStatus();
    if (migrations.every((m) => m.state === 'pending')) return undefined;
    return await store.checkpoints.get(pipeline);
  } finally {
    await store.close();
  }
}

function describeStart(pipeline: string, start: DryRunStart): string {
  if (start.from === 'cursor') {
    const cursor = JSON.stringify(start.cursor);
    return `dry run of "${pipeline}": reading from the saved cursor ${cursor.length > 200 ? `${cursor.slice(0, 200)}…` : cursor} (the cursor is not moved)`;
  }
  return start.reason === 'no-saved-cursor'
    ? `dry run of "${pipeline}": reading from the start (the pipeline has no saved cursor yet)`
    : `dry run of "${pipeline}": reading from the start (--from-cursor starts at the pipeline's saved cursor)`;
}

function rate(count: number, ms: number) {
  return ms > 0 ? Math.round((count * 1000) / ms) : 0;
}

function progressLine(summary: RouterSummary, startedAt: number) {
  const delivered = Object.values(summary.destinations).reduce((n, d) => n + d.delivered, 0);
  return `read ${summary.records.in.toLocaleString('en')} · routed ${summary.records.acknowledged.toLocaleString('en')} · written ${delivered.toLocaleString('en')} · dead-lettered ${summary.deadLettered} · ${rate(summary.records.in, Date.now() - startedAt).toLocaleString('en')} rec/s`;
}

async function waitForRuns(sluice: SluiceServer, ids: string[]): Promise<RunRecord[]> {
  const done: RunRecord[] = [];
  for (const id of ids) {
    for (;;) {
      const run = await sluice.store.runs.get(id);
      if (run && ['succeeded', 'failed', 'cancelled'].includes(run.status)) {
        done.push(run);
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return done;
}

export function buildProgram(): Command {
  const program = new Command('sluice')
    .description('Sluice: pull marketing and analytics data, route every record by rules, deliver it anywhere.')
    .version(SERVER_VERSION)
    .showHelpAfterError();

  program
    .command('serve')
    .description('start the server: REST API, webhooks, metrics, scheduler workers')
    .option('-c, --config <file>', 'configuration file (default: $SLUICE_CONFIG, the configuration itself; else $SLUICE_CONFIG_FILE; else ./sluice.yaml)')
    .option('-p, --port <n>', 'port to listen on (overrides server.port; 0 = any)', port)
    .option('--host <address>', 'address to listen on (overrides server.host)')
    .option('-d, --data-dir <dir>', 'PGlite data folder when store.url is not set (overrides store.dataDir)')
    .option('--no-worker', 'do not execute runs on this instance (trigger-only)')
    .option('--no-cron', 'do not fire cron schedules on this instance')
    .option('--log-format <format>', 'json, pretty or auto: pretty when stdout is a terminal (overrides logging.format)', logFormat)
    .action(async (opts: { config?: string; port?: number; host?: string; dataDir?: string; worker: boolean; cron: boolean; logFormat?: 'auto' | 'json' | 'pretty' }) => {
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
        sluice.reload().catch((error: unknown) => sluice.logger.error({ err: error }, 'reload failed; keeping the running configuration'));
      });
    });

  program
    .command('validate')
    .description('check a configuration file: structure, secrets, plugins, cross-references, route conditions')
    .argument('[file]', 'configuration file (default: as serve finds it: $SLUICE_CONFIG, else $SLUICE_CONFIG_FILE, else ./sluice.yaml)')
    .option('-c, --config <file>', 'configuration file (instead of the argument)')
    .option('--json', 'machine-readable output')
    .option('--no-environment', 'check everything except resolving ${env:..}/${file:..} references and connecting (for CI without credentials)')
    .action(async (argument: string | undefined, opts: { config?: string; json?: boolean; environment: boolean }) => {
      const source = configSource(opts.config ?? argument);
      const file = opts.config ?? argument ?? (process.env.SLUICE_CONFIG?.trim() ? '$SLUICE_CONFIG' : source.path);
      try {
        const { config } = await validateFile(source, opts.environment);
        const summary = {
          ok: true,
          environment: opts.environment,
          pipelines: Object.keys(config.pipelines).length,
          destinations: Object.keys(config.destinations).length,
          connections: Object.keys(config.connections).length,
        };
        const scope = opts.environment ? '' : ' without the environment (no reference resolved, no secret file read)';
        if (opts.json) console.log(JSON.stringify(summary));
        else console.log(`✓ ${file} is valid${scope}: ${summary.pipelines} pipeline(s), ${summary.destinations} destination(s), ${summary.connections} connection(s)`);
      } catch (error) {
        fail(error, Boolean(opts.json), file);
      }
    });

  program
    .command('run')
    .description('run a pipeline now and wait for it (progress on stderr)')
    .argument('<pipeline>', 'pipeline name')
    .option('-c, --config <file>', 'configuration file (default: ./sluice.yaml)')
    .option('-d, --data-dir <dir>', 'PGlite data folder when store.url is not set')
    .option('--dry-run', 'read from the source and show what each destination would receive, writing nothing')
    .option('--from-cursor', "with --dry-run: start at the pipeline's saved cursor (where its next run would start), not at the beginning")
    .option('--limit <n>', 'with --dry-run: records to read at most (default 100)', (v) => Number(v))
    .option('--from <date>', 'backfill from this date (YYYY-MM-DD)', date)
    .option('--to <date>', 'backfill to this date (YYYY-MM-DD)', date)
    .option('--param <key=value...>', 'run parameters')
    .option('--json', 'machine-readable output')
    .action(async (pipeline: string, opts: { config?: string; dataDir?: string; dryRun?: boolean; fromCursor?: boolean; limit?: number; from?: string; to?: string; param?: string[]; json?: boolean }) => {
      const json = Boolean(opts.json);
      const params: JsonObject = {};
      for (const pair of opts.param ?? []) {
        const at = pair.indexOf('=');
        if (at <= 0) fail(new ConfigError([{ path: '--param', message: `"${pair}" is not key=value` }]), json);
        params[pair.slice(0, at)] = pair.slice(at + 1);
      }
      if ((opts.from === undefined) !== (opts.to === undefined)) fail(new ConfigError([{ path: '--from/--to', message: 'give both for a backfill' }]), json);
      if (opts.fromCursor && !opts.dryRun) fail(new ConfigError([{ path: '--from-cursor', message: 'only with --dry-run (a run always starts at the saved cursor)' }]), json);
      try {
        if (opts.dryRun) {
          const { config, registry } = await validateFile(configSource(opts.config));
          if (!config.pipelines[pipeline]) throw new ConfigError([{ path: 'pipeline', message: `unknown pipeline "${pipeline}"` }]);
          let start: DryRunStart = { from: 'start', reason: 'default' };
          if (opts.fromCursor) {
            const cursor = await savedCursor(config, pipeline, opts.dataDir);
            start = cursor === undefined ? { from: 'start', reason: 'no-saved-cursor' } : { from: 'cursor', cursor };
          }
          // First, so a reader knows what the records below are relative to.
          if (!json) console.log(describeStart(pipeline, start));
          const ctx = createPluginContext();
          const { kind, options } = pipelineSourceOptions(config, pipeline);
          const connector = await registry.createConnector(kind, options, ctx, ['pipelines', pipeline, 'source']);
          const limit = opts.limit ?? 100;
          const records = [];
          const controller = new AbortController();
          const request = {
            ...(start.from === 'cursor' ? { state: start.cursor } : {}),
            params: { ...params, ...(opts.from ? { from: opts.from, to: opts.to! } : {}) },
          };
          for await (const page of connector.read(request, controller.signal)) {
            records.push(...page.records.slice(0, limit - records.length));
            if (records.length >= limit) break;
          }
          await connector.close?.();
          const result = dryRun(records, compilePipelineTable(config, pipeline, registry, ctx));
          if (json) console.log(JSON.stringify({ start, ...result }));
          else {
            console.log(`dry run of "${pipeline}": ${result.totals.records} record(s) read, ${result.totals.matched} matched, ${result.totals.unmatched} unmatched, ${result.totals.errors} with errors`);
            for (const [destination, received] of Object.entries(result.destinations)) {
              console.log(`  → ${destination}: ${received.length} record(s)${received[0] ? `, e.g. ${JSON.stringify(received[0])}` : ''}`);
            }
          }
          return;
        }
        const startedAt = Date.now();
        let last = '';
        const sluice = await startSluice({
          ...configOptions(opts.config),
          ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }),
          http: false,
          cron: false,
          logger: false,
          onProgress: (_run, summary) => {
            const line = progressLine(summary, startedAt);
            if (!json && line !== last && process.stderr.isTTY) process.stderr.write(`\r${line}`);
            last = line;
          },
        });
        try {
          let ids: string[];
          if (opts.from && opts.to) {
            const result = await sluice.scheduler.backfill(pipeline, { from: opts.from, to: opts.to, params });
            ids = result.chunks.map((c) => c.runId);
          } else {
            if (!sluice.config().pipelines[pipeline]) throw new ConfigError([{ path: 'pipeline', message: `unknown pipeline "${pipeline}"` }]);
            const { runId } = await sluice.scheduler.enqueue({ pipeline, trigger: 'cli', params, pipelineVersion: sluice.state.current.pipelineVersions[pipeline] ?? null });
            ids = [runId];
          }
          const runs = await waitForRuns(sluice, ids);
          if (!json && process.stderr.isTTY) process.stderr.write('\n');
          if (!json && last) console.error(last);
          const status = runs.some((r) => r.status === 'failed') ? 'failed' : runs.some((r) => r.status === 'cancelled') ? 'cancelled' : 'succeeded';
          if (json) console.log(JSON.stringify({ ok: status === 'succeeded', status, runs }));
          else for (const run of runs) console.log(`${run.status === 'succeeded' ? '✓' : '✗'} run ${run.id} ${run.status}: ${JSON.stringify(run.counts)}${run.error ? ` — ${run.error.message}` : ''}`);
          await sluice.close();
          process.exit(status === 'succeeded' ? EXIT.ok : status === 'cancelled' ? EXIT.cancelled : EXIT.failed);
        } catch (error) {
          await sluice.close().catch(() => {});
          throw error;
        }
      } catch (error) {
        fail(error, json);
      }
    });

  program
    .command('migrate')
    .description('apply the store migrations (also done by serve at start-up)')
    .option('-c, --config <file>', 'configuration file (default: ./sluice.yaml)')
    .option('-d, --data-dir <dir>', 'PGlite data folder when store.url is not set')
    .option('--json', 'machine-readable output')
    .action(async (opts: { config?: string; dataDir?: string; json?: boolean }) => {
      try {
        const { config } = await validateFile(configSource(opts.config));
        const store = await createStore(config.store.url ? { url: config.store.url } : { dataDir: opts.dataDir ?? config.store.dataDir });
        try {
          const result = await store.migrate();
          if (opts.json) console.log(JSON.stringify({ ok: true, ...result }));
          else console.log(`✓ migrations: ${JSON.stringify(result)}`);
        } finally {
          await store.close();
        }
      } catch (error) {
        fail(error, Boolean(opts.json));
      }
    });

  const letters = program.command('dead-letters').description('inspect, replay and discard dead letters');
  const withStore = async <T>(opts: { config?: string; dataDir?: string }, fn: (sluice: SluiceServer) => Promise<T>): Promise<T> => {
    const sluice = await startSluice({ ...configOptions(opts.config), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), http: false, cron: false, logger: false });
    try {
      return await fn(sluice);
    } finally {
      await sluice.close();
    }
  };
  letters
    .command('list')
    .option('-c, --config <file>', 'configuration file')
    .option('-d, --data-dir <dir>', 'PGlite data folder')
    .option('--pipeline <name>')
    .option('--status <status>', 'pending | replayed | discarded', 'pending')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 50)
    .option('--json', 'machine-readable output')
    .action(async (opts: { config?: string; dataDir?: string; pipeline?: string; status: DeadLetterStatus; limit: number; json?: boolean }) => {
      try {
        const page = await withStore(opts, (s) => s.store.deadLetters.list({ status: opts.status, limit: opts.limit, ...(opts.pipeline ? { pipeline: opts.pipeline } : {}) }));
        if (opts.json) console.log(JSON.stringify(page));
        else if (page.items.length === 0) console.log('no dead letters');
        else for (const l of page.items) console.log(`${l.id}  ${l.pipeline} → ${l.destination} (${l.route})  ${l.attempts} attempt(s)  ${l.error.message}`);
      } catch (error) {
        fail(error, Boolean(opts.json));
      }
    });
  letters
    .command('replay')
    .argument('[ids...]', 'dead-letter ids (default: every pending letter, filtered by --pipeline)')
    .option('-c, --config <file>', 'configuration file')
    .option('-d, --data-dir <dir>', 'PGlite data folder')
    .option('--pipeline <name>')
    .option('--json', 'machine-readable output')
    .action(async (ids: string[], opts: { config?: string; dataDir?: string; pipeline?: string; json?: boolean }) => {
      try {
        const runs = await withStore(opts, async (sluice) => {
          const chosen = ids.length
            ? (await Promise.all(ids.map((id) => sluice.store.deadLetters.get(id)))).filter((l) => l !== undefined)
            : (await sluice.store.deadLetters.list({ status: 'pending', limit: 1000, ...(opts.pipeline ? { pipeline: opts.pipeline } : {}) })).items;
          const byPipeline = new Map<string, string[]>();
          for (const l of chosen) if (l.status === 'pending') byPipeline.set(l.pipeline, [...(byPipeline.get(l.pipeline) ?? []), l.id]);
          const runIds = [];
          for (const [pipeline, letterIds] of byPipeline) runIds.push((await sluice.scheduler.enqueue({ pipeline, trigger: 'replay', params: { deadLetterIds: letterIds } })).runId);
          return waitForRuns(sluice, runIds);
        });
        if (opts.json) console.log(JSON.stringify({ ok: runs.every((r) => r.status === 'succeeded'), runs }));
        else if (runs.length === 0) console.log('nothing to replay');
        else for (const run of runs) console.log(`${run.status === 'succeeded' ? '✓' : '✗'} replay ${run.id} (${run.pipeline}) ${run.status}: ${JSON.stringify(run.counts)}`);
        process.exit(runs.every((r) => r.status === 'succeeded') ? EXIT.ok : EXIT.failed);
      } catch (error) {
        fail(error, Boolean(opts.json));
      }
    });
  letters
    .command('discard')
    .argument('<ids...>', 'dead-letter ids')
    .option('-c, --config <file>', 'configuration file')
    .option('-d, --data-dir <dir>', 'PGlite data folder')
    .option('--json', 'machine-readable output')
    .action(async (ids: string[], opts: { config?: string; dataDir?: string; json?: boolean }) => {
      try {
        const discarded = await withStore(opts, (s) => s.store.deadLetters.discard(ids));
        if (opts.json) console.log(JSON.stringify({ ok: true, discarded }));
        else console.log(`discarded ${discarded.length} of ${ids.length} letter(s)`);
      } catch (error) {
        fail(error, Boolean(opts.json));
      }
    });

  program
    .command('schema')
    .description('print the JSON Schema of sluice.yaml (for editors), including every built-in kind and, with --config, the kinds of the plugins that file loads')
    .option('-c, --config <file>', 'include the plugins this configuration file loads')
    .action(async (opts: { config?: string }) => {
      const registry = createRegistry();
      if (opts.config) {
        try {
          const file = await readConfigFile(opts.config);
          const result = await validateServerConfig(file.text, { registry, env: process.env, baseDir: file.baseDir, format: file.format, environment: false });
          // Only plugin problems stop the schema: the rest of the file may be work in progress.
          const pluginIssues = result.issues.filter((issue) => issue.path === 'plugins' || issue.path.startsWith('plugins['));
          if (pluginIssues.length > 0) throw validationError({ issues: pluginIssues });
        } catch (error) {
          fail(error, false, opts.config);
        }
      }
      console.log(JSON.stringify(toJsonSchema({ registry }), null, 2));
    });

  return program;
}

await buildProgram().parseAsync(process.argv);
