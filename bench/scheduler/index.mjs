#!/usr/bin/env node
// Scheduler benchmarks: trigger-to-start latency (p50/p99) of API and webhook triggers and
// runs/s of no-op pipelines, each beside raw pg-boss send→work on the same database in the
// same run; on PostgreSQL (a database of its own on 127.0.0.1:5432) and on embedded PGlite.
// Imports the BUILT packages (run `npx tsc -p packages/<pkg>/tsconfig.build.json` for core,
// store and scheduler first). Prints one JSON line per figure. Bounded to well under a minute
// per backend.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { createScheduler, deterministicUuid, signStandardWebhook } from '@sluice/scheduler';
import { createStore } from '@sluice/store';

const LATENCY_SAMPLES = Number(process.env.SCHED_BENCH_SAMPLES ?? 30);
const THROUGHPUT_RUNS = Number(process.env.SCHED_BENCH_RUNS ?? 1000);
const CONCURRENCY = 8;
// pg-boss's lowest polling interval; a batch of the tuned baseline.
const POLL = 0.5;
const BATCH = 50;
const SECRET = 'whsec_' + Buffer.from('sluice bench secret').toString('base64');
const DATABASE = 'sluice_sched_bench';

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const round = (n, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const rssMb = () => round(process.memoryUsage().rss / 1024 / 1024, 1);
const emit = (line) => process.stdout.write(JSON.stringify(line) + '\n');

// Every SQL statement this process sends to PostgreSQL goes through pg's Client#query (the store's
// kysely pool and pg-boss's pool both use the one `pg` installed), so counting its calls during a
// phase gives that phase's statements. PGlite does not use `pg`: its phases count nothing.
let statements = 0;
const clientQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(...args) {
  statements += 1;
  return clientQuery.apply(this, args);
};

/** Resolves the promise a handler start signals for one id. */
function startSignals() {
  const waiting = new Map();
  return {
    wait(id) {
      return new Promise((resolve) => waiting.set(id, resolve));
    },
    started(id) {
      const resolve = waiting.get(id);
      waiting.delete(id);
      resolve?.(performance.now());
    },
  };
}

// Raw pg-boss tuned for throughput: the lowest polling interval pg-boss allows, NOTIFY on, and
// batch claims that fetch again at once while they come back full (burstWhenBatchFull). Jobs are
// sent one call each, as Sluice's triggers enqueue one run each (`bulk_per_s`: one insert of all).
async function rawPgBoss(bossOptions) {
  const boss = new PgBoss({
    ...bossOptions,
    schema: 'bench_raw',
    useListenNotify: true,
    registerInstance: false,
  });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('raw', { notify: true }).catch(() => undefined);
  const signals = startSignals();
  let done = 0;
  await boss.work(
    'raw',
    {
      localConcurrency: CONCURRENCY,
      batchSize: BATCH,
      burstWhenBatchFull: true,
      pollingIntervalSeconds: POLL,
      notifyPollingIntervalSeconds: POLL,
    },
    async (jobs) => {
      for (const job of jobs) signals.started(job.data.key);
      done += jobs.length;
    },
  );
  const latencies = [];
  for (let i = 0; i < LATENCY_SAMPLES; i += 1) {
    const key = `l${i}`;
    const started = signals.wait(key);
    const t0 = performance.now();
    await boss.send('raw', { key });
    latencies.push((await started) - t0);
  }
  const drain = async (enqueue) => {
    done = 0;
    const t0 = performance.now();
    await enqueue();
    while (done < THROUGHPUT_RUNS) await new Promise((r) => setTimeout(r, 2));
    return THROUGHPUT_RUNS / ((performance.now() - t0) / 1000);
  };
  const statementsBefore = statements;
  const perSecond = await drain(() =>
    Promise.all(
      Array.from({ length: THROUGHPUT_RUNS }, (_, i) => boss.send('raw', { key: `t${i}` })),
    ),
  );
  const statementsPerJob = (statements - statementsBefore) / THROUGHPUT_RUNS;
  const bulkPerSecond = await drain(() =>
    boss.insert(
      'raw',
      Array.from({ length: THROUGHPUT_RUNS }, (_, i) => ({ data: { key: `b${i}` } })),
    ),
  );
  await boss.stop({ graceful: true, timeout: 5000, close: true });
  return {
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    perSecond,
    bulkPerSecond,
    statementsPerJob,
  };
}

async function sluiceScheduler(stores, bossOptions) {
  const signals = startSignals();
  let done = 0;
  const scheduler = createScheduler({
    stores,
    boss: { ...bossOptions, schema: 'bench_sluice', registerInstance: false },
    pollingIntervalSeconds: POLL,
    concurrency: CONCURRENCY,
    // The throughput figure triggers every run at once; back-pressure is not what it measures.
    maxQueuedRuns: 1_000_000,
    pipelines: [
      {
        name: 'noop',
        allowOverlap: true,
        concurrency: CONCURRENCY,
        webhook: { scheme: 'standard-webhooks', secret: SECRET },
      },
    ],
    execute: async (run) => {
      signals.started(run.id);
      done += 1;
      return {};
    },
  });
  await scheduler.start();
  const api = [];
  for (let i = 0; i < LATENCY_SAMPLES; i += 1) {
    const runId = crypto.randomUUID();
    // Listen before triggering: the run may start before trigger() resolves.
    const starting = signals.wait(runId);
    const t0 = performance.now();
    await scheduler.trigger('noop', { runId });
    const started = await Promise.race([
      starting,
      new Promise((r) => setTimeout(() => r(undefined), 10_000)),
    ]);
    if (started !== undefined) api.push(started - t0);
  }
  const webhook = [];
  for (let i = 0; i < LATENCY_SAMPLES; i += 1) {
    const id = `msg_${i}_${Date.now()}`;
    const ts = Math.floor(Date.now() / 1000);
    const rawBody = Buffer.from(JSON.stringify({ i }));
    const starting = signals.wait(deterministicUuid(`sluice:webhook:noop:${id}`));
    const t0 = performance.now();
    await scheduler.handleWebhook('noop', {
      rawBody,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signStandardWebhook(SECRET, id, ts, rawBody),
      },
    });
    const started = await Promise.race([
      starting,
      new Promise((r) => setTimeout(() => r(undefined), 10_000)),
    ]);
    if (started !== undefined) webhook.push(started - t0);
  }
  done = 0;
  const statementsBefore = statements;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: THROUGHPUT_RUNS }, () => scheduler.trigger('noop')));
  while (done < THROUGHPUT_RUNS) await new Promise((r) => setTimeout(r, 2));
  const perSecond = THROUGHPUT_RUNS / ((performance.now() - t0) / 1000);
  // Every run's record is written after its execution finished; let the last ones land (their
  // statements count: they are part of each run).
  await new Promise((r) => setTimeout(r, 500));
  const statementsPerRun = (statements - statementsBefore) / THROUGHPUT_RUNS;
  await scheduler.stop();
  return { api, webhook, perSecond, statementsPerRun };
}

