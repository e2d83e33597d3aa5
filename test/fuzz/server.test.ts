// Fuzzing the reference server through HTTP: one in-process server (PGlite store in a temp folder,
// port 0) receives arbitrary methods' bodies, content types, query strings, path parameters and
// keys at every route of its own OpenAPI document, and arbitrary bodies and headers at
// /webhooks/:pipeline. Every answer is a 2xx or a 4xx with the `{ error: { code, message, details } }`
// body — never a 5xx — and the server stays healthy. Signed garbage payloads lead to runs that
// complete, and a run whose records are garbage for a typed PostgreSQL table dead-letters exactly
// the bad records, each with a message naming the field, and writes the good ones.
import { request as httpRequest } from 'node:http';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSluice, type SluiceServer } from '@sluice/server';
import { jsonValue, record, scalar } from './arbitraries.js';

const ADMIN = 'fuzz-admin-key-0123456789';
const READER = 'fuzz-reader-key-0123456789';
const SECRET = `whsec_${Buffer.from('fuzz-webhook-signing-secret').toString('base64')}`;
const PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
const PG_DB = `sluice_fuzz_${process.pid}`;
const PG_URL = `postgres://postgres@127.0.0.1:5432/${PG_DB}`;
// Pipelines the API fuzzing may change or delete; the webhook pipelines are left alone.
const FUZZED_NAMES = ['traffic', 'files', 'scratch'];

