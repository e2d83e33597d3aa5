// End to end through the reference server: records/s from the BigQuery wire fake to PostgreSQL
// (database destination, upsert) for 10k, 100k and 1M rows, each run triggered through the REST
// API of a real `sluice serve` child process whose store is PostgreSQL; and how wall time and the
// server's peak RSS (VmHWM from /proc) grow with the size. Every size gets a fresh server, so each
// peak RSS is that run's own.
//
// Same-run baseline for each size: plain fetch + JSON.parse of the same pages from the same fake,
// and a raw pg-copy-streams COPY of those rows, page by page, into an equivalent table
// (ratio = e2e records/s / baseline records/s).
//
// Sizes: E2E_BENCH_SIZES=10000,100000,1000000 (default). Needs PostgreSQL on 127.0.0.1:5432
// (user postgres, trust auth) and the built packages + apps/server/dist (`npm run bench` builds).
// Uses its own databases sluice_bench_e2e (tables) and sluice_bench_e2e_store (server store),
// dropped at the end.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import pgCopy from 'pg-copy-streams';
import { startFakeBigQuery, generateEventsTable } from '@sluice/testing/fakes';
import { startServe } from '../_serve.mjs';

const SIZES = (process.env.E2E_BENCH_SIZES ?? '10000,100000,1000000')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
const PAGE = 10_000;
const PG = 'postgres://postgres@127.0.0.1:5432';
const WAREHOUSE_DB = 'sluice_bench_e2e';
const STORE_DB = 'sluice_bench_e2e_store';
const KEY = 'bench-admin-key-0123456789';
const RUN_TIMEOUT_MS = 15 * 60 * 1000;

