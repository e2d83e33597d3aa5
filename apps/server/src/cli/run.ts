/**
 * `sluice run <pipeline>`: runs a pipeline now (or backfills a date range) on an engine of its own
 * and waits for it, progress on stderr; `--dry-run` is in dry-run.ts.
 *
 * @packageDocumentation
 */
import type { Command } from 'commander';
import { ConfigError, type JsonObject } from '@sluice/core';
import { startSluice } from '../runtime/sluice.js';
import { date } from './arguments.js';
import { configOptions } from './config-source.js';
import { dryRunPipeline } from './dry-run.js';
import { EXIT, fail } from './exit.js';
import { progressLine } from './run-progress.js';
import { waitForRuns } from './wait-for-runs.js';

interface RunOptions {
  config?: string;
  dataDir?: string;
  dryRun?: boolean;
  fromCursor?: boolean;
  limit?: number;
  from?: string;
  to?: string;
  param?: string[];
  json?: boolean;
}

/** `--param key=value...` as run parameters; a pair without a key is a usage error. */
function runParams(pairs: readonly string[], json: boolean): JsonObject {
  const params: JsonObject = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0)
      fail(new ConfigError([{ path: '--param', message: `"${pair}" is not key=value` }]), json);
    params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return params;
}

/** Runs the pipeline (or its backfill chunks), prints the runs and exits with their outcome. */
async function runPipeline(
  pipeline: string,
  params: JsonObject,
  opts: RunOptions,
  json: boolean,
): Promise<void> {
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
      const result = await sluice.scheduler.backfill(pipeline, {
        from: opts.from,
        to: opts.to,
        params,
      });
      ids = result.chunks.map((c) => c.runId);
    } else {
      if (!sluice.config().pipelines[pipeline])
        throw new ConfigError([{ path: 'pipeline', message: `unknown pipeline "${pipeline}"` }]);
      const { runId } = await sluice.scheduler.enqueue({
        pipeline,
        trigger: 'cli',
        params,
        pipelineVersion: sluice.state.current.pipelineVersions[pipeline] ?? null,
      });
      ids = [runId];
    }
    const runs = await waitForRuns(sluice, ids);
    if (!json && process.stderr.isTTY) process.stderr.write('\n');
    if (!json && last) console.error(last);
    const status = runs.some((r) => r.status === 'failed')
      ? 'failed'
      : runs.some((r) => r.status === 'cancelled')
        ? 'cancelled'
        : 'succeeded';
    if (json) console.log(JSON.stringify({ ok: status === 'succeeded', status, runs }));
    else
      for (const run of runs)
        console.log(
          `${run.status === 'succeeded' ? '✓' : '✗'} run ${run.id} ${run.status}: ${JSON.stringify(run.counts)}${run.error ? ` — ${run.error.message}` : ''}`,
        );
    await sluice.close();
    process.exit(
      status === 'succeeded' ? EXIT.ok : status === 'cancelled' ? EXIT.cancelled : EXIT.failed,
    );
  } catch (error) {
    await sluice.close().catch(() => {});
    throw error;
  }
}

async function run(pipeline: string, opts: RunOptions): Promise<void> {
  const json = Boolean(opts.json);
  const params = runParams(opts.param ?? [], json);
  if ((opts.from === undefined) !== (opts.to === undefined))
    fail(new ConfigError([{ path: '--from/--to', message: 'give both for a backfill' }]), json);
  if (opts.fromCursor && !opts.dryRun)
    fail(
      new ConfigError([
        {
          path: '--from-cursor',
          message: 'only with --dry-run (a run always starts at the saved cursor)',
        },
      ]),
      json,
    );
  try {
    if (opts.dryRun) {
      await dryRunPipeline(pipeline, params, { ...opts, json });
      return;
    }
    await runPipeline(pipeline, params, opts, json);
  } catch (error) {
    fail(error, json);
  }
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a pipeline now and wait for it (progress on stderr)')
    .argument('<pipeline>', 'pipeline name')
    .option('-c, --config <file>', 'configuration file (default: ./sluice.yaml)')
    .option('-d, --data-dir <dir>', 'PGlite data folder when store.url is not set')
    .option(
      '--dry-run',
      'read from the source and show what each destination would receive, writing nothing',
    )
    .option(
      '--from-cursor',
      "with --dry-run: start at the pipeline's saved cursor (where its next run would start), not at the beginning",
    )
    .option('--limit <n>', 'with --dry-run: records to read at most (default 100)', (v) =>
      Number(v),
    )
    .option('--from <date>', 'backfill from this date (YYYY-MM-DD)', date)
    .option('--to <date>', 'backfill to this date (YYYY-MM-DD)', date)
    .option('--param <key=value...>', 'run parameters')
    .option('--json', 'machine-readable output')
    .action(run);
}
