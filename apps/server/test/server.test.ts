// End to end through the real server on an ephemeral port: API keys and scopes, runs, dry runs,
// signed webhooks (valid, invalid, replayed), dead letters and their replay, versioned config
// changes, metrics — once on the embedded PGlite store and once on the machine's PostgreSQL.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHmac, randomUUID } from 'node:crypto';
import pg from 'pg';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSluice, type SluiceServer } from '../src/index.js';
import { createResponseValidator, type ResponseValidator } from './openapi-responses.js';
import { configDir, eventually, startReceiver, type Receiver } from './helpers.js';

const ADMIN = 'admin-key-0123456789';
const READER = 'reader-key-0123456789';
const RUNNER = 'runner-key-0123456789';
const SECRET = `whsec_${Buffer.from('server-test-signing-secret').toString('base64')}`;

function yaml(opts: { storeUrl?: string; out: string; hook: string; dataDir: string }) {
  return `
store:
  ${opts.storeUrl ? `url: ${opts.storeUrl}` : `dataDir: ${opts.dataDir}`}
server:
  apiKeys:
    - { name: admin, key: '\${env:TEST_ADMIN_KEY}', scopes: [admin] }
    - { name: reader, key: ${READER}, scopes: [read] }
    - { name: runner, key: ${RUNNER}, scopes: [run] }
destinations:
  files:
    kind: file
    root: ${opts.out}
    path: traffic/{{batch.id}}.ndjson
    format: ndjson
  hook:
    kind: webhook
    url: ${opts.hook}/hook
    mode: batch
    retry: { maxAttempts: 1 }
    ssrf: { allow: [127.0.0.1] }
pipelines:
  traffic:
    source: { kind: sample, perRun: 40, pageSize: 10, channels: [email, paid] }
    routes:
      - name: paid
        priority: 10
        when: { path: $.channel, op: eq, value: paid }
        to: [hook]
      - name: all
        to: [files]
  inbound:
    source: { kind: sample, total: 0 }
    webhook: { verify: standard-webhooks, secret: '\${env:TEST_WEBHOOK_SECRET}', payload: records }
    routes:
      - { name: keep, to: [files] }
`;
}

