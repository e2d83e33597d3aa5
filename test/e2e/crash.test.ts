// Crash test through the real server process: uniquely numbered records (the sample connector's
// deterministic `seq`) flow source → router → PostgreSQL upsert + NDJSON files while the server
// is `kill -9`-ed at random moments and restarted. Afterwards every id must have arrived in the
// files, and PostgreSQL must hold exactly the source set — no row missing, none extra, none
// different. Duplicates per destination are measured and printed.
//
// CI size (default): SLUICE_CRASH_RECORDS=200000 SLUICE_CRASH_KILLS=1.
// Full size: `npm run test:crash:full` (1,000,000 records, 10 kills; see test/e2e/README.md).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleRecord } from '@sluice/connectors-sample';
import {
  createDatabase,
  dropDatabase,
  eventually,
  pgUrl,
  requireBuiltServer,
  sleep,
  startServer,
  tempDir,
  triggerRun,
  withPg,
  writeConfig,
  type ServerProcess,
} from './harness.js';

const RECORDS = Number(process.env.SLUICE_CRASH_RECORDS ?? 200_000);
const KILLS = Number(process.env.SLUICE_CRASH_KILLS ?? 1);
const ADMIN = 'crash-admin-key-0123456789';
const STORE_DB = `sluice_e2e_crash_store_${process.pid}`;
const WAREHOUSE_DB = `sluice_e2e_crash_${process.pid}`;
const SAMPLE = { seed: 42, channels: ['organic', 'paid', 'email', 'social', 'referral'], startDate: '2026-11-01' };

function config(out: string) {
  return `
store: { url: '${pgUrl(STORE_DB)}' }
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
logging: { level: info }
destinations:
  warehouse:
    kind: database
    dialect: postgres
    url: ${pgUrl(WAREHOUSE_DB)}
    table: numbered
    mode: upsert
    key: [seq]
    createTable: true
    columns:
      - { name: seq, type: bigint, primaryKey: true }
      - { name: date, type: date }
      - { name: channel, type: text }
      - { name: sessions, type: integer }
    batch: { maxRecords: 2000 }
  files:
    kind: file
    root: ${out}
    path: 'numbered/{{batch.id}}.ndjson'
    format: ndjson
    batch: { maxRecords: 2000 }
pipelines:
  numbered:
    source: { kind: sample, seed: ${SAMPLE.seed}, total: ${RECORDS}, perRun: ${RECORDS}, pageSize: 1000 }
    routes:
      - { name: everything, to: [warehouse, files] }
    # A killed server's run is taken over by the next instance once its heartbeat lapses;
    # pg-boss hands it over as a retry of the job, so the pipeline allows enough of them.
    retry: { maxAttempts: ${KILLS + 5}, initialDelayMs: 0, maxDelayMs: 1000 }
`;
}

async function warehouseCount(): Promise<number> {
  return withPg(WAREHOUSE_DB, async (c) => {
    const exists = await c.query(`SELECT to_regclass('public.numbered') AS t`);
    if (!exists.rows[0].t) return 0;
    return Number((await c.query('SELECT count(*)::int AS n FROM numbered')).rows[0].n);
  });
}

/** Lines per seq in every NDJSON file the file destination wrote. */
function fileCounts(dir: string): Uint16Array {
  const counts = new Uint16Array(RECORDS + 1);
  if (!existsSync(dir)) return counts;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.ndjson')) continue;
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!line) continue;
      const seq = (JSON.parse(line) as { seq: number }).seq;
      counts[seq] = (counts[seq] ?? 0) + 1;
    }
  }
  return counts;
}

