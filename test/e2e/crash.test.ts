// Crash test through the real server process: uniquely numbered records (the sample connector's
// deterministic `seq`) flow source → router → every destination kind that writes records while
// the server is `kill -9`-ed at random moments and restarted: PostgreSQL upsert and insert (with
// the delivery ledger), NDJSON files per batch and appended to one file, S3 objects (s3rver), a
// webhook receiver that de-duplicates on nothing (it counts every request) and e-mail digests
// (smtp-server, every message counted). Afterwards (issue 18): PostgreSQL, files and S3 hold
// exactly the source set — 0 lost, 0 duplicates. Webhook and e-mail: 0 lost, and a repeat only of
// what was in flight at a kill (a request or message the receiver kept although the sender died
// before the reply: no protocol lets the sender know), always under the id of its first copy
// (webhook-id, Message-ID) so a receiver de-duplicating on it gets each record once. The counts
// are printed.
//
// CI size (default): SLUICE_CRASH_RECORDS=200000 SLUICE_CRASH_KILLS=1.
// Full size: `npm run test:crash:full` (1,000,000 records, 10 kills; see test/e2e/README.md).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
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
import { S3_CREDENTIALS, startS3, type S3Server } from './services.js';

const RECORDS = Number(process.env.SLUICE_CRASH_RECORDS ?? 200_000);
const KILLS = Number(process.env.SLUICE_CRASH_KILLS ?? 1);
const ADMIN = 'crash-admin-key-0123456789';
const STORE_DB = `sluice_e2e_crash_store_${process.pid}`;
const WAREHOUSE_DB = `sluice_e2e_crash_${process.pid}`;
const SAMPLE = {
  seed: 42,
  channels: ['organic', 'paid', 'email', 'social', 'referral'],
  startDate: '2026-11-01',
};

/** Where the test's own receivers listen. */
interface Sinks {
  s3: S3Server;
  hookUrl: string;
  smtpPort: number;
}

