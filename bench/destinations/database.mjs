// PostgreSQL rows/s through the database destination (insert mode with its delivery ledger,
// insert mode with `ledger: false`, upsert mode into an empty table), beside a raw
// pg-copy-streams COPY of the same rows in the same run; upsert of rows whose keys all exist,
// beside the hand-written staged upsert (COPY into a temporary table + INSERT ... ON CONFLICT); and the cost of the ledger: insert with it vs insert without it, both
// measured in this run. 200k rows of 8 columns, written in batches of 10 000 (a typical router
// batch); the baseline COPYs all 200k rows at once, in one transaction. The baseline, the two
// insert variants and the upsert of new keys run ROUNDS times, alternating, each into a fresh
// table; their medians are reported. The ledger's cost is also
// measured where it weighs most: 20k rows in batches of 100 (one ledger row per 100 rows).
// Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth). Uses its own database.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import pgCopy from 'pg-copy-streams';
import { createPluginContext, parseConfig } from '@sluice/core';
import { databaseDestination } from '@sluice/destinations-database';

const ROWS = 200_000;
const BATCH = 10_000;
const ROUNDS = 5;
const SMALL_ROWS = 20_000;
const SMALL_BATCH = 100;
const DATABASE = 'sluice_dest_db_test';
const SCHEMA = `bench_${process.pid}`;
const url = `postgres://postgres@127.0.0.1:5432/${DATABASE}`;