function yaml(dir: string): string {
  return `
store:
  dataDir: ${join(dir, 'data')}
server:
  bodyLimitBytes: 262144
  apiKeys:
    - { name: admin, key: '\${env:FUZZ_ADMIN_KEY}', scopes: [admin] }
    - { name: reader, key: '\${env:FUZZ_READER_KEY}', scopes: [read] }
  rateLimit: { perMinute: 1000000 }
destinations:
  files:
    kind: file
    root: ${join(dir, 'out')}
    path: '{{pipeline}}/{{batch.id}}.ndjson'
    format: ndjson
  warehouse:
    kind: database
    dialect: postgres
    url: ${PG_URL}
    table: fuzz_events
    mode: upsert
    key: [id]
    createTable: true
    columns:
      - { name: id, type: bigint, primaryKey: true }
      - { name: name, type: text, nullable: false }
      - { name: amount, type: numeric }
      - { name: happened, type: date }
      - { name: active, type: boolean }
      - { name: attrs, type: json }
    retry: { maxAttempts: 1 }
pipelines:
  traffic:
    source: { kind: sample, perRun: 20, pageSize: 10 }
    routes:
      - { name: all, to: [files] }
  scratch:
    source: { kind: sample, total: 0 }
    routes:
      - { name: all, to: [files] }
  inbound:
    source: { kind: sample, total: 0 }
    webhook: { verify: standard-webhooks, secret: '\${env:FUZZ_WEBHOOK_SECRET}', payload: records }
    routes:
      - { name: keep, to: [files] }
  garbage:
    source: { kind: sample, total: 0 }
    webhook: { verify: standard-webhooks, secret: '\${env:FUZZ_WEBHOOK_SECRET}', payload: records }
    routes:
      - { name: typed, to: [warehouse] }
  computed:
    source: { kind: sample, total: 0 }
    webhook: { verify: standard-webhooks, secret: '\${env:FUZZ_WEBHOOK_SECRET}', payload: records }
    routes:
      - name: typed
        to: [warehouse]
        transform:
          - { kind: set, field: name, from: $.label }
          - { kind: compute, field: amount, expression: 'price * qty' }
`;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A raw HTTP request: any method with any body and headers (fetch refuses some of these). */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<Answer> {
  const url = new URL(base);
  // A fixed length (not chunked) so the server can answer before reading the body without the
  // connection being reset under the client.
  const all =
    body === undefined
      ? headers
      : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers: all },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Checks the contract of an answer: no 5xx, and every error in the one error body. */
function expectClientAnswer(answer: Answer, what: string): void {
  expect(
    answer.status,
    `${what} -> ${answer.status} ${answer.text.slice(0, 300)}`,
  ).toBeGreaterThanOrEqual(200);
  expect(answer.status, `${what} -> ${answer.status} ${answer.text.slice(0, 300)}`).toBeLessThan(
    500,
  );
  if (answer.status >= 400) {
    let body: { error?: { code?: unknown; message?: unknown; details?: unknown } };
    try {
      body = JSON.parse(answer.text) as typeof body;
    } catch {
      throw new Error(
        `${what} -> ${answer.status} without a JSON error body: ${answer.text.slice(0, 200)}`,
      );
    }
    expect(body.error?.code, what).toMatch(/^SLUICE_ERR_[A-Z0-9_]+$/);
    expect(typeof body.error?.message, what).toBe('string');
    expect((body.error?.message as string).length, what).toBeGreaterThan(0);
    expect(Array.isArray(body.error?.details), what).toBe(true);
  }
}

function sign(id: string, timestamp: number, body: Buffer | string): string {
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`;
}

function signedHeaders(
  body: Buffer | string,
  contentType = 'application/json',
): Record<string, string> {
  const id = `msg_${randomUUID()}`;
  const ts = Math.floor(Date.now() / 1000);
  return {
    'content-type': contentType,
    'webhook-id': id,
    'webhook-timestamp': String(ts),
    'webhook-signature': sign(id, ts, body),
  };
}

let sluice: SluiceServer;
let dir: string;

async function runOf(
  runId: string,
): Promise<{ status: string; counts: Record<string, number>; error: unknown }> {
  const answer = await send(sluice.url, 'GET', `/api/v1/runs/${runId}`, {
    authorization: `Bearer ${ADMIN}`,
  });
  return JSON.parse(answer.text) as {
    status: string;
    counts: Record<string, number>;
    error: unknown;
  };
}

async function finished(
  runId: string,
): Promise<{ status: string; counts: Record<string, number>; error: unknown }> {
  const until = Date.now() + 60_000;
  for (;;) {
    const run = await runOf(runId);
    if (['succeeded', 'failed', 'cancelled'].includes(run.status)) return run;
    if (Date.now() > until) throw new Error(`run ${runId} did not finish: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function healthy(): Promise<void> {
  expect((await send(sluice.url, 'GET', '/healthz', {})).status).toBe(200);
  expect((await send(sluice.url, 'GET', '/readyz', {})).status).toBe(200);
}

beforeAll(async () => {
  const admin = new pg.Client(PG_ADMIN);
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${PG_DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${PG_DB}`);
  await admin.end();
  dir = mkdtempSync(join(tmpdir(), 'sluice-fuzz-'));
  const config = join(dir, 'sluice.yaml');
  writeFileSync(config, yaml(dir));
  sluice = await startSluice({
    configPath: config,
    port: 0,
    host: '127.0.0.1',
    env: { FUZZ_ADMIN_KEY: ADMIN, FUZZ_READER_KEY: READER, FUZZ_WEBHOOK_SECRET: SECRET },
    logger: false,
  });
}, 120_000);

afterAll(async () => {
  await sluice?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  const admin = new pg.Client(PG_ADMIN);
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${PG_DB} WITH (FORCE)`);
  await admin.end();
}, 60_000);

/** Request bodies: none, JSON of anything, shapes the routes expect with bad fields, and non-JSON. */
const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: jsonValue.map((v) => JSON.stringify(v)) },
  {
    weight: 3,
    arbitrary: fc
      .record(
        {
          params: jsonValue,
          from: fc.oneof(scalar, fc.constantFrom('2026-01-01', '0001-01-01', '2026-02-30')),
          to: fc.oneof(scalar, fc.constantFrom('2026-01-03', '9999-12-31')),
          chunkDays: scalar,
          pipeline: fc.oneof(fc.constantFrom(...FUZZED_NAMES), jsonValue),
          records: fc.oneof(fc.array(record, { maxLength: 3 }), jsonValue),
          source: jsonValue,
          routes: jsonValue,
          kind: fc.oneof(fc.constantFrom('file', 'sample', 'database', 'webhook'), scalar),
          cron: fc.oneof(fc.constantFrom('0 8 * * *', '* * * * * * *', '61 * * * *'), scalar),
          timezone: fc.oneof(fc.constantFrom('Europe/Berlin', 'Mars/Olympus'), scalar),
          ids: fc.oneof(fc.array(fc.uuid(), { maxLength: 2 }), jsonValue),
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"params":',
      '[',
      'null',
      '"x"',
      '{"__proto__":{"polluted":1}}',
      '{"constructor":{"prototype":{"x":1}}}',
      '\u0000',
      '{}'.padEnd(300_000, ' '),
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

const contentType = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/merge-patch+json',
  'application/xml',
  '',
  ';;;',
);

const pathParam = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(...FUZZED_NAMES, 'nope', '00000000-0000-0000-0000-000000000000'),
  },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }).filter((s) => s !== '') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '..',
      '.',
      '%',
      '%00',
      '%2F',
      'a'.repeat(300),
      '__proto__',
      'constructor',
    ),
  },
);

