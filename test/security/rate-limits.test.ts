// Issue 13, point 5: one anonymous client must not lock out health checks, operators or
// webhook senders. Drives the real server (`sluice serve`, PGlite store in a temporary data
// folder) with a low `server.rateLimit.perMinute` so that a flood is quick:
// - 700 requests with a bad or missing key are limited in their own (per-address) bucket;
//   afterwards /healthz and /readyz answer 200 (probes are never limited), /metrics answers 200
//   (its own per-address bucket), a valid key works (its own bucket) and a signed webhook is
//   accepted (webhooks have per-pipeline buckets, apart from API traffic);
// - a flood of badly signed deliveries, or of copies of one captured delivery, is charged to its
//   sender address and pipeline: other senders' signed deliveries, and other pipelines, are not
//   affected;
// - each pipeline's accepted deliveries have a budget of their own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  requireBuiltServer,
  startServer,
  tempDir,
  writeConfig,
  type ServerProcess,
} from '../e2e/harness.js';
import { errorOf, rawRequest, standardWebhookHeaders } from './transport-helpers.js';

const ADMIN = 'rate-limits-admin-key-0123456789';
const READER = 'rate-limits-reader-key-0123456789';
const SECRET = `whsec_${Buffer.from('rate-limits-webhook-signing-secret').toString('base64')}`;
const PER_MINUTE = 30;

