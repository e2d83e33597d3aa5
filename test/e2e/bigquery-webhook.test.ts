// Flagship scenario: a BigQuery query of 100,000 rows, started by a signed webhook (Standard
// Webhooks), into NDJSON files — through the real server process, the official
// @google-cloud/bigquery SDK talking to the @sluice/testing BigQuery fake over loopback.
// Invalid, stale and replayed signatures are refused and start nothing.
//
// The issue also asks for an email digest of this run: the email destination is not registered
// in the server yet (apps/server/src/runtime/plugins.ts), see test/e2e/README.md.
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEventsTable, startFakeBigQuery, type FakeBigQuery } from '@sluice/testing';
import { requireBuiltServer, startServer, tempDir, waitForRun, writeConfig, type ServerProcess } from './harness.js';

const ROWS = Number(process.env.SLUICE_E2E_BIGQUERY_ROWS ?? 100_000);
const ADMIN = 'bq-admin-key-0123456789';
const SECRET = `whsec_${Buffer.from('e2e-bigquery-webhook-secret').toString('base64')}`;

function sign(id: string, timestamp: number, body: string, secret = SECRET) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

describe(`BigQuery (${ROWS.toLocaleString('en')} rows) → NDJSON, triggered by a signed webhook`, () => {
  let fake: FakeBigQuery;
  let server: ServerProcess;
  let out: string;

  beforeAll(async () => {
    requireBuiltServer();
    fake = await startFakeBigQuery({ projectId: 'e2e-project', tables: { 'shop.events': generateEventsTable({ rows: ROWS, seed: 11 }) } });
    const dir = tempDir('bigquery');
    out = join(dir, 'out');
    const config = writeConfig(
      dir,
      `
store: { dataDir: ${join(dir, 'data')} }
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
connections:
  warehouse-bq:
    kind: bigquery
    projectId: e2e-project
    apiEndpoint: ${fake.url}
    credentials: { type: access-token, accessToken: '\${env:E2E_BQ_TOKEN}' }
destinations:
  exports:
    kind: file
    root: ${out}
    path: 'events/{{batch.id}}.ndjson'
    format: ndjson
    batch: { maxRecords: 10000 }
pipelines:
  events-export:
    source:
      connection: warehouse-bq
      query: SELECT id, updated_at, name, amount, score, active, day, tags FROM shop.events ORDER BY id
      pageSize: 20000
    webhook: { verify: standard-webhooks, secret: '\${env:E2E_WEBHOOK_SECRET}' }
    routes:
      - { name: all, to: [exports] }
`,
    );
    server = await startServer({ config, adminKey: ADMIN, env: { E2E_BQ_TOKEN: 'e2e-token', E2E_WEBHOOK_SECRET: SECRET } });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await fake?.close();
  }, 60_000);

  const post = (headers: Record<string, string>, body: string) =>
    fetch(`${server.url}/webhooks/events-export`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('refuses a delivery signed with the wrong secret, and one without a signature', async () => {
    const body = JSON.stringify({ reason: 'nightly export' });
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    const wrong = await post({ 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': sign(id, ts, body, `whsec_${Buffer.from('not-the-secret').toString('base64')}`) }, body);
    expect(wrong.status).toBe(401);
    const tampered = await post({ 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': sign(id, ts, body) }, body.replace('nightly', 'hourly'));
    expect(tampered.status).toBe(401);
    const stale = ts - 3600;
    expect((await post({ 'webhook-id': id, 'webhook-timestamp': String(stale), 'webhook-signature': sign(id, stale, body) }, body)).status).toBe(401);
    expect((await post({}, body)).status).toBe(400);
    const runs = await server.api<{ items: unknown[] }>('GET', '/api/v1/runs?pipeline=events-export');
    expect(runs.body.items).toEqual([]);
    expect(fake.requests.filter((r) => r.operation === 'query' || r.operation === 'insertJob')).toEqual([]);
  });

  it('runs the query on a valid signature and writes every row once; the replayed delivery is refused', async () => {
    const body = JSON.stringify({ reason: 'nightly export' });
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': sign(id, ts, body) };
    const accepted = await post(headers, body);
    expect(accepted.status).toBe(202);
    const { runId } = (await accepted.json()) as { runId: string };
    const replayed = await post(headers, body);
    expect(replayed.status).toBe(409);

    const run = await waitForRun(server, runId, 180_000);
    expect(run).toMatchObject({ status: 'succeeded', trigger: 'webhook', counts: { read: ROWS, delivered: ROWS, deadLettered: 0 } });

    const dir = join(out, 'events');
    const ids = new Set<number>();
    let lines = 0;
    let sample: Record<string, unknown> | undefined;
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
        if (!line) continue;
        const row = JSON.parse(line) as Record<string, unknown>;
        sample ??= row;
        ids.add(row.id as number);
        lines++;
      }
    }
    expect(ids.size).toBe(ROWS);
    console.log(JSON.stringify({ bigquery: { rows: ROWS, fileLines: lines, fileDuplicates: lines - ids.size } }));
    expect(lines).toBe(ROWS);
    // Lossless typing through the SDK: NUMERIC as a decimal string, TIMESTAMP as ISO, REPEATED as an array.
    expect(sample).toMatchObject({ id: expect.any(Number), updated_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/), tags: expect.any(Array) });
    const all = await server.api<{ items: { id: string }[] }>('GET', '/api/v1/runs?pipeline=events-export');
    expect(all.body.items.map((r) => r.id)).toEqual([runId]);
  }, 240_000);
});
