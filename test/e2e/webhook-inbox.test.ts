// The durable webhook inbox through the real server process (issue 20): deliveries signed with
// the official `standardwebhooks` package are posted to a `delivery: inbox` pipeline, copies
// included; the server is `kill -9`-ed while deliveries are being accepted and drained, then
// restarted; the sender retries every delivery it got no 2xx for, as Standard Webhooks senders
// do. Afterwards the NDJSON file holds every delivered record exactly once. A second server with
// a small `maxDepth` and no drain (its destination down) answers 429 with `Retry-After` past it,
// and serves again afterwards.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  eventually,
  pgUrl,
  requireBuiltServer,
  startServer,
  tempDir,
  writeConfig,
  withPg,
  type ServerProcess,
} from './harness.js';

const ADMIN = 'inbox-admin-key-0123456789';
const SECRET = 'whsec_' + Buffer.from('sluice e2e webhook inbox secret').toString('base64');
const STORE_DB = `sluice_e2e_inbox_store_${process.pid}`;
const DELIVERIES = 600;
const signer = new Webhook(SECRET);

function config(out: string, inbox: string) {
  return `
store: { url: '${pgUrl(STORE_DB)}' }
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
  rateLimit: { perMinute: 100000 }
logging: { level: info }
destinations:
  appended:
    kind: file
    root: ${out}
    path: 'inbox/all.ndjson'
    mode: append
    format: ndjson
pipelines:
  events:
    source: { kind: sample }
    webhook:
      verify: standard-webhooks
      secret: '\${env:E2E_INBOX_SECRET}'
      payload: records
      delivery: inbox
      inbox: ${inbox}
    routes:
      - { name: all, to: [appended] }
    # A killed server's drain run is taken over by the next instance once its heartbeat lapses.
    retry: { maxAttempts: 10, initialDelayMs: 0, maxDelayMs: 1000 }
`;
}

/** Posts one signed delivery; the status, or undefined when no answer came (the server died). */
async function post(server: ServerProcess, id: string, body: unknown) {
  const payload = JSON.stringify(body);
  const at = new Date();
  try {
    const res = await fetch(`${server.url}/webhooks/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signer.sign(id, at, payload),
      },
      body: payload,
    });
    await res.arrayBuffer();
    return { status: res.status, retryAfter: res.headers.get('retry-after') };
  } catch {
    return undefined;
  }
}

/** Lines per `n` in the NDJSON file. */
function arrivals(file: string): Map<number, number> {
  const seen = new Map<number, number>();
  if (!existsSync(file)) return seen;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const n = (JSON.parse(line) as { n: number }).n;
    seen.set(n, (seen.get(n) ?? 0) + 1);
  }
  return seen;
}

describe('webhook inbox through the server process', () => {
  const servers: ServerProcess[] = [];
  beforeAll(async () => {
    requireBuiltServer();
    await createDatabase(STORE_DB);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill9()));
    await dropDatabase(STORE_DB);
  });

  it('holds every accepted record exactly once after a kill -9 between accept and delivery', async () => {
    const out = tempDir('sluice-e2e-inbox-');
    const path = writeConfig(out, config(out, '{ maxRecords: 100, maxWaitMs: 200 }'));
    const start = async () => {
      const server = await startServer({
        config: path,
        adminKey: ADMIN,
        env: { E2E_INBOX_SECRET: SECRET },
      });
      servers.push(server);
      return server;
    };
    let server = await start();
    // Delivery i carries records 2i and 2i+1; unanswered ones are sent again after the restart.
    const bodyOf = (i: number) => [{ n: 2 * i }, { n: 2 * i + 1 }];
    const answered = new Set<number>();
    let acceptedBeforeKill = 0;
    const sendAll = async (ids: number[], concurrency: number, onAnswer?: () => void) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < ids.length) {
            const i = ids[next++]!;
            const answer = await post(server, `evt_${i}`, bodyOf(i));
            if (answer && answer.status < 300) {
              answered.add(i);
              onAnswer?.();
            }
          }
        }),
      );
    };
    const all = Array.from({ length: DELIVERIES }, (_, i) => i);
    // Kill once a third is accepted, while the rest are in flight and drain runs are working.
    let killed: Promise<void> | undefined;
    await sendAll(all, 8, () => {
      acceptedBeforeKill += 1;
      if (acceptedBeforeKill === DELIVERIES / 3) killed = server.kill9();
    });
    await killed;
    expect(acceptedBeforeKill).toBeGreaterThanOrEqual(DELIVERIES / 3);
    expect(answered.size).toBeLessThan(DELIVERIES);
    server = await start();
    // The sender retries what got no 2xx, and re-sends a few accepted ones (copies).
    const retries = all.filter((i) => !answered.has(i));
    const copies = [...answered].slice(0, 50);
    await sendAll([...retries, ...copies], 8);
    expect(answered.size).toBe(DELIVERIES);
    const file = join(out, 'inbox', 'all.ndjson');
    const seen = await eventually(
      () => {
        const counts = arrivals(file);
        return counts.size === 2 * DELIVERIES ? counts : undefined;
      },
      120_000,
      `all ${2 * DELIVERIES} records in ${file}`,
    );
    const duplicated = [...seen.values()].filter((c) => c > 1).length;
    console.log(
      `webhook inbox e2e: ${DELIVERIES} deliveries, ${acceptedBeforeKill} answered 2xx before the kill, ${retries.length} retried, ${copies.length} copies; records ${seen.size}, duplicated ${duplicated}`,
    );
    expect(duplicated).toBe(0);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 2 * DELIVERIES }, (_, n) => n),
    );
    // Delivered rows are removed once their checkpoint is committed: nothing is left waiting.
    await eventually(
      () =>
        withPg(STORE_DB, async (client) => {
          const { rows } = await client.query(
            'SELECT count(*)::int AS n FROM sluice.webhook_inbox',
          );
          return rows[0].n === 0 ? true : undefined;
        }),
      30_000,
      'an empty inbox',
    );
    await server.stop();
  }, 240_000);

  it('answers 429 with Retry-After past maxDepth and serves afterwards', async () => {
    const out = tempDir('sluice-e2e-inbox-full-');
    // A long idle wait keeps the one drain run reading: the inbox fills faster than it drains.
    const path = writeConfig(
      out,
      config(out, '{ maxDepth: 5, maxRecords: 100000, maxWaitMs: 60000 }'),
    );
    const server = await startServer({
      config: path,
      adminKey: ADMIN,
      env: { E2E_INBOX_SECRET: SECRET },
    });
    servers.push(server);
    const statuses: { status: number; retryAfter: string | null }[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await post(server, `full_${i}`, [{ n: i }]))!);
    expect(statuses.slice(0, 5).map((s) => s.status)).toEqual([202, 202, 202, 202, 202]);
    expect(statuses.slice(5).map((s) => s.status)).toEqual([429, 429, 429]);
    expect(Number(statuses[5]!.retryAfter)).toBeGreaterThanOrEqual(1);
    // Healthy afterwards: the API answers, and a copy of an accepted delivery is still a 200.
    expect((await server.api('GET', '/api/v1/pipelines')).status).toBe(200);
    expect((await post(server, 'full_0', [{ n: 0 }]))!.status).toBe(200);
    const metrics = await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(await metrics.text()).toMatch(
      /trigger_refused_total\{[^}]*pipeline="events"[^}]*reason="inbox-full"[^}]*\} 3/,
    );
    await server.stop();
  }, 120_000);
});
