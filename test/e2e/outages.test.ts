// Destination outages through the real server process: PostgreSQL unreachable (a TCP proxy the
// test controls cuts it off — the shared PostgreSQL server itself is never stopped), a webhook
// target answering 500 then 429, and S3 down. Each ends in retries, then dead letters; the run
// itself succeeds and its checkpoint moves on. After recovery, replaying the dead letters
// through the API completes the data in every destination. Duplicates per destination are
// measured and printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  listDeadLetters,
  pgUrl,
  requireBuiltServer,
  startServer,
  tempDir,
  triggerRun,
  waitForRun,
  withPg,
  writeConfig,
  type ServerProcess,
} from './harness.js';
import {
  S3_CREDENTIALS,
  receivedRecords,
  startReceiver,
  startS3,
  startTcpProxy,
  type Receiver,
  type S3Server,
  type TcpProxy,
} from './services.js';

const ADMIN = 'outage-admin-key-0123456789';
const STORE_DB = `sluice_e2e_outage_store_${process.pid}`;
const WAREHOUSE_DB = `sluice_e2e_outage_${process.pid}`;
const PER_RUN = 300;
const RETRY = '{ maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 300 }';

function config(opts: { pgPort: number; hook: string; s3: string }) {
  return `
store: { url: '${pgUrl(STORE_DB)}' }
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
destinations:
  warehouse:
    kind: database
    dialect: postgres
    url: postgres://postgres@127.0.0.1:${opts.pgPort}/${WAREHOUSE_DB}
    table: traffic
    mode: upsert
    key: [seq]
    createTable: true
    columns:
      - { name: seq, type: bigint, primaryKey: true }
      - { name: channel, type: text }
      - { name: sessions, type: integer }
    batch: { maxRecords: 100 }
    retry: ${RETRY}
  hook:
    kind: webhook
    url: ${opts.hook}/ingest
    mode: batch
    ssrf: { allow: [127.0.0.1] }
    batch: { maxRecords: 100 }
    retry: ${RETRY}
  lake:
    kind: s3
    bucket: lake
    region: us-east-1
    endpoint: ${opts.s3}
    ssrf: { allow: [127.0.0.1] }
    credentials: { accessKeyId: ${S3_CREDENTIALS.accessKeyId}, secretAccessKey: '\${env:E2E_S3_SECRET}' }
    prefix: traffic/
    format: ndjson
    batch: { maxRecords: 100 }
    retry: ${RETRY}
pipelines:
  traffic:
    source: { kind: sample, perRun: ${PER_RUN}, pageSize: 100 }
    routes:
      - { name: everything, to: [warehouse, hook, lake] }
`;
}