describe('rate limits (issue 13 point 5)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    requireBuiltServer();
    const dir = tempDir('sec-rate');
    const config = writeConfig(
      dir,
      `
store: { dataDir: ${dir}/data }
server:
  apiKeys:
    - { name: admin, key: '\${env:SEC_ADMIN_KEY}', scopes: [admin] }
    - { name: reader, key: '\${env:SEC_READER_KEY}', scopes: [read] }
  rateLimit: { perMinute: ${PER_MINUTE} }
destinations:
  files: { kind: file, root: ${dir}/out, path: '{{pipeline}}/{{batch.id}}.ndjson', format: ndjson }
pipelines:
  inbound:
    source: { kind: sample, total: 0 }
    webhook: { verify: standard-webhooks, secret: '\${env:SEC_WEBHOOK_SECRET}' }
    routes: [ { name: all, to: [files] } ]
  busy:
    source: { kind: sample, total: 0 }
    webhook: { verify: standard-webhooks, secret: '\${env:SEC_WEBHOOK_SECRET}' }
    routes: [ { name: all, to: [files] } ]
  replayed:
    source: { kind: sample, total: 0 }
    webhook: { verify: standard-webhooks, secret: '\${env:SEC_WEBHOOK_SECRET}' }
    routes: [ { name: all, to: [files] } ]
  quiet:
    source: { kind: sample, total: 0 }
    webhook: { verify: standard-webhooks, secret: '\${env:SEC_WEBHOOK_SECRET}' }
    routes: [ { name: all, to: [files] } ]
`,
    );
    server = await startServer({
      config,
      adminKey: ADMIN,
      env: { SEC_ADMIN_KEY: ADMIN, SEC_READER_KEY: READER, SEC_WEBHOOK_SECRET: SECRET },
      timeoutMs: 120_000,
    });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  /** `count` requests, `parallel` at a time; returns how often each status came back. */
  async function flood(
    count: number,
    parallel: number,
    send: (i: number) => Promise<number>,
  ): Promise<Record<number, number>> {
    const statuses: Record<number, number> = {};
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < count) {
          const status = await send(next++);
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      }),
    );
    return statuses;
  }

  const signedDelivery = (pipeline: string, localAddress?: string) => {
    const body = JSON.stringify({ event: 'ping', at: Date.now(), nonce: Math.random() });
    return rawRequest(server.url, {
      path: `/webhooks/${pipeline}`,
      headers: standardWebhookHeaders(SECRET, body),
      body,
      ...(localAddress ? { localAddress } : {}),
    });
  };

  it('after a flood of 700 bad-key requests, probes, metrics, valid keys and signed webhooks still answer', async () => {
    const statuses = await flood(700, 16, async (i) => {
      const headers: Record<string, string> =
        i % 2 === 0 ? { authorization: `Bearer bad-key-${i}` } : {};
      const res = await fetch(`${server.url}/api/v1/pipelines`, { headers });
      await res.arrayBuffer();
      return res.status;
    });
    console.log(JSON.stringify({ rateLimits: { badKeyFlood: statuses } }));
    // The anonymous bucket did its job: the flood itself was limited.
    expect(statuses[401]).toBeLessThanOrEqual(PER_MINUTE);
    expect(statuses[429]).toBeGreaterThanOrEqual(700 - PER_MINUTE);
    const limited = await fetch(`${server.url}/api/v1/pipelines`, {
      headers: { authorization: 'Bearer still-bad' },
    });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

    const healthz = await fetch(`${server.url}/healthz`);
    expect(healthz.status).toBe(200);
    const readyz = await fetch(`${server.url}/readyz`);
    expect(readyz.status).toBe(200);
    expect(await readyz.json()).toMatchObject({ status: 'ready' });
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('http_request_duration_seconds');
    const valid = await fetch(`${server.url}/api/v1/pipelines`, {
      headers: { authorization: `Bearer ${READER}` },
    });
    expect(valid.status).toBe(200);
    const webhook = await signedDelivery('inbound');
    expect(webhook.status, webhook.text).toBe(202);
  }, 120_000);

  it('never limits /healthz and /readyz', async () => {
    const statuses = await flood(6 * PER_MINUTE, 8, async (i) => {
      const res = await fetch(`${server.url}${i % 2 === 0 ? '/healthz' : '/readyz'}`);
      await res.arrayBuffer();
      return res.status;
    });
    expect(statuses).toEqual({ 200: 6 * PER_MINUTE });
  }, 60_000);

  it('gives /metrics a bucket per client address, apart from API traffic', async () => {
    const statuses = await flood(
      2 * PER_MINUTE,
      4,
      async () =>
        (
          await rawRequest(server.url, {
            method: 'GET',
            path: '/metrics',
            localAddress: '127.0.0.3',
          })
        ).status,
    );
    expect(statuses[429]).toBeGreaterThanOrEqual(PER_MINUTE - 1);
    // The scraper on another address is not starved by that client.
    expect(
      (await rawRequest(server.url, { method: 'GET', path: '/metrics', localAddress: '127.0.0.1' }))
        .status,
    ).toBe(200);
  }, 60_000);

  it("charges badly signed deliveries to the sender's address and pipeline, not to other senders", async () => {
    const statuses = await flood(3 * PER_MINUTE, 8, async (i) => {
      const body = JSON.stringify({ forged: i });
      const headers = {
        ...standardWebhookHeaders(SECRET, body),
        'webhook-signature': 'v1,Zm9yZ2VkLXNpZ25hdHVyZQ==',
      };
      return (
        await rawRequest(server.url, {
          path: '/webhooks/inbound',
          headers,
          body,
          localAddress: '127.0.0.2',
        })
      ).status;
    });
    console.log(JSON.stringify({ rateLimits: { forgedWebhookFlood: statuses } }));
    // Up to one per parallel sender may be in flight when the budget runs out.
    expect(statuses[401]).toBeLessThanOrEqual(PER_MINUTE + 8);
    expect(statuses[429]).toBeGreaterThanOrEqual(2 * PER_MINUTE - 8);
    // The forger is refused before its body is read, with Retry-After.
    const refused = await signedDelivery('inbound', '127.0.0.2');
    expect(refused.status).toBe(429);
    expect(errorOf(refused).code).toBe('SLUICE_ERR_RATE_LIMITED');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another sender's signed delivery to the same pipeline is accepted.
    const other = await signedDelivery('inbound', '127.0.0.1');
    expect(other.status, other.text).toBe(202);
    // The forger's address may still deliver to another pipeline.
    const elsewhere = await signedDelivery('quiet', '127.0.0.2');
    expect(elsewhere.status, elsewhere.text).toBe(202);
  }, 120_000);

  it('charges copies of a captured delivery to the replaying address: one run, then 429, while other senders get through', async () => {
    const body = JSON.stringify({ event: 'captured' });
    const headers = standardWebhookHeaders(SECRET, body);
    const first = await rawRequest(server.url, {
      path: '/webhooks/replayed',
      headers,
      body,
      localAddress: '127.0.0.4',
    });
    expect(first.status, first.text).toBe(202);
    const statuses = await flood(
      2 * PER_MINUTE,
      4,
      async () =>
        (
          await rawRequest(server.url, {
            path: '/webhooks/replayed',
            headers,
            body,
            localAddress: '127.0.0.4',
          })
        ).status,
    );
    console.log(JSON.stringify({ rateLimits: { replayFlood: statuses } }));
    // Copies never start a run (answered as duplicates), and past the budget they are refused unread.
    expect(statuses[202]).toBeUndefined();
    expect(statuses[429]).toBeGreaterThanOrEqual(PER_MINUTE - 4);
    const runs = await server.api<{ items: unknown[] }>('GET', '/api/v1/runs?pipeline=replayed');
    expect(runs.body.items).toHaveLength(1);
    const other = await signedDelivery('replayed', '127.0.0.1');
    expect(other.status, other.text).toBe(202);
  }, 120_000);

  it("limits each pipeline's accepted deliveries in a bucket of its own", async () => {
    const statuses = await flood(
      PER_MINUTE + 5,
      4,
      async () => (await signedDelivery('busy')).status,
    );
    console.log(JSON.stringify({ rateLimits: { busyPipeline: statuses } }));
    expect(statuses[202]).toBe(PER_MINUTE);
    expect(statuses[429]).toBe(5);
    const refused = await signedDelivery('busy');
    expect(refused.status).toBe(429);
    expect(errorOf(refused).message).toContain('pipeline "busy"');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another pipeline and the API are unaffected.
    expect((await signedDelivery('quiet')).status).toBe(202);
    expect((await server.api('GET', '/api/v1/pipelines')).status).toBe(200);
  }, 120_000);
});
