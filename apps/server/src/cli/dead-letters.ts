/** `sluice dead-letters list|replay|discard`, each on an engine of its own (no HTTP, no cron, no logs). */
import type { Command } from 'commander';
import type { DeadLetterStatus } from '@sluice/core';
import { startSluice, type SluiceServer } from '../runtime/sluice.js';
import { configOptions } from './config-source.js';
import { EXIT, fail } from './exit.js';
import { waitForRuns } from './wait-for-runs.js';

interface StoreOptions {
  config?: string;
  dataDir?: string;
}

interface ListOptions extends StoreOptions {
  pipeline?: string;
  status: DeadLetterStatus;
  limit: number;
  json?: boolean;
}

interface ReplayOptions extends StoreOptions {
  pipeline?: string;
  json?: boolean;
}

interface DiscardOptions extends StoreOptions {
  json?: boolean;
}

/** Runs `fn` on a started engine and closes it whatever happens. */
async function withEngine<T>(
  opts: StoreOptions,
  fn: (sluice: SluiceServer) => Promise<T>,
): Promise<T> {
  const sluice = await startSluice({
    ...configOptions(opts.config),
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    http: false,
    cron: false,
    logger: false,
  });
  try {
    return await fn(sluice);
  } finally {
    await sluice.close();
  }
}

async function list(opts: ListOptions): Promise<void> {
  try {
    const page = await withEngine(opts, (s) =>
      s.store.deadLetters.list({
        status: opts.status,
        limit: opts.limit,
        ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
      }),
    );
    if (opts.json) console.log(JSON.stringify(page));
    else if (page.items.length === 0) console.log('no dead letters');
    else
      for (const l of page.items)
        console.log(
          `${l.id}  ${l.pipeline} → ${l.destination} (${l.route})  ${l.attempts} attempt(s)  ${l.error.message}`,
        );
  } catch (error) {
    fail(error, Boolean(opts.json));
  }
}

/** Replays the chosen pending letters, one run per pipeline, waits for the runs and exits with their outcome. */
async function replay(ids: string[], opts: ReplayOptions): Promise<void> {
  try {
    const runs = await withEngine(opts, async (sluice) => {
      const chosen = ids.length
        ? (await Promise.all(ids.map((id) => sluice.store.deadLetters.get(id)))).filter(
            (l) => l !== undefined,
          )
        : (
            await sluice.store.deadLetters.list({
              status: 'pending',
              limit: 1000,
              ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
            })
          ).items;
      const byPipeline = new Map<string, string[]>();
      for (const l of chosen)
        if (l.status === 'pending')
          byPipeline.set(l.pipeline, [...(byPipeline.get(l.pipeline) ?? []), l.id]);
      const runIds = [];
      for (const [pipeline, letterIds] of byPipeline)
        runIds.push(
          (
            await sluice.scheduler.enqueue({
              pipeline,
              trigger: 'replay',
              params: { deadLetterIds: letterIds },
            })
          ).runId,
        );
      return waitForRuns(sluice, runIds);
    });
    if (opts.json)
      console.log(JSON.stringify({ ok: runs.every((r) => r.status === 'succeeded'), runs }));
    else if (runs.length === 0) console.log('nothing to replay');
    else
      for (const run of runs)
        console.log(
          `${run.status === 'succeeded' ? '✓' : '✗'} replay ${run.id} (${run.pipeline}) ${run.status}: ${JSON.stringify(run.counts)}`,
        );
    process.exit(runs.every((r) => r.status === 'succeeded') ? EXIT.ok : EXIT.failed);
  } catch (error) {
    fail(error, Boolean(opts.json));
  }
}

async function discard(ids: string[], opts: DiscardOptions): Promise<void> {
  try {
    const discarded = await withEngine(opts, (s) => s.store.deadLetters.discard(ids));
    if (opts.json) console.log(JSON.stringify({ ok: true, discarded }));
    else console.log(`discarded ${discarded.length} of ${ids.length} letter(s)`);
  } catch (error) {
    fail(error, Boolean(opts.json));
  }
}

export function registerDeadLettersCommand(program: Command): void {
  const letters = program
    .command('dead-letters')
    .description('inspect, replay and discard dead letters');
  letters
    .command('list')
    .option('-c, --config <file>', 'configuration file')
    .option('-d, --data-dir <dir>', 'PGlite data folder')
    .option('--pipeline <name>')
    .option('--status <status>', 'pending | replayed | discarded', 'pending')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 50)
    .option('--json', 'machine-readable output')
    .action(list);
  letters
    .command('replay')
    .argument('[ids...]', 'dead-letter ids (default: every pending letter, filtered by --pipeline)')
    .option('-c, --config <file>', 'configuration file')
    .option('-d, --data-dir <dir>', 'PGlite data folder')
    .option('--pipeline <name>')
    .option('--json', 'machine-readable output')
    .action(replay);
  letters
    .command('discard')
    .argument('<ids...>', 'dead-letter ids')
    .option('-c, --config <file>', 'configuration file')
    .option('-d, --data-dir <dir>', 'PGlite data folder')
    .option('--json', 'machine-readable output')
    .action(discard);
}
