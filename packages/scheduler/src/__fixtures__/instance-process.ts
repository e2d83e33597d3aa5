// One scheduler instance in its own process, for the multi-process tests (run by `node` with
// ts-hooks.mjs). argv[2] is a JSON object:
//   { url, queueName, instance, mode: 'cron', pipeline }   fires a per-second cron; records
//     every fire in sched_fires and every execution in sched_exec;
//   { url, queueName, instance, mode: 'worker', pipeline, pageDelayMs, tables?, retry?, maxTakeovers? }
//     executes copy runs: source rows → destination (upsert), one page at a time, committing the
//     checkpoint after each acknowledged page; `tables` is the copy tables' prefix, `retry` the
//     pipeline's retry policy (the scheduler's default when absent).
// Prints "ready" once started; stops gracefully on SIGTERM.
import { createScheduler } from '@sluice/scheduler';
import { createStore } from '@sluice/store';
import pg from 'pg';
import { copyPipeline } from './copy-pipeline.js';

interface Args {
  url: string;
  queueName: string;
  instance: string;
  mode: 'cron' | 'worker';
  pipeline: string;
  pageDelayMs?: number;
  tables?: string;
  retry?: {
    maxAttempts?: number;
    initialDelayMs?: number;
    maxDelayMs?: number;
    multiplier?: number;
  };
  maxTakeovers?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const pool = new pg.Pool({ connectionString: args.url, max: 3 });
pool.on('error', () => undefined);
const store = await createStore({ url: args.url, schema: 'sluice_sched', maxConnections: 4 });

const scheduler = createScheduler({
  stores: store,
  boss: {
    connectionString: args.url,
    max: 4,
    schema: 'sluice_sched_jobs',
    superviseIntervalSeconds: 1,
    monitorIntervalSeconds: 1,
    registerInstance: false,
  },
  queueName: args.queueName,
  pollingIntervalSeconds: 0.5,
  heartbeatSeconds: 10,
  concurrency: 8,
  shutdownTimeoutMs: 5000,
  ...(args.maxTakeovers === undefined ? {} : { maxTakeovers: args.maxTakeovers }),
  cron: args.mode === 'cron',
  pipelines:
    args.mode === 'cron'
      ? [
          {
            name: args.pipeline,
            cron: { expression: '* * * * * *' },
            allowOverlap: true,
            concurrency: 8,
          },
        ]
      : [{ name: args.pipeline, ...(args.retry === undefined ? {} : { retry: args.retry }) }],
  onCronFire: (event) => {
    pool
      .query('INSERT INTO sched_fires (tick, instance, created) VALUES ($1, $2, $3)', [
        event.tick,
        args.instance,
        event.created,
      ])
      .catch((error: unknown) => console.error('could not record a fire', error));
  },
  execute:
    args.mode === 'cron'
      ? async (run) => {
          await pool.query('INSERT INTO sched_exec (tick, instance) VALUES ($1, $2)', [
            String(run.params.tick),
            args.instance,
          ]);
          return {};
        }
      : copyPipeline({
          pool,
          checkpoints: store.checkpoints,
          pageDelayMs: args.pageDelayMs ?? 200,
          ...(args.tables === undefined ? {} : { prefix: args.tables }),
        }),
});

await scheduler.start();
process.stdout.write('ready\n');

process.on('SIGTERM', () => {
  void (async () => {
    await scheduler.stop();
    await store.close();
    await pool.end();
    process.exit(0);
  })();
});