const queryString = fc.oneof(
  fc.constant(''),
  fc
    .dictionary(
      fc.constantFrom(
        'limit',
        'cursor',
        'pipeline',
        'status',
        'trigger',
        'afterSeq',
        'runId',
        'route',
        'destination',
        'x',
        '__proto__',
      ),
      fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constantFrom('0', '1', '-1', '1001', '1e3', 'succeeded,bogus', 'queued', 'api'),
      ),
      { maxKeys: 4 },
    )
    .map((q) => `?${new URLSearchParams(q).toString()}`),
  fc.constantFrom(
    '?limit=1&limit=2',
    '?%zz',
    '?&&&=',
    '?cursor=' + 'x'.repeat(600),
    '?status[]=1',
    '?limit',
  ),
);

const key = fc.constantFrom<string | undefined>(
  ADMIN,
  ADMIN,
  READER,
  undefined,
  'wrong-key-0123456789',
);

describe('the API under fuzzing', () => {
  it('answers every route of its OpenAPI document with a 2xx or a 4xx error body, never a 5xx', async () => {
    const doc = JSON.parse((await send(sluice.url, 'GET', '/api/v1/openapi.json', {})).text) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((method) => ({ method: method.toUpperCase(), path })),
    );
    // Every documented route is fuzzed, including the webhook route.
    expect(operations.length).toBeGreaterThan(25);
    const method = fc.oneof(
      { weight: 9, arbitrary: fc.constant<string | undefined>(undefined) },
      {
        weight: 1,
        arbitrary: fc.constantFrom<string | undefined>(
          'GET',
          'POST',
          'PUT',
          'DELETE',
          'PATCH',
          'OPTIONS',
          'HEAD',
        ),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...operations),
        method,
        fc.array(pathParam, { minLength: 3, maxLength: 3 }),
        queryString,
        body,
        contentType,
        key,
        async (op, overrideMethod, params, query, text, type, apiKey) => {
          let i = 0;
          const path =
            op.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[i++]!)) + query;
          const headers: Record<string, string> = {};
          if (type !== undefined) headers['content-type'] = type;
          if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
          const verb = overrideMethod ?? op.method;
          const answer = await send(
            sluice.url,
            verb,
            path,
            headers,
            verb === 'HEAD' ? undefined : text,
          );
          if (verb === 'HEAD' || verb === 'OPTIONS') {
            expect(answer.status, `${verb} ${path}`).toBeLessThan(500);
            return;
          }
          expectClientAnswer(answer, `${verb} ${path} (${type}) ${String(text).slice(0, 120)}`);
        },
      ),
      { numRuns: 600 },
    );
    await healthy();
  }, 240_000);

  it('answers hostile requests with 4xx: oversize, deeply nested and prototype-polluting bodies', async () => {
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const cases: [string, string, string][] = [
      [
        'POST',
        '/api/v1/pipelines/traffic/runs',
        JSON.stringify({ params: { pad: 'x'.repeat(400_000) } }),
      ],
      [
        'POST',
        '/api/v1/pipelines/traffic/runs',
        `{"params":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`,
      ],
      [
        'POST',
        '/api/v1/dry-run',
        `{"pipeline":"traffic","records":[${'['.repeat(50_000)}${']'.repeat(50_000)}]}`,
      ],
      [
        'POST',
        '/api/v1/dry-run',
        JSON.stringify({ pipeline: 'traffic', records: [{ __proto__: { polluted: true } }] }),
      ],
      [
        'POST',
        '/api/v1/dry-run',
        '{"pipeline":"traffic","records":[{"__proto__":{"polluted":true}}]}',
      ],
      [
        'PUT',
        '/api/v1/pipelines/scratch',
        '{"__proto__":{"source":{"kind":"sample"}},"routes":[]}',
      ],
      ['PUT', '/api/v1/destinations/scratch', '{"constructor":{"prototype":{"kind":"file"}}}'],
      ['POST', '/api/v1/dead-letters/replay', '{"ids":["' + 'x'.repeat(100) + '"]}'],
      [
        'POST',
        '/api/v1/pipelines/traffic/runs',
        '{"from":"0001-01-01","to":"9999-12-31","chunkDays":1}',
      ],
    ];
    for (const [method, path, text] of cases) {
      const answer = await send(sluice.url, method, path, headers, text);
      expectClientAnswer(answer, `${method} ${path} ${text.slice(0, 60)}`);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await healthy();
  }, 60_000);
});