const COLUMNS = [
  { name: 'id', type: 'bigint', pg: 'bigint PRIMARY KEY' },
  { name: 'updated_at', type: 'timestamp', pg: 'timestamptz' },
  { name: 'name', type: 'text', pg: 'text' },
  { name: 'amount', type: 'numeric', pg: 'numeric' },
  { name: 'active', type: 'boolean', pg: 'boolean' },
  { name: 'day', type: 'date', pg: 'date' },
  { name: 'address', type: 'json', pg: 'jsonb' },
  { name: 'attrs', type: 'json', pg: 'jsonb' },
];
// No WHERE/ORDER BY: a full sync with upsert. The fake sorts by generating rows per comparison,
// which at 1M rows would measure the fake, not Sluice.
const QUERY = (table) => `SELECT ${COLUMNS.map((c) => c.name).join(', ')} FROM analytics.${table}`;
const tableOf = (n) => `events_${n}`;
const round = (n, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
const emit = (line) => process.stdout.write(JSON.stringify(line) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function adminQuery(sql) {
  const client = new pg.Client({ connectionString: `${PG}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function recreateDatabases() {
  for (const db of [WAREHOUSE_DB, STORE_DB]) {
    await adminQuery(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await adminQuery(`CREATE DATABASE ${db}`);
  }
}

function configYaml(fakeUrl, projectId) {
  const destinations = SIZES.map(
    (n) => `  pg_${n}:
    kind: database
    dialect: postgres
    url: ${PG}/${WAREHOUSE_DB}
    table: e2e_${n}
    mode: upsert
    key: [id]
    createTable: true
    columns:
${COLUMNS.map((c) => `      - { name: ${c.name}, type: ${c.type}${c.name === 'id' ? ', primaryKey: true' : ''} }`).join('\n')}
    batch: { maxRecords: ${PAGE} }`,
  ).join('\n');
  const pipelines = SIZES.map(
    (n) => `  bq_${n}:
    source:
      kind: bigquery
      projectId: ${projectId}
      apiEndpoint: ${fakeUrl}
      ssrf: { allow: [127.0.0.1] }
      credentials: { type: access-token, accessToken: '\${env:BENCH_BQ_TOKEN}' }
      query: "${QUERY(tableOf(n))}"
      pageSize: ${PAGE}
    routes:
      - { name: all, to: [pg_${n}] }`,
  ).join('\n');
  return `store:
  url: ${PG}/${STORE_DB}
server:
  apiKeys:
    - { name: bench, key: '\${env:BENCH_API_KEY}', scopes: [admin] }
  rateLimit: { perMinute: 100000 }
logging:
  level: info
destinations:
${destinations}
pipelines:
${pipelines}
`;
}

/** `sluice serve` with this bench's secrets in its environment (see ../_serve.mjs). */
function startServer(configPath) {
  return startServe(configPath, {
    METADATA_SERVER_DETECTION: 'none',
    BENCH_BQ_TOKEN: 'bench',
    BENCH_API_KEY: KEY,
  });
}

/** Peak and current resident set of a process, in MB. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { peakMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

async function api(server, path, init = {}) {
  const res = await fetch(`${server.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${KEY}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
    },
  });
  const body = await res.json();
  if (res.status >= 400)
    throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function endToEnd(fake, configPath, n) {
  let tS = performance.now();
  const server = await startServer(configPath);
  if (process.env.E2E_BENCH_DEBUG)
    console.error(`server start ${Math.round(performance.now() - tS)} ms`);
  try {
    const idle = memoryOf(server.child.pid);
    const t0 = performance.now();
    const { runId } = await api(server, `/api/v1/pipelines/bq_${n}/runs`, {
      method: 'POST',
      body: '{}',
    });
    let run;
    for (;;) {
      run = await api(server, `/api/v1/runs/${runId}`);
      if (['succeeded', 'failed', 'cancelled'].includes(run.status)) break;
      if (performance.now() - t0 > RUN_TIMEOUT_MS)
        throw new Error(`run of ${n} rows did not finish in ${RUN_TIMEOUT_MS / 60000} min`);
      await sleep(n <= 10_000 ? 20 : 100);
    }
    const wallMs = performance.now() - t0;
    const memory = memoryOf(server.child.pid);
    if (run.status !== 'succeeded') {
      const logs = await api(server, `/api/v1/runs/${runId}/logs?limit=50`).catch(() => ({
        items: [],
      }));
      throw new Error(
        `run of ${n} rows ${run.status} after ${Math.round(wallMs)} ms: ${JSON.stringify(run)}\n${logs.items.map((l) => JSON.stringify(l)).join('\n')}`,
      );
    }
    const runMs = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
    return { wallMs, runMs, counts: run.counts, idleMb: idle.rssMb, peakMb: memory.peakMb };
  } finally {
    tS = performance.now();
    await server.stop();
    if (process.env.E2E_BENCH_DEBUG)
      console.error(`server stop ${Math.round(performance.now() - tS)} ms`);
  }
}

// ---- baseline: fetch + JSON.parse of the same pages, raw COPY of the same rows -----------------

const copyText = (v) => {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
};

/** BigQuery wire rows ({ f: [{ v }] }) to COPY text, converting the types the way a loader must. */
function* copyLines(rows) {
  let chunk = '';
  for (const row of rows) {
    const [id, updatedAt, name, amount, active, day, address, attrs] = row.f.map((c) => c.v);
    const ts =
      updatedAt === null ? null : new Date(Number(BigInt(updatedAt) / 1000n)).toISOString();
    const addr =
      address === null
        ? null
        : {
            city: address.f[0].v,
            zip: address.f[1].v,
            geo: address.f[2].v && {
              lat: Number(address.f[2].v.f[0].v),
              lon: Number(address.f[2].v.f[1].v),
            },
          };
    chunk +=
      [id, ts, name, amount, active, day, addr, attrs === null ? null : JSON.parse(attrs)]
        .map(copyText)
        .join('\t') + '\n';
    if (chunk.length > 262_144) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

async function baseline(fake, n) {
  const client = new pg.Client({ connectionString: `${PG}/${WAREHOUSE_DB}` });
  await client.connect();
  try {
    const table = `baseline_${n}`;
    await client.query(
      `CREATE TABLE ${table} (${COLUMNS.map((c) => `${c.name} ${c.pg}`).join(', ')})`,
    );
    const headers = { authorization: 'Bearer bench', 'content-type': 'application/json' };
    const base = `${fake.url}/bigquery/v2/projects/${fake.projectId}/queries`;
    const copyPage = async (rows) => {
      if (!rows?.length) return 0;
      await pipeline(
        Readable.from(copyLines(rows)),
        client.query(pgCopy.from(`COPY ${table} FROM STDIN`)),
      );
      return rows.length;
    };
    const t0 = performance.now();
    const first = JSON.parse(
      await (
        await fetch(base, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            query: QUERY(tableOf(n)),
            useLegacySql: false,
            maxResults: PAGE,
            formatOptions: { useInt64Timestamp: true },
          }),
        })
      ).text(),
    );
    let rows = await copyPage(first.rows);
    let token = first.pageToken;
    while (token) {
      const page = JSON.parse(
        await (
          await fetch(`${base}/${first.jobReference.jobId}?maxResults=${PAGE}&pageToken=${token}`, {
            headers,
          })
        ).text(),
      );
      rows += await copyPage(page.rows);
      token = page.pageToken;
    }
    const ms = performance.now() - t0;
    const {
      rows: [{ count }],
    } = await client.query(`SELECT count(*)::int AS count FROM ${table}`);
    if (count !== n) throw new Error(`baseline copied ${count} of ${n} rows`);
    await client.query(`DROP TABLE ${table}`);
    return { rows, ms };
  } finally {
    await client.end();
  }
}

async function countRows(n) {
  const client = new pg.Client({ connectionString: `${PG}/${WAREHOUSE_DB}` });
  await client.connect();
  try {
    const {
      rows: [{ count }],
    } = await client.query(`SELECT count(*)::int AS count FROM e2e_${n}`);
    await client.query(`DROP TABLE e2e_${n}`);
    return count;
  } finally {
    await client.end();
  }
}

// ---- main -----------------------------------------------------------------------------------------

const fake = await startFakeBigQuery({
  tables: Object.fromEntries(
    SIZES.map((n) => [`analytics.${tableOf(n)}`, generateEventsTable({ rows: n })]),
  ),
});
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-e2e-'));
const configPath = join(dir, 'sluice.yaml');
writeFileSync(configPath, configYaml(fake.url, fake.projectId));
const figures = [];
try {
  await recreateDatabases();
  // Warm-up (not reported): the first server start of a fresh store migrates it, and the fake's
  // and pg's code paths get compiled once.
  await baseline(fake, SIZES[0]);
  for (const n of SIZES) {
    const base = await baseline(fake, n);
    const e2e = await endToEnd(fake, configPath, n);
    const stored = await countRows(n);
    if (stored !== n)
      throw new Error(
        `end to end stored ${stored} of ${n} rows (counts ${JSON.stringify(e2e.counts)})`,
      );
    const perS = Math.round((n / e2e.wallMs) * 1000);
    const basePerS = Math.round((base.rows / base.ms) * 1000);
    const line = {
      bench: `e2e.bigquery_to_postgres.${n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`}`,
      records: n,
      records_per_s: perS,
      run_records_per_s: Math.round((n / e2e.runMs) * 1000),
      wall_s: round(e2e.wallMs / 1000, 2),
      baseline: 'fetch+JSON.parse of the same pages, raw pg COPY of the same rows',
      baseline_per_s: basePerS,
      baseline_s: round(base.ms / 1000, 2),
      ratio: +(perS / basePerS).toFixed(3),
      peak_rss_mb: round(e2e.peakMb),
      idle_rss_mb: round(e2e.idleMb),
      store: 'postgresql',
    };
    figures.push(line);
    emit(line);
  }
  if (figures.length > 1) {
    const [first, last] = [figures[0], figures.at(-1)];
    const grow = last.records / first.records;
    emit({
      bench: 'e2e.bigquery_to_postgres.time_growth',
      records: `${first.records} -> ${last.records}`,
      time_growth: round(last.wall_s / first.wall_s, 2),
      baseline: `linear in records (x${grow})`,
      baseline_time_growth: grow,
      ratio: +(last.wall_s / first.wall_s / grow).toFixed(3),
    });
    emit({
      bench: 'e2e.bigquery_to_postgres.peak_rss_growth',
      records: `${first.records} -> ${last.records}`,
      peak_rss_mb: last.peak_rss_mb,
      baseline: `server peak RSS at ${first.records} records`,
      baseline_peak_rss_mb: first.peak_rss_mb,
      ratio: +(last.peak_rss_mb / first.peak_rss_mb).toFixed(3),
    });
  }
} finally {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
  for (const db of [WAREHOUSE_DB, STORE_DB])
    await adminQuery(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
}