describe(`kill -9 during a ${RECORDS.toLocaleString('en')}-record run (${KILLS} kill(s))`, () => {
  let server: ServerProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    requireBuiltServer();
    await createDatabase(STORE_DB);
    await createDatabase(WAREHOUSE_DB);
    dir = tempDir('crash');
  });

  afterAll(async () => {
    await server?.stop();
    await dropDatabase(STORE_DB);
    await dropDatabase(WAREHOUSE_DB);
  }, 60_000);

  it('delivers every id after every restart, and PostgreSQL holds exactly the source set', async () => {
    const out = join(dir, 'out');
    const path = writeConfig(dir, config(out));
    server = await startServer({ config: path, adminKey: ADMIN });
    await triggerRun(server, 'numbered');

    const killedAt: number[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      // Wait until this incarnation is moving records (after a restart: until it took the run
      // over), then kill it at a random moment of the next ~1.5 s.
      const before = await warehouseCount();
      if (before >= RECORDS) break;
      await eventually(async () => ((await warehouseCount()) > before ? true : undefined), 150_000, 'the run to make progress');
      await sleep(Math.floor(Math.random() * 1500));
      killedAt.push(await warehouseCount());
      await server.kill9();
      server = await startServer({ config: path, adminKey: ADMIN });
    }

    await eventually(
      async () => {
        const open = await server!.api<{ items: unknown[] }>('GET', '/api/v1/runs?pipeline=numbered&status=queued,running&limit=5');
        return open.body.items.length === 0 && (await warehouseCount()) === RECORDS ? true : undefined;
      },
      150_000 + RECORDS / 50,
      'every run to finish with every record in PostgreSQL',
    );

    // PostgreSQL: exactly the source set, row for row.
    const expected = createHash('md5');
    for (let seq = 1; seq <= RECORDS; seq++) {
      const r = sampleRecord(seq, SAMPLE);
      expected.update(`${seq}|${r.date}|${r.channel}|${r.sessions}\n`);
    }
    const actual = await withPg(WAREHOUSE_DB, async (c) => {
      const stats = (await c.query('SELECT count(*)::int AS n, count(DISTINCT seq)::int AS d, min(seq)::int AS lo, max(seq)::int AS hi FROM numbered')).rows[0];
      const hash = createHash('md5');
      // A server-side cursor would be overkill: rows are streamed in pages by seq.
      for (let from = 0; from < RECORDS; from += 100_000) {
        const page = await c.query(`SELECT seq, to_char(date, 'YYYY-MM-DD') AS date, channel, sessions FROM numbered WHERE seq > $1 AND seq <= $2 ORDER BY seq`, [from, from + 100_000]);
        for (const row of page.rows) hash.update(`${row.seq}|${row.date}|${row.channel}|${row.sessions}\n`);
      }
      return { ...stats, md5: hash.digest('hex') };
    });
    expect(actual).toEqual({ n: RECORDS, d: RECORDS, lo: 1, hi: RECORDS, md5: expected.digest('hex') });

    // Files: at-least-once — every id is there; re-deliveries after a crash are duplicates.
    const counts = fileCounts(join(out, 'numbered'));
    let missing = 0;
    let duplicates = 0;
    for (let seq = 1; seq <= RECORDS; seq++) {
      if (counts[seq] === 0) missing++;
      else duplicates += counts[seq]! - 1;
    }
    expect(missing).toBe(0);

    // No temporary file of an atomic write survives: one in flight at the kill is removed when
    // the restarted server opens the destination (file destination, atomic-file.ts).
    const leftovers = (readdirSync(out, { recursive: true }) as string[]).filter((name) => /(^|\/)\.[^/]+\.[0-9a-f]{12}\.tmp$/.test(name));
    expect(leftovers).toEqual([]);
    const sweptTempFiles = server.lines.filter((line) => line.includes('removed temporary files of interrupted atomic writes')).length;

    const runs = await server.api<{ items: { status: string; attempt: number }[] }>('GET', '/api/v1/runs?pipeline=numbered&limit=50');
    console.log(
      JSON.stringify({
        crash: { records: RECORDS, kills: killedAt.length, rowsAtKill: killedAt, postgresRows: actual.n, postgresDuplicates: actual.n - actual.d, fileDuplicates: duplicates, restartsThatRemovedTempFiles: sweptTempFiles, runs: runs.body.items.map((r) => `${r.status}#${r.attempt}`) },
      }),
    );
    expect(runs.body.items.every((r) => r.status === 'succeeded')).toBe(true);
  }, 900_000);
});