function config(out: string, sinks: Sinks) {
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
  inserted:
    kind: database
    dialect: postgres
    url: ${pgUrl(WAREHOUSE_DB)}
    table: numbered_insert
    mode: insert
    createTable: true
    columns:
      - { name: seq, type: bigint }
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
  appended:
    kind: file
    root: ${out}
    path: 'appended/all.ndjson'
    mode: append
    format: ndjson
    batch: { maxRecords: 2000 }
  objects:
    kind: s3
    bucket: crash
    region: us-east-1
    endpoint: ${sinks.s3.endpoint}
    ssrf: { allow: [127.0.0.1] }
    credentials: { accessKeyId: ${S3_CREDENTIALS.accessKeyId}, secretAccessKey: '\${env:E2E_S3_SECRET}' }
    prefix: numbered/
    format: ndjson
    maxBatch: 2000
    batch: { maxRecords: 2000 }
  hooks:
    kind: webhook
    url: ${sinks.hookUrl}/in
    mode: batch
    ssrf: { allow: [127.0.0.1] }
    maxBatch: 2000
    batch: { maxRecords: 2000 }
  mail:
    kind: email
    smtp: { host: 127.0.0.1, port: ${sinks.smtpPort}, startTls: disabled }
    ssrf: { allow: [127.0.0.1] }
    from: 'Sluice Crash <crash@sluice.test>'
    to: data-team@sluice.test
    mode: digest
    subject: '{{ count }} rows'
    text: '{{ count }} rows attached'
    attachment: { format: ndjson }
    maxBatch: 2000
    batch: { maxRecords: 2000 }
pipelines:
  numbered:
    source: { kind: sample, seed: ${SAMPLE.seed}, total: ${RECORDS}, perRun: ${RECORDS}, pageSize: 1000 }
    routes:
      - { name: everything, to: [warehouse, inserted, files, appended, objects, hooks, mail] }
    # A killed server's run is taken over by the next instance once its heartbeat lapses;
    # pg-boss hands it over as a retry of the job, so the pipeline allows enough of them.
    retry: { maxAttempts: ${KILLS + 5}, initialDelayMs: 0, maxDelayMs: 1000 }
`;
}

async function warehouseCount(table = 'numbered'): Promise<number> {
  return withPg(WAREHOUSE_DB, async (c) => {
    const exists = await c.query(`SELECT to_regclass('public.${table}') AS t`);
    if (!exists.rows[0].t) return 0;
    return Number((await c.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);
  });
}

/** How often each seq arrived at one destination. */
class Arrivals {
  readonly counts = new Uint16Array(RECORDS + 1);
  /** Lines (or records) that are not one of the source's seqs. */
  foreign = 0;
  add(seq: unknown): void {
    if (typeof seq === 'number' && Number.isInteger(seq) && seq >= 1 && seq <= RECORDS)
      this.counts[seq]!++;
    else this.foreign++;
  }
  addNdjson(text: string): void {
    for (const line of text.split('\n'))
      if (line) this.add((JSON.parse(line) as { seq?: unknown }).seq);
  }
  /** Lost: never arrived; duplicates: arrivals beyond the first. */
  tally(): { lost: number; duplicates: number; foreign: number } {
    let lost = 0;
    let duplicates = 0;
    for (let seq = 1; seq <= RECORDS; seq++) {
      if (this.counts[seq] === 0) lost++;
      else duplicates += this.counts[seq]! - 1;
    }
    return { lost, duplicates, foreign: this.foreign };
  }
}

/** Lines per seq in every NDJSON file under `dir` (recursively). */
function fileArrivals(dir: string): Arrivals {
  const arrivals = new Arrivals();
  if (!existsSync(dir)) return arrivals;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    if (name.endsWith('.ndjson')) arrivals.addNdjson(readFileSync(join(dir, name), 'utf8'));
  }
  return arrivals;
}

/** What a counting receiver got: every message, and those that repeated the id of an earlier one. */
interface Counted {
  arrivals: Arrivals;
  messages: number;
  ids: Set<string>;
  /** Messages whose id (webhook-id, Message-ID) came before, and the records in them. */
  repeats: { messages: number; records: number };
}

function countMessage(state: Counted, id: string | undefined, seqs: unknown[]): void {
  state.messages++;
  if (id !== undefined && state.ids.has(id)) {
    state.repeats.messages++;
    state.repeats.records += seqs.length;
  }
  if (id !== undefined) state.ids.add(id);
  for (const seq of seqs) state.arrivals.add(seq);
}

const counted = (): Counted => ({
  arrivals: new Arrivals(),
  messages: 0,
  ids: new Set(),
  repeats: { messages: 0, records: 0 },
});

/** A webhook receiver that de-duplicates on nothing: every request and every record in it counts. */
async function startCountingReceiver(): Promise<Counted & { url: string; close(): Promise<void> }> {
  const state = { url: '', ...counted(), close: async () => {} };
  const server: Server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const records = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { seq?: unknown }[];
      countMessage(
        state,
        req.headers['idempotency-key'] as string | undefined,
        records.map((r) => r.seq),
      );
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

/** An SMTP server that counts every message it kept and the records of its NDJSON attachment. */
async function startCountingSmtp(): Promise<Counted & { port: number; close(): Promise<void> }> {
  const state = { port: 0, ...counted(), close: async () => {} };
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 64 * 1024 * 1024,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const seqs = mail.attachments.flatMap((a) =>
            a.content
              .toString('utf8')
              .split('\n')
              .filter(Boolean)
              .map((line) => (JSON.parse(line) as { seq?: unknown }).seq),
          );
          countMessage(state, mail.messageId, seqs);
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  smtp.on('error', () => undefined);
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  state.port = (smtp.server.address() as AddressInfo).port;
  state.close = () => new Promise<void>((resolve) => smtp.close(() => resolve()));
  return state;
}

describe(`kill -9 during a ${RECORDS.toLocaleString('en')}-record run (${KILLS} kill(s))`, () => {
  let server: ServerProcess | undefined;
  let dir: string;
  let s3: S3Server;
  let hooks: Awaited<ReturnType<typeof startCountingReceiver>>;
  let smtp: Awaited<ReturnType<typeof startCountingSmtp>>;

  beforeAll(async () => {
    requireBuiltServer();
    await createDatabase(STORE_DB);
    await createDatabase(WAREHOUSE_DB);
    dir = tempDir('crash');
    [s3, hooks, smtp] = await Promise.all([
      startS3(['crash']),
      startCountingReceiver(),
      startCountingSmtp(),
    ]);
  });

  afterAll(async () => {
    await server?.stop();
    await Promise.all([s3?.close(), hooks?.close(), smtp?.close()]);
    await dropDatabase(STORE_DB);
    await dropDatabase(WAREHOUSE_DB);
  }, 60_000);

  it('delivers every id after every restart, and PostgreSQL holds exactly the source set', async () => {
    const out = join(dir, 'out');
    const path = writeConfig(dir, config(out, { s3, hookUrl: hooks.url, smtpPort: smtp.port }));
    const env = { E2E_S3_SECRET: S3_CREDENTIALS.secretAccessKey };
    server = await startServer({ config: path, adminKey: ADMIN, env });
    await triggerRun(server, 'numbered');

    const killedAt: number[] = [];
    for (let kill = 1; kill <= KILLS; kill++) {
      // Wait until this incarnation is moving records (after a restart: until it took the run
      // over), then kill it at a random moment of the next ~1.5 s.
      const before = await warehouseCount();
      if (before >= RECORDS) break;
      await eventually(
        async () => ((await warehouseCount()) > before ? true : undefined),
        150_000,
        'the run to make progress',
      );
      await sleep(Math.floor(Math.random() * 1500));
      killedAt.push(await warehouseCount());
      await server.kill9();
      server = await startServer({ config: path, adminKey: ADMIN, env });
    }

    await eventually(
      async () => {
        const open = await server!.api<{ items: unknown[] }>(
          'GET',
          '/api/v1/runs?pipeline=numbered&status=queued,running&limit=5',
        );
        return open.body.items.length === 0 && (await warehouseCount()) === RECORDS
          ? true
          : undefined;
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
      const stats = (
        await c.query(
          'SELECT count(*)::int AS n, count(DISTINCT seq)::int AS d, min(seq)::int AS lo, max(seq)::int AS hi FROM numbered',
        )
      ).rows[0];
      const hash = createHash('md5');
      // A server-side cursor would be overkill: rows are streamed in pages by seq.
      for (let from = 0; from < RECORDS; from += 100_000) {
        const page = await c.query(
          `SELECT seq, to_char(date, 'YYYY-MM-DD') AS date, channel, sessions FROM numbered WHERE seq > $1 AND seq <= $2 ORDER BY seq`,
          [from, from + 100_000],
        );
        for (const row of page.rows)
          hash.update(`${row.seq}|${row.date}|${row.channel}|${row.sessions}\n`);
      }
      return { ...stats, md5: hash.digest('hex') };
    });
    expect(actual).toEqual({
      n: RECORDS,
      d: RECORDS,
      lo: 1,
      hi: RECORDS,
      md5: expected.digest('hex'),
    });

    // Every other destination kind: 0 lost, 0 duplicates (issue 18).
    const inserted = await withPg(WAREHOUSE_DB, async (c) => {
      const arrivals = new Arrivals();
      for (let from = 0; from < RECORDS; from += 100_000) {
        const page = await c.query(
          'SELECT seq::int AS seq FROM numbered_insert WHERE seq > $1 AND seq <= $2',
          [from, from + 100_000],
        );
        for (const row of page.rows) arrivals.add(row.seq);
      }
      return arrivals;
    });
    const objects = new Arrivals();
    for (const key of await s3.list('crash', 'numbered/'))
      objects.addNdjson(await s3.read('crash', key));
    const exact = {
      postgresInsert: inserted.tally(),
      filesPerBatch: fileArrivals(join(out, 'numbered')).tally(),
      fileAppended: fileArrivals(join(out, 'appended')).tally(),
      s3: objects.tally(),
    };
    const receivers = {
      webhook: { ...hooks.arrivals.tally(), requests: hooks.messages, repeatedIds: hooks.repeats },
      email: { ...smtp.arrivals.tally(), messages: smtp.messages, repeatedIds: smtp.repeats },
    };

    // No temporary file of an atomic write survives: one in flight at the kill is removed when
    // the restarted server opens the destination (file destination, atomic-file.ts).
    const leftovers = (readdirSync(out, { recursive: true }) as string[]).filter((name) =>
      /(^|\/)\.[^/]+\.[0-9a-f]{12}\.tmp$/.test(name),
    );
    expect(leftovers).toEqual([]);
    const sweptTempFiles = server.lines.filter((line) =>
      line.includes('removed temporary files of interrupted atomic writes'),
    ).length;

    const runs = await server.api<{ items: { status: string; attempt: number }[] }>(
      'GET',
      '/api/v1/runs?pipeline=numbered&limit=50',
    );
    console.log(
      JSON.stringify({
        crash: {
          records: RECORDS,
          kills: killedAt.length,
          rowsAtKill: killedAt,
          postgresUpsertRows: actual.n,
          postgresUpsertDuplicates: actual.n - actual.d,
          ...exact,
          ...receivers,
          restartsThatRemovedTempFiles: sweptTempFiles,
          runs: runs.body.items.map((r) => `${r.status}#${r.attempt}`),
        },
      }),
    );
    expect(runs.body.items.every((r) => r.status === 'succeeded')).toBe(true);
    for (const [destination, tally] of Object.entries(exact))
      expect({ destination, ...tally }).toEqual({
        destination,
        lost: 0,
        duplicates: 0,
        foreign: 0,
      });
    // Webhook (2 requests in flight at most) and e-mail (1): every repeat is the in-flight message
    // of a kill, under the id of its first copy.
    for (const [destination, r, inFlight] of [
      ['webhook', receivers.webhook, 2],
      ['email', receivers.email, 1],
    ] as const) {
      expect({
        destination,
        lost: r.lost,
        foreign: r.foreign,
        duplicatesUnderNewIds: r.duplicates - r.repeatedIds.records,
      }).toEqual({ destination, lost: 0, foreign: 0, duplicatesUnderNewIds: 0 });
      expect(
        r.repeatedIds.messages,
        `${destination}: repeats beyond what a kill had in flight`,
      ).toBeLessThanOrEqual(killedAt.length * inFlight);
    }
  }, 900_000);
});