describe('webhooks under fuzzing', () => {
  const webhookHeaders = fc.dictionary(
    fc.constantFrom(
      'content-type',
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
      'x-hubspot-signature-v3',
      'x-slack-signature',
      'content-encoding',
      'x-other',
    ),
    fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        'v1,abc',
        'v1,',
        'msg_1',
        String(Math.floor(Date.now() / 1000)),
        '-1',
        '99999999999999999999',
        'gzip',
        'application/json',
      ),
    ),
    { maxKeys: 6 },
  );

  it('answers arbitrary unsigned or badly signed deliveries with 4xx, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('inbound', 'garbage', 'traffic', 'nope', '%00', 'x'.repeat(200)),
        webhookHeaders,
        body,
        async (pipeline, headers, text) => {
          const answer = await send(
            sluice.url,
            'POST',
            `/webhooks/${encodeURIComponent(pipeline)}`,
            headers,
            text,
          );
          expect(answer.status, answer.text).toBeGreaterThanOrEqual(400);
          expectClientAnswer(answer, `webhook ${pipeline} ${JSON.stringify(headers)}`);
        },
      ),
      { numRuns: 300 },
    );
    await healthy();
  }, 120_000);

  it('turns correctly signed garbage into a 4xx, or a run that completes', async () => {
    const signedBody = fc.oneof(
      fc
        .array(record, { maxLength: 4 })
        .map((r) => ({ text: JSON.stringify(r), type: 'application/json' })),
      jsonValue.map((v) => ({ text: JSON.stringify(v), type: 'application/json' })),
      fc.array(jsonValue, { maxLength: 4 }).map((lines) => ({
        text: lines.map((l) => JSON.stringify(l)).join('\n'),
        type: 'application/x-ndjson',
      })),
      fc.string({ maxLength: 60 }).map((text) => ({ text, type: 'application/json' })),
      fc
        .string({ maxLength: 60 })
        .map((text) => ({ text, type: 'application/x-www-form-urlencoded' })),
      fc.string({ maxLength: 60 }).map((text) => ({ text, type: 'text/csv' })),
    );
    const runIds: string[] = [];
    await fc.assert(
      fc.asyncProperty(signedBody, async ({ text, type }) => {
        const answer = await send(
          sluice.url,
          'POST',
          '/webhooks/inbound',
          signedHeaders(text, type),
          text,
        );
        expectClientAnswer(answer, `signed ${type} ${text.slice(0, 80)}`);
        if (answer.status === 202)
          runIds.push((JSON.parse(answer.text) as { runId: string }).runId);
      }),
      { numRuns: 40 },
    );
    expect(runIds.length).toBeGreaterThan(5);
    for (const runId of runIds) {
      const run = await finished(runId);
      // Garbage records are dead-lettered or rejected: the run itself completes.
      expect(run.status, JSON.stringify(run)).toBe('succeeded');
    }
    await healthy();
  }, 180_000);
});