const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`).catch(() => {});
await admin.end();

const client = new pg.Client({ connectionString: url });
await client.connect();
await client.query(`CREATE SCHEMA ${SCHEMA}`);

const columns = [
  { name: 'id', type: 'bigint', primaryKey: true },
  { name: 'day', type: 'date' },
  { name: 'channel', type: 'text' },
  { name: 'campaign', type: 'text' },
  { name: 'sessions', type: 'integer' },
  { name: 'revenue', type: 'numeric' },
  { name: 'bounce_rate', type: 'double' },
  { name: 'active', type: 'boolean' },
];
const ddl = (table) =>
  `CREATE TABLE ${SCHEMA}.${table} (id bigint PRIMARY KEY, day date, channel text, campaign text, sessions integer, revenue numeric, bounce_rate double precision, active boolean)`;

const records = Array.from({ length: ROWS }, (_, i) => ({
  id: i,
  day: `2026-11-${String(1 + (i % 28)).padStart(2, '0')}`,
  channel: ['email', 'web', 'social', 'paid'][i % 4],
  campaign: `campaign-${i % 997}`,
  sessions: (i * 7) % 10_000,
  revenue: `${(i % 1000) * 3}.25`,
  bounce_rate: (i % 100) / 100,
  active: i % 3 === 0,
}));

function* lines() {
  let chunk = '';
  for (const r of records) {
    chunk += `${r.id}\t${r.day}\t${r.channel}\t${r.campaign}\t${r.sessions}\t${r.revenue}\t${r.bounce_rate}\t${r.active ? 't' : 'f'}\n`;
    if (chunk.length > 262_144) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

/** All the rows in one raw COPY, in one transaction. */
async function copyAll(table) {
  await pipeline(
    Readable.from(lines()),
    client.query(pgCopy.from(`COPY ${SCHEMA}.${table} FROM STDIN`)),
  );
}

async function baselineCopy(table = 'baseline') {
  await client.query(ddl(table));
  const t0 = performance.now();
  await client.query('BEGIN');
  await copyAll(table);
  await client.query('COMMIT');
  return ROWS / ((performance.now() - t0) / 1000);
}

/**
 * The hand-written best practice for updating rows that all exist: the rows in one raw COPY into
 * a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO UPDATE, in one transaction.
 */
async function baselineStagedUpsert() {
  await client.query(ddl('baseline_update'));
  await copyAll('baseline_update');
  const others = columns
    .filter((c) => c.name !== 'id')
    .map((c) => `${c.name} = EXCLUDED.${c.name}`);
  const t0 = performance.now();
  await client.query('BEGIN');
  await client.query(
    `CREATE TEMPORARY TABLE stage (LIKE ${SCHEMA}.baseline_update) ON COMMIT DROP`,
  );
  await pipeline(Readable.from(lines()), client.query(pgCopy.from('COPY stage FROM STDIN')));
  await client.query(
    `INSERT INTO ${SCHEMA}.baseline_update SELECT * FROM stage ON CONFLICT (id) DO UPDATE SET ${others.join(', ')}`,
  );
  await client.query('COMMIT');
  return ROWS / ((performance.now() - t0) / 1000);
}

async function destination(
  mode,
  table,
  extra = {},
  { rows = ROWS, batch = BATCH, prefilled = false } = {},
) {
  await client.query(ddl(table));
  // Every key already in the table: the upsert updates each row.
  if (prefilled) await copyAll(table);
  const config = parseConfig(databaseDestination.configSchema, {
    dialect: 'postgres',
    url,
    table: `${SCHEMA}.${table}`,
    mode,
    ...(mode === 'upsert' ? { key: ['id'] } : {}),
    columns,
    maxBatch: batch,
    ...extra,
  });
  const instance = await databaseDestination.create(config, createPluginContext());
  await instance.open();
  const signal = new AbortController().signal;
  const t0 = performance.now();
  for (let start = 0, n = 0; start < rows; start += batch, n++) {
    const slice = records.slice(start, start + batch);
    // Record keys as the router sets them (the ledger keys a batch by its id and their digest).
    const recordKeys = slice.map(
      (r) => `bench-warehouse-r-3f9c0a21be-r${String(r.id).padStart(6, '0')}`,
    );
    await instance.write(
      {
        id: `bench-${n}`,
        records: slice,
        recordKeys,
        pipeline: 'bench',
        runId: 'r',
        source: 's',
        attempt: 1,
      },
      { signal },
    );
  }
  const perSecond = rows / ((performance.now() - t0) / 1000);
  await instance.close();
  return perSecond;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function report(bench, rate, baselineLabel, baselineRate, extra = {}) {
  console.log(
    JSON.stringify({
      bench,
      rows: ROWS,
      batch: BATCH,
      ...extra,
      records_per_s: Math.round(rate),
      baseline: baselineLabel,
      baseline_per_s: Math.round(baselineRate),
      ratio: Number((rate / baselineRate).toFixed(3)),
      rss_mb: Math.round(process.memoryUsage().rss / 1048576),
    }),
  );
}

try {
  // Each round measures the baseline beside the variants, so a machine whose load changes
  // during the run moves both sides of every ratio alike; medians of the rounds are reported.
  const baselines = [];
  const withLedger = [];
  const withoutLedger = [];
  const upserts = [];
  const variants = [
    async (round) => baselines.push(await baselineCopy(`baseline_${round}`)),
    async (round) => withLedger.push(await destination('insert', `dest_insert_${round}`)),
    async (round) =>
      withoutLedger.push(
        await destination('insert', `dest_insert_noledger_${round}`, { ledger: false }),
      ),
    async (round) => upserts.push(await destination('upsert', `dest_upsert_${round}`)),
  ];
  // The order turns each round, so no variant always runs after the others' WAL and checkpoints.
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < variants.length; i++) await variants[(round + i) % variants.length](round);
  }
  const baseline = median(baselines);
  const ledgerRate = median(withLedger);
  const plainRate = median(withoutLedger);
  report('destinations.database.postgres.insert', ledgerRate, 'raw pg COPY', baseline, {
    ledger: 'on',
    rounds: ROUNDS,
  });
  report(
    'destinations.database.postgres.insert_without_ledger',
    plainRate,
    'raw pg COPY',
    baseline,
    { ledger: 'off', rounds: ROUNDS },
  );
  report(
    'destinations.database.postgres.insert_ledger_cost',
    ledgerRate,
    'insert, ledger: false, same run',
    plainRate,
    {
      rounds: ROUNDS,
      batches: ROWS / BATCH,
    },
  );
  const small = { rows: SMALL_ROWS, batch: SMALL_BATCH };
  const smallWith = [];
  const smallWithout = [];
  for (let round = 0; round < ROUNDS; round++) {
    smallWith.push(await destination('insert', `dest_small_${round}`, {}, small));
    smallWithout.push(
      await destination('insert', `dest_small_noledger_${round}`, { ledger: false }, small),
    );
  }
  report(
    'destinations.database.postgres.insert_ledger_cost.small_batches',
    median(smallWith),
    'insert, ledger: false, same run',
    median(smallWithout),
    {
      rows: SMALL_ROWS,
      batch: SMALL_BATCH,
      rounds: ROUNDS,
      batches: SMALL_ROWS / SMALL_BATCH,
    },
  );
  report('destinations.database.postgres.upsert', median(upserts), 'raw pg COPY', baseline, {
    keys: 'new',
    rounds: ROUNDS,
  });
  report(
    'destinations.database.postgres.upsert.update',
    await destination('upsert', 'dest_upsert_update', {}, { prefilled: true }),
    'raw pg COPY into a temporary table + INSERT ... ON CONFLICT DO UPDATE',
    await baselineStagedUpsert(),
    { keys: 'existing' },
  );
} finally {
  await client.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
  await client.end();
}
