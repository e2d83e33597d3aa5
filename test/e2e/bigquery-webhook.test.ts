// Flagship scenario: a BigQuery query of 100,000 rows, started by a signed webhook (Standard
// Webhooks), into NDJSON files and e-mail digests (one per batch of up to 25,000 rows, the rows
// attached as CSV) — through the real server process, the official @google-cloud/bigquery SDK
// talking to the @sluice/testing BigQuery fake over loopback, nodemailer talking to a real SMTP
// server (smtp-server) that the test parses with mailparser. Invalid and stale signatures are
// refused and start nothing; a replayed delivery is answered with the first run and starts nothing.
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEventsTable, startFakeBigQuery, type FakeBigQuery } from '@sluice/testing';
import {
  requireBuiltServer,
  startServer,
  tempDir,
  waitForRun,
  writeConfig,
  type ServerProcess,
} from './harness.js';

const ROWS = Number(process.env.SLUICE_E2E_BIGQUERY_ROWS ?? 100_000);
/** Rows per e-mail digest (the email destination's batch). */
const DIGEST_ROWS = 25_000;
const ADMIN = 'bq-admin-key-0123456789';
const SECRET = `whsec_${Buffer.from('e2e-bigquery-webhook-secret').toString('base64')}`;

function sign(id: string, timestamp: number, body: string, secret = SECRET) {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** A real SMTP server on 127.0.0.1 (ephemeral port) that keeps every message, parsed. */
async function startSmtp(): Promise<{
  port: number;
  received: { to: string[]; mail: ParsedMail }[];
  close(): Promise<void>;
}> {
  const received: { to: string[]; mail: ParsedMail }[] = [];
  const smtp = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    size: 64 * 1024 * 1024,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), mail });
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  smtp.on('error', () => undefined);
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  return {
    port: (smtp.server.address() as AddressInfo).port,
    received,
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}