describe('a run whose records are garbage', () => {
  const good = [
    {
      id: 1,
      name: 'alpha',
      amount: '12.50',
      happened: '2026-11-24',
      active: true,
      attrs: { a: 1 },
    },
    { id: 2, name: 'beta', amount: 3, happened: '2026-11-25', active: false, attrs: null },
    { id: '3', name: 'gamma' },
  ];
  const bad: { record: Record<string, unknown>; field: string }[] = [
    { record: { id: 'not-a-number', name: 'x' }, field: 'id' },
    { record: { name: 'no id' }, field: 'id' },
    { record: { id: 10, name: null }, field: 'name' },
    { record: { id: 11 }, field: 'name' },
    { record: { id: 12, name: 'x', amount: 'twelve' }, field: 'amount' },
    { record: { id: 13, name: 'x', happened: '2026-02-30' }, field: 'happened' },
    { record: { id: 14, name: 'x', happened: { nested: true } }, field: 'happened' },
    { record: { id: 15, name: 'x', active: 'maybe' }, field: 'active' },
    { record: { id: 16, name: { first: 'x' } }, field: 'name' },
    { record: { id: 1e300, name: 'x' }, field: 'id' },
    { record: { id: 17.5, name: 'x' }, field: 'id' },
    { record: { id: 18, name: 'x\u0000y' }, field: 'name' },
  ];

  async function tableRows(): Promise<{ id: string; name: string }[]> {
    const client = new pg.Client(PG_URL);
    await client.connect();
    try {
      return (
        await client.query<{ id: string; name: string }>(
          'SELECT id::text AS id, name FROM fuzz_events ORDER BY fuzz_events.id',
        )
      ).rows;
    } finally {
      await client.end();
    }
  }

  async function letters(
    runId: string,
  ): Promise<{ record: Record<string, unknown>; error: { message: string } }[]> {
    const answer = await send(sluice.url, 'GET', `/api/v1/dead-letters?runId=${runId}&limit=100`, {
      authorization: `Bearer ${ADMIN}`,
    });
    expect(answer.status).toBe(200);
    return (
      JSON.parse(answer.text) as {
        items: { record: Record<string, unknown>; error: { message: string } }[];
      }
    ).items;
  }

  it('dead-letters each bad record with a message naming the field, writes the good ones and succeeds', async () => {
    const huge = { id: 19, name: 'y'.repeat(200_000) };
    const records = [...good, ...bad.map((b) => b.record), huge];
    const text = JSON.stringify(records);
    const answer = await send(sluice.url, 'POST', '/webhooks/garbage', signedHeaders(text), text);
    expect(answer.status, answer.text).toBe(202);
    const { runId } = JSON.parse(answer.text) as { runId: string };
    const run = await finished(runId);
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    expect(run.counts.read).toBe(records.length);
    expect(run.counts.delivered).toBe(good.length + 1);
    expect(run.counts.deadLettered).toBe(bad.length);
    const rows = await tableRows();
    expect(rows.map((r) => r.id)).toEqual(['1', '2', '3', '19']);
    expect(rows.find((r) => r.id === '19')!.name).toHaveLength(200_000);
    const dead = await letters(runId);
    expect(dead).toHaveLength(bad.length);
    for (const { record: r, field } of bad) {
      const letter = dead.find((d) => JSON.stringify(d.record) === JSON.stringify(r));
      expect(letter, `a dead letter for ${JSON.stringify(r)}`).toBeDefined();
      expect(letter!.error.message, JSON.stringify(r)).toContain(field);
    }
  }, 120_000);

  it('dead-letters records that set/compute transforms cannot handle, and completes', async () => {
    const records = [
      { id: 100, label: 'ok', price: 2, qty: 3 },
      { id: 101, label: 'no price', qty: 3 },
      { id: 102, label: { nested: 'label' }, price: 1, qty: 1 },
      { id: 103, price: 1, qty: 1 },
      { id: 104, label: 'strings', price: 'two', qty: [3] },
      { id: 105, label: 'ok too', price: 0.5, qty: 4 },
    ];
    const text = JSON.stringify(records);
    const answer = await send(sluice.url, 'POST', '/webhooks/computed', signedHeaders(text), text);
    expect(answer.status, answer.text).toBe(202);
    const { runId } = JSON.parse(answer.text) as { runId: string };
    const run = await finished(runId);
    expect(run.status, JSON.stringify(run)).toBe('succeeded');
    const written = (await tableRows()).filter((r) => Number(r.id) >= 100).map((r) => r.id);
    expect(written).toEqual(expect.arrayContaining(['100', '105']));
    const dead = await letters(runId);
    expect(written.length + dead.length).toBe(records.length);
    for (const letter of dead) expect(letter.error.message.length).toBeGreaterThan(0);
    await healthy();
  }, 120_000);
});