describe('destination outages end in dead letters, and replaying them completes the data', () => {
  let server: ServerProcess;
  let proxy: TcpProxy;
  let s3: S3Server;
  let s3Proxy: TcpProxy;
  let receiver: Receiver;

  beforeAll(async () => {
    requireBuiltServer();
    await createDatabase(STORE_DB);
    await createDatabase(WAREHOUSE_DB);
    proxy = await startTcpProxy(5432);
    s3 = await startS3(['lake']);
    s3Proxy = await startTcpProxy(s3.port);
    receiver = await startReceiver();
    const dir = tempDir('outage');
    server = await startServer({
      config: writeConfig(
        dir,
        config({ pgPort: proxy.port, hook: receiver.url, s3: `http://127.0.0.1:${s3Proxy.port}` }),
      ),
      adminKey: ADMIN,
      env: { E2E_S3_SECRET: S3_CREDENTIALS.secretAccessKey },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await Promise.all([proxy?.close(), s3Proxy?.close(), receiver?.close()]);
    await s3?.close();
    await dropDatabase(STORE_DB);
    await dropDatabase(WAREHOUSE_DB);
  }, 60_000);

  /** The idempotency keys of the webhook batches that failed into dead letters. */
  let failedKeys = new Set<string>();

  async function s3Seqs(): Promise<number[]> {
    const seqs: number[] = [];
    for (const key of await s3.list('lake', 'traffic/')) {
      for (const line of (await s3.read('lake', key)).split('\n'))
        if (line) seqs.push((JSON.parse(line) as { seq: number }).seq);
    }
    return seqs;
  }

  it('delivers a healthy run to every destination', async () => {
    const run = await waitForRun(server, await triggerRun(server, 'traffic'));
    expect(run).toMatchObject({
      status: 'succeeded',
      counts: { read: PER_RUN, delivered: 3 * PER_RUN, deadLettered: 0 },
    });
  });

  it('retries, then dead-letters, while PostgreSQL is unreachable, the webhook answers 500/429 and S3 is down', async () => {
    proxy.down();
    s3Proxy.down();
    // The webhook target answers 500 to the first tries, then 429 with Retry-After.
    receiver.script = [500, 500, 500, 500];
    receiver.status = 429;
    receiver.retryAfter = 0;
    const before = receiver.requests.length;
    const run = await waitForRun(server, await triggerRun(server, 'traffic'), 120_000);
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ read: PER_RUN, delivered: 0, deadLettered: 3 * PER_RUN });
    const letters = await listDeadLetters(server, { pipeline: 'traffic', status: 'pending' });
    for (const destination of ['warehouse', 'hook', 'lake']) {
      expect(
        letters.filter((l) => l.destination === destination),
        destination,
      ).toHaveLength(PER_RUN);
    }
    // Every failed batch was tried 3 times (maxAttempts) before it became dead letters.
    const failedRequests = receiver.requests.slice(before);
    expect(failedRequests.length).toBe((PER_RUN / 100) * 3);
    expect(failedRequests.map((r) => r.status)).toEqual([
      500, 500, 500, 500, 429, 429, 429, 429, 429,
    ]);
    expect(new Set(failedRequests.map((r) => r.headers['idempotency-key'])).size).toBe(
      PER_RUN / 100,
    );
    failedKeys = new Set(failedRequests.map((r) => String(r.headers['idempotency-key'])));
  }, 150_000);

  it('completes every destination when the dead letters are replayed after recovery', async () => {
    proxy.up();
    s3Proxy.up();
    receiver.status = 200;
    const beforeReplay = receiver.requests.length;
    const replay = await server.api<{ runs: { runId: string }[] }>(
      'POST',
      '/api/v1/dead-letters/replay',
      { pipeline: 'traffic' },
    );
    expect(replay.status).toBe(202);
    for (const { runId } of replay.body.runs)
      expect((await waitForRun(server, runId, 120_000)).status).toBe('succeeded');
    expect(await listDeadLetters(server, { pipeline: 'traffic', status: 'pending' })).toEqual([]);
    // The replay sends each failed batch again as the batch it was, under its first idempotency
    // key / webhook-id (dead letters keep their source positions: issue 16, 18).
    expect(
      new Set(
        receiver.requests.slice(beforeReplay).map((r) => String(r.headers['idempotency-key'])),
      ),
    ).toEqual(failedKeys);

    const expected = Array.from({ length: 2 * PER_RUN }, (_, i) => i + 1);
    const rows = await withPg(WAREHOUSE_DB, async (c) =>
      (await c.query<{ seq: string }>('SELECT seq FROM traffic ORDER BY seq')).rows.map((r) =>
        Number(r.seq),
      ),
    );
    expect(rows).toEqual(expected);
    const hooked = receivedRecords(receiver).map((r) => r.seq as number);
    expect([...new Set(hooked)].sort((a, b) => a - b)).toEqual(expected);
    const lake = await s3Seqs();
    expect([...new Set(lake)].sort((a, b) => a - b)).toEqual(expected);
    const duplicates = {
      warehouse: 0,
      hook: hooked.length - new Set(hooked).size,
      lake: lake.length - new Set(lake).size,
    };
    console.log(JSON.stringify({ outages: { records: 2 * PER_RUN, duplicates } }));
    expect(duplicates).toEqual({ warehouse: 0, hook: 0, lake: 0 });
  }, 150_000);
});
