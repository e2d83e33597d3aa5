// Back-pressure through the real server (issue 20): a pipeline whose runs wait on a destination
// the test holds, with `maxQueuedRuns: 2`. Past the bound webhook deliveries and API triggers
// get 429 with `Retry-After` and SLUICE_ERR_BACKLOG_FULL, a duplicate delivery still gets 200,
// the refusals are counted on /metrics, and once the runs drain triggers are accepted again —
// once on the embedded PGlite store and once on the machine's PostgreSQL.
import { createHmac, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSluice, type SluiceServer } from '../src/index.js';
import { createResponseValidator, type ResponseValidator } from './openapi-responses.js';
import { configDir, eventually } from './helpers.js';

const ADMIN = 'admin-key-0123456789';
const SECRET = `whsec_${Buffer.from('back-pressure-signing-secret').toString('base64')}`;
const PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
const PG_DB = `sluice_backpressure_test_${process.pid}`;

/** A loopback receiver that holds every request until the test opens it. */
interface HeldReceiver {
  url: string;
  received: number;
  open(): void;
  close(): Promise<void>;
}

async function startHeldReceiver(): Promise<HeldReceiver> {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  const held: HeldReceiver = { url: '', received: 0, open: () => release(), close: async () => {} };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      held.received += 1;
      void opened.then(() => {
        res.statusCode = 200;
        res.end('{}');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  held.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  held.close = () =>
    new Promise((resolve) => {
      release();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return held;
}

function yaml(opts: { storeUrl?: string; dataDir: string; hook: string }) {
  return `
store:
  ${opts.storeUrl ? `url: ${opts.storeUrl}` : `dataDir: ${opts.dataDir}`}
server:
  apiKeys:
    - { name: admin, key: ${ADMIN}, scopes: [admin] }
destinations:
  held:
    kind: webhook
    url: ${opts.hook}/hook
    mode: batch
    retry: { maxAttempts: 1 }
    ssrf: { allow: [127.0.0.1] }
pipelines:
  slow:
    source: { kind: sample, perRun: 1, pageSize: 1 }
    webhook: { verify: standard-webhooks, secret: '\${env:TEST_WEBHOOK_SECRET}', payload: records }
    maxQueuedRuns: 2
    routes:
      - { name: all, to: [held] }
`;
}

function signed(body: string, id = `msg_${randomUUID()}`) {
  const timestamp = Math.floor(Date.now() / 1000);
  const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
  const signature = `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  };
}

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`back-pressure on ${backend}`, () => {
    let sluice: SluiceServer;
    let held: HeldReceiver;
    let validator: ResponseValidator;
    // Every response is checked against the served OpenAPI document.
    const fetch = async (url: string, init: RequestInit = {}) => {
      const response = await globalThis.fetch(url, init);
      expect(await validator.check(init.method ?? 'GET', url, response)).toEqual([]);
      return response;
    };
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${sluice.url}${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${ADMIN}`,
          ...(init.body ? { 'content-type': 'application/json' } : {}),
        },
      });
    const deliver = (body: string, headers = signed(body)) =>
      fetch(`${sluice.url}/webhooks/slow`, { method: 'POST', headers, body });
    const runStatus = async (id: string) =>
      ((await (await api(`/api/v1/runs/${id}`)).json()) as { status: string }).status;
    const refusedCount = async (trigger: string) => {
      const text = await (
        await globalThis.fetch(`${sluice.url}/metrics`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        })
      ).text();
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('sluice_trigger_refused_total{') &&
            l.includes('pipeline="slow"') &&
            l.includes(`trigger="${trigger}"`) &&
            l.includes('reason="backlog-full"'),
        );
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };

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
      held = await startHeldReceiver();
      const { dir, config } = configDir('');
      writeFileSync(
        config,
        yaml({ ...(storeUrl ? { storeUrl } : {}), dataDir: join(dir, 'data'), hook: held.url }),
      );
      sluice = await startSluice({
        configPath: config,
        port: 0,
        host: '127.0.0.1',
        env: { TEST_WEBHOOK_SECRET: SECRET },
        logger: false,
      });
      validator = createResponseValidator(
        await (await globalThis.fetch(`${sluice.url}/api/v1/openapi.json`)).json(),
      );
    }, 120_000);

    afterAll(async () => {
      await held?.close();
      await sluice?.close();
      if (backend === 'postgres') {
        const admin = new pg.Client(PG_ADMIN);
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${PG_DB} WITH (FORCE)`);
        await admin.end();
      }
    }, 60_000);

    it('refuses triggers past maxQueuedRuns with 429 and Retry-After, counts them, and accepts again once runs drain', async () => {
      // One run executes, held at its destination; two more wait in status queued: the bound.
      const first = await deliver(JSON.stringify([{ n: 1 }]));
      expect(first.status).toBe(202);
      const { runId: firstRun } = (await first.json()) as { runId: string };
      await eventually(
        async () =>
          (await runStatus(firstRun)) === 'running' && held.received > 0 ? true : undefined,
        30_000,
        'the first run to reach the held destination',
      );

      const secondBody = JSON.stringify([{ n: 2 }]);
      const secondHeaders = signed(secondBody);
      const second = await deliver(secondBody, secondHeaders);
      expect(second.status).toBe(202);
      const { runId: secondRun } = (await second.json()) as { runId: string };
      const viaApi = await api('/api/v1/pipelines/slow/runs', {
        method: 'POST',
        body: JSON.stringify({}),
      });
      expect(viaApi.status).toBe(202);
      expect(await runStatus(secondRun)).toBe('queued');

      // Past the bound: a new delivery and an API trigger are refused, nothing queued.
      const refusedBody = JSON.stringify([{ n: 3 }]);
      const refusedHeaders = signed(refusedBody);
      const refused = await deliver(refusedBody, refusedHeaders);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const refusedError = ((await refused.json()) as { error: { code: string; message: string } })
        .error;
      expect(refusedError.code).toBe('SLUICE_ERR_BACKLOG_FULL');
      expect(refusedError.message).toContain('maxQueuedRuns');
      const refusedApi = await api('/api/v1/pipelines/slow/runs', {
        method: 'POST',
        body: JSON.stringify({}),
      });
      expect(refusedApi.status).toBe(429);
      expect(Number(refusedApi.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(((await refusedApi.json()) as { error: { code: string } }).error.code).toBe(
        'SLUICE_ERR_BACKLOG_FULL',
      );
      const queued = (await (await api('/api/v1/runs?pipeline=slow&status=queued')).json()) as {
        items: unknown[];
      };
      expect(queued.items).toHaveLength(2);

      // A copy of an accepted delivery is still 200 with its run, even when full.
      const duplicate = await deliver(secondBody, secondHeaders);
      expect(duplicate.status).toBe(200);
      expect(await duplicate.json()).toMatchObject({ runId: secondRun, duplicate: true });

      expect(await refusedCount('webhook')).toBe(1);
      expect(await refusedCount('api')).toBe(1);

      // The runs drain; the sender's retry of the refused delivery, and new triggers, are accepted.
      held.open();
      const queuedNow = async () =>
        (
          (await (await api('/api/v1/runs?pipeline=slow&status=queued')).json()) as {
            items: unknown[];
          }
        ).items.length;
      await eventually(
        async () => ((await queuedNow()) === 0 ? true : undefined),
        60_000,
        'the queued runs to drain',
      );
      expect(await runStatus(secondRun)).not.toBe('queued');
      const retried = await deliver(refusedBody, refusedHeaders);
      expect(retried.status).toBe(202);
      const { runId: retriedRun } = (await retried.json()) as { runId: string };
      expect(
        (await api('/api/v1/pipelines/slow/runs', { method: 'POST', body: JSON.stringify({}) }))
          .status,
      ).toBe(202);
      await eventually(
        async () => ((await runStatus(retriedRun)) === 'succeeded' ? true : undefined),
        60_000,
        'the retried delivery to run',
      );
      expect(await refusedCount('webhook')).toBe(1);
      expect((await api('/readyz')).status).toBe(200);
    }, 120_000);
  });
}