describe(`BigQuery (${ROWS.toLocaleString('en')} rows) → NDJSON + e-mail digest, triggered by a signed webhook`, () => {
  let fake: FakeBigQuery;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let server: ServerProcess;
  let out: string;

  beforeAll(async () => {
    requireBuiltServer();
    smtp = await startSmtp();
    fake = await startFakeBigQuery({
      projectId: 'e2e-project',
      tables: { 'shop.events': generateEventsTable({ rows: ROWS, seed: 11 }) },
    });
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
    ssrf: { allow: [127.0.0.1] } # the fakes listen on loopback: opted in explicitly
    credentials: { type: access-token, accessToken: '\${env:E2E_BQ_TOKEN}' }
destinations:
  exports:
    kind: file
    root: ${out}
    path: 'events/{{batch.id}}.ndjson'
    format: ndjson
    batch: { maxRecords: 10000 }
  export-digest:
    kind: email
    smtp: { host: 127.0.0.1, port: ${smtp.port}, startTls: disabled }
    ssrf: { allow: [127.0.0.1] }
    from: 'Sluice Exports <exports@sluice.test>'
    to: data-team@sluice.test
    mode: digest
    subject: 'events-export: {{ count }} rows'
    text: 'Run {{ batch.runId }} of {{ batch.pipeline }} exported {{ count }} rows; they are attached as CSV.'
    attachment: { format: csv, filename: 'events-{{ batch.id }}.csv' }
    maxBatch: ${DIGEST_ROWS}
    batch: { maxRecords: ${DIGEST_ROWS}, maxWaitMs: 30000 }
pipelines:
  events-export:
    source:
      connection: warehouse-bq
      query: SELECT id, updated_at, name, amount, score, active, day, tags FROM shop.events ORDER BY id
      pageSize: 20000
    webhook: { verify: standard-webhooks, secret: '\${env:E2E_WEBHOOK_SECRET}' }
    routes:
      - { name: all, to: [exports, export-digest] }
`,
    );
    server = await startServer({
      config,
      adminKey: ADMIN,
      env: { E2E_BQ_TOKEN: 'e2e-token', E2E_WEBHOOK_SECRET: SECRET },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await Promise.all([fake?.close(), smtp?.close()]);
  }, 60_000);

  const post = (headers: Record<string, string>, body: string) =>
    fetch(`${server.url}/webhooks/events-export`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  it('refuses a delivery signed with the wrong secret, and one without a signature', async () => {
    const body = JSON.stringify({ reason: 'nightly export' });
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    const wrong = await post(
      {
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': sign(
          id,
          ts,
          body,
          `whsec_${Buffer.from('not-the-secret').toString('base64')}`,
        ),
      },
      body,
    );
    expect(wrong.status).toBe(401);
    const tampered = await post(
      {
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': sign(id, ts, body),
      },
      body.replace('nightly', 'hourly'),
    );
    expect(tampered.status).toBe(401);
    const stale = ts - 3600;
    expect(
      (
        await post(
          {
            'webhook-id': id,
            'webhook-timestamp': String(stale),
            'webhook-signature': sign(id, stale, body),
          },
          body,
        )
      ).status,
    ).toBe(401);
    expect((await post({}, body)).status).toBe(400);
    const runs = await server.api<{ items: unknown[] }>(
      'GET',
      '/api/v1/runs?pipeline=events-export',
    );
    expect(runs.body.items).toEqual([]);
    expect(
      fake.requests.filter((r) => r.operation === 'query' || r.operation === 'insertJob'),
    ).toEqual([]);
  });

  it('runs the query on a valid signature, writes every row once and mails it in digests; the replayed delivery starts no second run', async () => {
    const body = JSON.stringify({ reason: 'nightly export' });
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': sign(id, ts, body),
    };
    const accepted = await post(headers, body);
    expect(accepted.status).toBe(202);
    const { runId } = (await accepted.json()) as { runId: string };
    const replayed = await post(headers, body);
    expect(replayed.status).toBe(200);
    expect(await replayed.json()).toEqual({ runId, deliveryId: id, duplicate: true });

    const run = await waitForRun(server, runId, 180_000);
    // Deliveries count per destination: every row to the files and to a digest.
    expect(run).toMatchObject({
      status: 'succeeded',
      trigger: 'webhook',
      counts: { read: ROWS, delivered: 2 * ROWS, deadLettered: 0 },
    });

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
    console.log(
      JSON.stringify({
        bigquery: { rows: ROWS, fileLines: lines, fileDuplicates: lines - ids.size },
      }),
    );
    expect(lines).toBe(ROWS);
    // Lossless typing through the SDK: NUMERIC as a decimal string, TIMESTAMP as ISO, REPEATED as an array.
    expect(sample).toMatchObject({
      id: expect.any(Number),
      updated_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      tags: expect.any(Array),
    });
    const all = await server.api<{ items: { id: string }[] }>(
      'GET',
      '/api/v1/runs?pipeline=events-export',
    );
    expect(all.body.items.map((r) => r.id)).toEqual([runId]);

    // E-mail: digests of at most DIGEST_ROWS rows whose subject, body and CSV attachment agree,
    // together every row exactly once.
    const digests = smtp.received;
    expect(digests.length).toBeGreaterThanOrEqual(Math.ceil(ROWS / DIGEST_ROWS));
    const mailed = new Set<string>();
    let mailedRows = 0;
    for (const { to, mail } of digests) {
      expect(to).toEqual(['data-team@sluice.test']);
      expect(mail.from?.text).toBe('"Sluice Exports" <exports@sluice.test>');
      const count = Number(/^events-export: (\d+) rows$/.exec(mail.subject ?? '')?.[1]);
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThanOrEqual(DIGEST_ROWS);
      expect(mail.text?.trim()).toBe(
        `Run ${runId} of events-export exported ${count} rows; they are attached as CSV.`,
      );
      expect(mail.attachments).toHaveLength(1);
      const [attachment] = mail.attachments;
      expect(attachment!.filename).toMatch(/^events-.+\.csv$/);
      expect(attachment!.contentType).toMatch(/^text\/csv/);
      const rows = parseCsv(attachment!.content, { columns: true }) as Record<string, string>[];
      expect(rows).toHaveLength(count);
      expect(Object.keys(rows[0]!)).toEqual([
        'id',
        'updated_at',
        'name',
        'amount',
        'score',
        'active',
        'day',
        'tags',
      ]);
      for (const row of rows) mailed.add(row.id!);
      mailedRows += rows.length;
    }
    console.log(
      JSON.stringify({
        bigqueryDigest: {
          digests: digests.length,
          mailedRows,
          mailedDuplicates: mailedRows - mailed.size,
          attachmentBytes: digests.reduce((n, d) => n + d.mail.attachments[0]!.size, 0),
        },
      }),
    );
    expect(mailedRows).toBe(ROWS);
    expect(mailed.size).toBe(ROWS);
  }, 240_000);
});