async function benchBackend(backend, open) {
  const env = await open();
  try {
    const raw = await rawPgBoss(env.boss);
    const ours = await sluiceScheduler(env.store, env.boss);
    for (const [trigger, samples] of [
      ['api', ours.api],
      ['webhook', ours.webhook],
    ]) {
      const p50 = quantile(samples, 0.5);
      const p99 = quantile(samples, 0.99);
      emit({
        bench: 'scheduler.trigger_to_start',
        backend,
        figure: trigger,
        p50_ms: round(p50),
        p99_ms: round(p99),
        baseline: 'tuned pg-boss send→work',
        baseline_p50_ms: round(raw.p50),
        baseline_p99_ms: round(raw.p99),
        ratio: round(p50 / raw.p50),
        samples: samples.length,
        rss_mb: rssMb(),
      });
    }
    emit({
      bench: 'scheduler.noop_runs',
      backend,
      runs_per_s: round(ours.perSecond, 1),
      baseline: `tuned pg-boss: one send a job, batch ${BATCH}, burst, poll ${POLL} s, NOTIFY`,
      baseline_per_s: round(raw.perSecond, 1),
      ratio: round(ours.perSecond / raw.perSecond),
      bulk_insert_baseline_per_s: round(raw.bulkPerSecond, 1),
      ...(backend === 'postgres'
        ? {
            statements_per_run: round(ours.statementsPerRun, 1),
            baseline_statements_per_job: round(raw.statementsPerJob, 2),
          }
        : {}),
      runs: THROUGHPUT_RUNS,
      concurrency: CONCURRENCY,
      rss_mb: rssMb(),
    });
  } finally {
    await env.close();
  }
}

async function adminQuery(text) {
  const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

await benchBackend('postgres', async () => {
  await adminQuery(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE ${DATABASE}`);
  const url = `postgres://postgres@127.0.0.1:5432/${DATABASE}`;
  const store = await createStore({ url, schema: 'sluice_bench' });
  await store.migrate();
  return {
    store,
    boss: { connectionString: url, max: 10 },
    close: async () => {
      await store.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    },
  };
});

await benchBackend('pglite', async () => {
  const store = await createStore({ dataDir: 'memory://', schema: 'sluice_bench' });
  await store.migrate();
  return { store, boss: store.pgBossDb(), close: () => store.close() };
});
