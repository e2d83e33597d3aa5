/**
 * `sluice run <pipeline> --dry-run`: reads from the source and shows what each destination would
 * receive, writing nothing — not to the destinations, not to the store (the cursor is not moved).
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pipelineSourceOptions, type SluiceConfig } from '@sluice/config';
import { ConfigError, createPluginContext, type JsonObject, type JsonValue } from '@sluice/core';
import { dryRun } from '@sluice/router';
import { createStore } from '@sluice/store';
import { compilePipelineTable } from '../runtime/executor.js';
import { configSource, loadCommandConfig } from './config-source.js';

/** Where a dry run starts reading: the start, or the checkpoint the pipeline's last run committed. */
type DryRunStart =
  { from: 'start'; reason: 'default' | 'no-saved-cursor' } | { from: 'cursor'; cursor: JsonValue };

/** The options of `sluice run` a dry run reads. */
export interface DryRunOptions {
  config?: string | undefined;
  dataDir?: string | undefined;
  fromCursor?: boolean | undefined;
  /** Records to read at most (default 100). */
  limit?: number | undefined;
  /** A backfill range, passed to the connector as `params.from` / `params.to`. */
  from?: string | undefined;
  to?: string | undefined;
  json: boolean;
}

/**
 * The pipeline's saved cursor, read from the store without changing it: a PGlite folder that
 * does not exist yet is not created, and a store never migrated has no cursor.
 */
async function savedCursor(
  config: SluiceConfig,
  pipeline: string,
  dataDir: string | undefined,
): Promise<JsonValue | undefined> {
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

/** Runs the dry run and prints it; throws what should fail the command. */
export async function dryRunPipeline(
  pipeline: string,
  params: JsonObject,
  opts: DryRunOptions,
): Promise<void> {
  const { json } = opts;
  const { config, registry } = await loadCommandConfig(configSource(opts.config));
  if (!config.pipelines[pipeline])
    throw new ConfigError([{ path: 'pipeline', message: `unknown pipeline "${pipeline}"` }]);
  let start: DryRunStart = { from: 'start', reason: 'default' };
  if (opts.fromCursor) {
    const cursor = await savedCursor(config, pipeline, opts.dataDir);
    start =
      cursor === undefined
        ? { from: 'start', reason: 'no-saved-cursor' }
        : { from: 'cursor', cursor };
  }
  // First, so a reader knows what the records below are relative to.
  if (!json) console.log(describeStart(pipeline, start));
  const ctx = createPluginContext();
  const { kind, options } = pipelineSourceOptions(config, pipeline);
  const connector = await registry.createConnector(kind, options, ctx, [
    'pipelines',
    pipeline,
    'source',
  ]);
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
    console.log(
      `dry run of "${pipeline}": ${result.totals.records} record(s) read, ${result.totals.matched} matched, ${result.totals.unmatched} unmatched, ${result.totals.errors} with errors`,
    );
    for (const [destination, received] of Object.entries(result.destinations)) {
      console.log(
        `  → ${destination}: ${received.length} record(s)${received[0] ? `, e.g. ${JSON.stringify(received[0])}` : ''}`,
      );
    }
    // Expectations: per check, how many records violated it and what the action does to them.
    const owners = [
      ...Object.entries(result.expectations?.counts ?? {}).map(
        ([n, c]) => [`route "${n}"`, c] as const,
      ),
      ...Object.entries(result.expectations?.destinations ?? {}).map(
        ([n, c]) => [`destination "${n}"`, c] as const,
      ),
    ];
    for (const [owner, checks] of owners) {
      for (const [name, c] of Object.entries(checks)) {
        console.log(
          `  expectation "${name}" of ${owner} (${c.check}, ${c.action}): ${c.violations} violation(s) in ${c.checked} checked`,
        );
      }
    }
    for (const record of result.records)
      for (const v of record.expectations ?? [])
        console.log(`  ✗ record ${record.index}: ${v.message} → ${v.action}`);
    for (const v of result.expectations?.run ?? [])
      console.log(`  ✗ run: ${v.message} → ${v.action}`);
  }
}