function sign(id: string, timestamp: number, body: string) {
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

function readNdjson(dir: string): Record<string, unknown>[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ndjson'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
}

const PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
const PG_DB = `sluice_server_test_${process.pid}`;

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`reference server on ${backend}`, () => {
    let sluice: SluiceServer;
    let receiver: Receiver;
    let out: string;
    let validator: ResponseValidator;
    // Every response of this suite is checked against the served OpenAPI document.
    const fetch = async (url: string, init: RequestInit = {}) => {
      const response = await globalThis.fetch(url, init);
      expect(await validator.check(init.method ?? 'GET', url, response)).toEqual([]);
      return response;
    };
    const api = (path: string, init: RequestInit & { key?: string } = {}) =>
      fetch(`${sluice.url}${path}`, {
        ...init,
        headers: {
          ...(init.key === undefined
            ? { authorization: `Bearer ${ADMIN}` }
            : init.key
              ? { authorization: `Bearer ${init.key}` }
              : {}),
          ...(init.body ? { 'content-type': 'application/json' } : {}),
          ...(init.headers as Record<string, string>),
        },
      });

    beforeAll(async () => {
      let storeUrl: string | undefined;
      if (backend === 'postgres') {
        const admin = new pg.Client(PG_ADMIN);
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${PG_DB} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${PG_DB}`);
        await admin.end();
        storeUrl = `postgres://postgres@127.0.0.1:5432/${PG_DB}`;
      }
      receiver = await startReceiver();
      const { dir, config } = configDir('');
      out = join(dir, 'out');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        config,
        yaml({
          ...(storeUrl ? { storeUrl } : {}),
          out,
          hook: receiver.url,
          dataDir: join(dir, 'data'),
        }),
      );
      sluice = await startSluice({
        configPath: config,
        port: 0,
        host: '127.0.0.1',
        env: { TEST_ADMIN_KEY: ADMIN, TEST_WEBHOOK_SECRET: SECRET },
        logger: false,
      });
      validator = createResponseValidator(
        await (await globalThis.fetch(`${sluice.url}/api/v1/openapi.json`)).json(),
      );
    }, 120_000);

    afterAll(async () => {
      await sluice?.close();
      await receiver?.close();
      if (backend === 'postgres') {
        const admin = new pg.Client(PG_ADMIN);
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${PG_DB} WITH (FORCE)`);
        await admin.end();
      }
    }, 60_000);

    it('is live and ready, and serves a valid OpenAPI document', async () => {
      expect((await api('/healthz', { key: '' })).status).toBe(200);
      const ready = await api('/readyz', { key: '' });
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        status: 'ready',
        checks: { store: 'ok', migrations: 'ok' },
      });
      const doc = await (await api('/api/v1/openapi.json', { key: '' })).json();
      await SwaggerParser.validate(structuredClone(doc));
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/api/v1/pipelines/{name}/runs',
          '/api/v1/dead-letters/{id}/replay',
          '/webhooks/{pipeline}',
          '/api/v1/dry-run',
        ]),
      );
    });

    it('requires keys with the right scope and never returns secrets', async () => {
      expect((await api('/api/v1/pipelines', { key: '' })).status).toBe(401);
      expect((await api('/api/v1/pipelines', { key: 'wrong-key-0123456789' })).status).toBe(401);
      expect((await api('/api/v1/pipelines', { key: READER })).status).toBe(200);
      const forbidden = await api('/api/v1/pipelines/traffic/runs', {
        key: READER,
        method: 'POST',
        body: '{}',
      });
      expect(forbidden.status).toBe(403);
      const inbound = await (await api('/api/v1/pipelines/inbound', { key: READER })).json();
      expect(JSON.stringify(inbound)).toContain('standard-webhooks');
      const everything = JSON.stringify(await (await api('/api/v1/pipelines')).json());
      expect(everything).not.toContain(ADMIN);
    });

    it('runs a pipeline from the API and delivers to every destination', async () => {
      receiver.status = 200;
      const started = await api('/api/v1/pipelines/traffic/runs', {
        key: RUNNER,
        method: 'POST',
        body: JSON.stringify({ params: { note: 'api' } }),
      });
      expect(started.status).toBe(202);
      const { runId } = (await started.json()) as { runId: string };
      const run = await eventually(
        async () => {
          const r = await (await api(`/api/v1/runs/${runId}`)).json();
          return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
        },
        60_000,
        'the run to finish',
      );
      expect(run.status).toBe('succeeded');
      expect(run.pipelineVersion).toBe(1);
      expect(run.counts.read).toBe(40);
      // The run's breakdown (issues 21 and 22): half the sample is paid and goes to the hook as
      // well, every record goes to the files; the destinations' deliveries add up to the total.
      expect(run.breakdown).toEqual({
        routes: {
          paid: { matched: 20, produced: 20, droppedByTransform: 0, failed: 0 },
          all: { matched: 40, produced: 40, droppedByTransform: 0, failed: 0 },
        },
        destinations: {
          hook: expect.objectContaining({ delivered: 20, failed: 0, deadLettered: 0, dropped: 0 }),
          files: expect.objectContaining({ delivered: 40, failed: 0, deadLettered: 0, dropped: 0 }),
        },
      });
      expect(run.counts.delivered).toBe(60);
      expect(Object.keys(run.breakdown.destinations.files).sort()).toEqual([
        'batches',
        'deadLettered',
        'delivered',
        'dropped',
        'failed',
        'retries',
      ]);
      const written = readNdjson(join(out, 'traffic'));
      expect(written.filter((r) => typeof r.seq === 'number').map((r) => r.seq)).toEqual(
        expect.arrayContaining(Array.from({ length: 40 }, (_, i) => i + 1)),
      );
      const hooked = receiver.requests.flatMap((r) => JSON.parse(r.body) as { channel: string }[]);
      expect(hooked).toHaveLength(20);
      expect(hooked.every((r) => r.channel === 'paid')).toBe(true);
      const list = await (await api('/api/v1/runs?pipeline=traffic&limit=5')).json();
      expect(list.items[0].id).toBe(runId);
      const logs = await (await api(`/api/v1/runs/${runId}/logs`)).json();
      expect(logs.items.length).toBeGreaterThan(0);
      // the next run continues from the committed checkpoint
      const second = (await (
        await api('/api/v1/pipelines/traffic/runs', { method: 'POST', body: '{}' })
      ).json()) as { runId: string };
      await eventually(
        async () =>
          (await (await api(`/api/v1/runs/${second.runId}`)).json()).status === 'succeeded'
            ? true
            : undefined,
        60_000,
      );
      const seqs = readNdjson(join(out, 'traffic')).map((r) => r.seq);
      expect(Math.max(...(seqs as number[]))).toBe(80);
      // Both finished runs are in the last 24 hours' totals (issue 22's overview figure).
      const runs = [
        await (await api(`/api/v1/runs/${runId}`)).json(),
        await (await api(`/api/v1/runs/${second.runId}`)).json(),
      ] as { counts: Record<string, number> }[];
      const sum = (key: string) => runs.reduce((total, r) => total + r.counts[key]!, 0);
      const activity = await (await api('/api/v1/activity?hours=24', { key: READER })).json();
      expect(Date.now() - Date.parse(activity.since)).toBeGreaterThanOrEqual(24 * 3_600_000);
      expect(activity.items).toEqual([
        {
          pipeline: 'traffic',
          runs: 2,
          counts: {
            read: 80,
            delivered: sum('delivered'),
            deadLettered: sum('deadLettered'),
            dropped: sum('dropped'),
            failed: sum('failed'),
          },
        },
      ]);
      expect(sum('delivered')).toBeGreaterThanOrEqual(80);
      const inbound = await (await api('/api/v1/activity?pipeline=inbound')).json();
      expect(inbound).toMatchObject({ hours: 24, items: [] });
    });

    it('previews routing with a dry run', async () => {
      const res = await api('/api/v1/dry-run', {
        key: READER,
        method: 'POST',
        body: JSON.stringify({
          pipeline: 'traffic',
          records: [{ channel: 'paid' }, { channel: 'email' }],
        }),
      });
      expect(res.status).toBe(200);
      const result = await res.json();
      expect(result.destinations.hook).toEqual([{ channel: 'paid' }]);
      expect(result.destinations.files).toEqual([{ channel: 'paid' }, { channel: 'email' }]);
      const bad = await api('/api/v1/dry-run', {
        method: 'POST',
        body: JSON.stringify({
          pipeline: {
            source: { kind: 'sample' },
            routes: [{ name: 'x', when: '$[?', to: ['files'] }],
          },
          records: [{}],
        }),
      });
      expect(bad.status).toBe(400);
      const badBody = JSON.stringify(await bad.json());
      expect(badBody, badBody).toContain('routes[0].when');
    });

    it('accepts a signed webhook once, answers its replay with the same run, and refuses invalid ones', async () => {
      // Keys in an order jsonb would change (it sorts by length): the record keeps it to the file.
      const posted = { source: 'webhook', seq: 9001, a_much_longer_key: { zz: 1, b: 2 }, m: null };
      const body = JSON.stringify([posted]);
      const id = `msg_${randomUUID()}`;
      const ts = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': sign(id, ts, body),
      };
      const ok = await fetch(`${sluice.url}/webhooks/inbound`, { method: 'POST', headers, body });
      expect(ok.status).toBe(202);
      const { runId } = (await ok.json()) as { runId: string };
      const webhookRun = await eventually(async () => {
        const r = await (await api(`/api/v1/runs/${runId}`)).json();
        return r.status === 'succeeded' ? r : undefined;
      }, 60_000);
      expect(webhookRun).toMatchObject({ trigger: 'webhook', pipelineVersion: 1 });
      const written = readNdjson(join(out, 'traffic')).find((r) => r.seq === 9001);
      expect(JSON.stringify(written)).toBe(JSON.stringify(posted));
      // A copy of the accepted delivery starts nothing: 200 with the first run, so the sender stops retrying.
      const replayed = await fetch(`${sluice.url}/webhooks/inbound`, {
        method: 'POST',
        headers,
        body,
      });
      expect(replayed.status).toBe(200);
      expect(await replayed.json()).toEqual({ runId, deliveryId: id, duplicate: true });
      const tampered = await fetch(`${sluice.url}/webhooks/inbound`, {
        method: 'POST',
        headers: { ...headers, 'webhook-id': `msg_${randomUUID()}` },
        body,
      });
      expect(tampered.status).toBe(401);
      const stale = Math.floor(Date.now() / 1000) - 3600;
      const old = await fetch(`${sluice.url}/webhooks/inbound`, {
        method: 'POST',
        headers: {
          ...headers,
          'webhook-id': 'msg_old',
          'webhook-timestamp': String(stale),
          'webhook-signature': sign('msg_old', stale, body),
        },
        body,
      });
      expect(old.status).toBe(401);
      const unsigned = await fetch(`${sluice.url}/webhooks/inbound`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(unsigned.status).toBe(400);
      expect((await unsigned.json()).error.message).toContain('missing header webhook-id');
      expect(
        (await fetch(`${sluice.url}/webhooks/traffic`, { method: 'POST', body: '{}' })).status,
      ).toBe(404);
    });

    it('dead-letters failed deliveries and replays them after recovery', async () => {
      receiver.status = 500;
      const before = receiver.requests.length;
      const { runId } = (await (
        await api('/api/v1/pipelines/traffic/runs', { method: 'POST', body: '{}' })
      ).json()) as { runId: string };
      const run = await eventually(async () => {
        const r = await (await api(`/api/v1/runs/${runId}`)).json();
        return ['succeeded', 'failed'].includes(r.status) ? r : undefined;
      }, 60_000);
      expect(run.status).toBe('succeeded');
      expect(run.counts.deadLettered).toBe(20);
      expect(receiver.requests.length).toBeGreaterThan(before);
      const letters = await (await api(`/api/v1/dead-letters?runId=${runId}&limit=100`)).json();
      expect(letters.items).toHaveLength(20);
      expect(letters.items[0]).toMatchObject({
        destination: 'hook',
        route: 'paid',
        status: 'pending',
      });
      receiver.status = 200;
      const failedKeys = new Set(
        receiver.requests.slice(before).map((r) => String(r.headers['idempotency-key'])),
      );
      const beforeReplay = receiver.requests.length;
      const replay = await api('/api/v1/dead-letters/replay', {
        key: RUNNER,
        method: 'POST',
        body: JSON.stringify({ pipeline: 'traffic' }),
      });
      expect(replay.status).toBe(202);
      const { runs } = (await replay.json()) as { runs: { runId: string }[] };
      await eventually(
        async () =>
          (await (await api(`/api/v1/runs/${runs[0]!.runId}`)).json()).status === 'succeeded'
            ? true
            : undefined,
        60_000,
      );
      const after = await (await api(`/api/v1/dead-letters?runId=${runId}&status=pending`)).json();
      expect(after.items).toHaveLength(0);
      // The replay re-sends the failed batches as they were (one per source page), under their first
      // idempotency keys (dead letters keep their source positions).
      const replayed = receiver.requests.slice(beforeReplay);
      expect(replayed.flatMap((r) => JSON.parse(r.body) as unknown[])).toHaveLength(20);
      expect(new Set(replayed.map((r) => String(r.headers['idempotency-key'])))).toEqual(
        failedKeys,
      );
      const discard = await api(`/api/v1/dead-letters/${letters.items[0].id}`, {
        method: 'DELETE',
      });
      expect(discard.status).toBe(409); // already replayed
    });

    it('versions config changes made through the API and validates them', async () => {
      const current = await api('/api/v1/pipelines/traffic');
      const etag = current.headers.get('etag')!;
      const body = (await current.json()).config;
      const bad = await api('/api/v1/pipelines/traffic', {
        method: 'PUT',
        body: JSON.stringify({ ...body, routes: [{ name: 'x', to: ['slak'] }] }),
      });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(await bad.json())).toContain('unknown destination \\"slak\\"');
      const stale = await api('/api/v1/pipelines/traffic', {
        method: 'PUT',
        headers: { 'if-match': '"v999"' },
        body: JSON.stringify(body),
      });
      expect(stale.status).toBe(412);
      const saved = await api('/api/v1/pipelines/traffic', {
        method: 'PUT',
        headers: { 'if-match': etag },
        body: JSON.stringify({ ...body, description: 'changed' }),
      });
      expect(saved.status).toBe(200);
      expect(await saved.json()).toEqual({ name: 'traffic', version: 2, changed: true });
      const versions = await (await api('/api/v1/pipelines/traffic/versions')).json();
      expect(versions.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
      expect((await api('/api/v1/pipelines/traffic/disable', { method: 'POST' })).status).toBe(200);
      expect(
        (await api('/api/v1/pipelines/traffic/runs', { method: 'POST', body: '{}' })).status,
      ).toBe(409);
      expect((await api('/api/v1/pipelines/traffic/enable', { method: 'POST' })).status).toBe(200);
      const schedule = await api('/api/v1/schedules/traffic', {
        method: 'PUT',
        body: JSON.stringify({ cron: '0 8 * * *', timezone: 'Europe/Berlin' }),
      });
      expect(schedule.status).toBe(200);
      expect(
        (
          await api('/api/v1/schedules/traffic', {
            method: 'PUT',
            body: JSON.stringify({ cron: 'not cron' }),
          })
        ).status,
      ).toBe(400);
      expect((await api('/api/v1/destinations/files', { method: 'DELETE' })).status).toBe(400);
      expect((await api('/api/v1/pipelines/nope')).status).toBe(404);
    });

    it('answers malformed requests with 4xx and keeps running', async () => {
      const badJson = await api('/api/v1/pipelines/traffic/runs', {
        method: 'POST',
        body: '{"params":',
      });
      expect(badJson.status).toBe(400);
      const unknownField = await api('/api/v1/pipelines/traffic/runs', {
        method: 'POST',
        body: JSON.stringify({ bogus: 1 }),
      });
      expect(unknownField.status).toBe(400);
      expect((await unknownField.json()).error.details[0].path).toBe('body.bogus');
      expect((await api('/api/v1/runs?limit=abc')).status).toBe(400);
      expect((await api('/api/v1/runs?cursor=garbage')).status).toBe(400);
      expect((await api('/api/v1/runs/not-a-uuid')).status).toBe(400);
      for (const hours of ['0', '721', 'abc', '1.5']) {
        const bad = await api(`/api/v1/activity?hours=${hours}`);
        expect(bad.status).toBe(400);
        expect((await bad.json()).error.details[0].path).toBe('query.hours');
      }
      expect((await api(`/api/v1/runs/${randomUUID()}`)).status).toBe(404);
      expect(
        (await api('/api/v1/pipelines/missing/runs', { method: 'POST', body: '{}' })).status,
      ).toBe(404);
      expect(
        (
          await api('/api/v1/pipelines/traffic/runs', {
            method: 'POST',
            headers: { 'content-type': 'text/plain' },
            body: 'x',
          })
        ).status,
      ).toBe(415);
      expect((await api('/healthz', { key: '' })).status).toBe(200);
    });

    it('exposes engine, HTTP and destination metrics', async () => {
      const text = await (await fetch(`${sluice.url}/metrics`)).text();
      expect(text).toContain('sluice_http_request_duration_seconds');
      expect(text).toContain('sluice_process_cpu_seconds_total');
      expect(text).toMatch(/sluice_router_\w+/);
    });
  });
}
