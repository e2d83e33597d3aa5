#!/usr/bin/env node
// Webhook inbox (issue 20): signed Standard Webhooks deliveries per second that a real
// `sluice serve` child process (store on PostgreSQL) accepts into a `delivery: inbox` pipeline,
// sustained over a fixed duration by a fixed number of concurrent senders, with the p50/p99
// accept latency; then every accepted record is awaited in the pipeline's NDJSON file
// destination and `lost` / `duplicated` counted.
//
// Same-run baseline: the same payloads INSERTed one statement each through `pg` by the same
// number of concurrent connections into an equivalent table for the same duration
// (ratio = deliveries/s / baseline inserts/s).
//
//   WEBHOOK_BENCH_SECONDS=60 (default: the sustained minute; shorter to try a change)
//   WEBHOOK_BENCH_SENDERS=32
//
// Every delivery is signed as it is sent and verified by the server. `cpu_s` says where the
// machine's cores went during the load (this process, the server, PostgreSQL): the load
// generator shares the two cores with what it measures.
//
// Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and apps/server/dist built. Uses
// the databases sluice_bench_inbox_store and sluice_bench_inbox_raw, dropped at the end.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createWebhookSigner } from '@sluice/core/standard-webhooks';
import { startServe } from '../_serve.mjs';

const SECONDS = Number(process.env.WEBHOOK_BENCH_SECONDS ?? 60);
const SENDERS = Number(process.env.WEBHOOK_BENCH_SENDERS ?? 32);
const PG = 'postgres://postgres@127.0.0.1:5432';
const STORE_DB = 'sluice_bench_inbox_store';
const RAW_DB = 'sluice_bench_inbox_raw';
const KEY = 'bench-admin-key-0123456789';
const SECRET = 'whsec_' + Buffer.from('sluice webhook inbox bench secret').toString('base64');
const DRAIN_TIMEOUT_MS = 5 * 60 * 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (n, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const quantile = (values, q) => {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
/** CPU seconds (user + system) of a process so far, from /proc; 0 where there is none (not Linux). */
const cpuSecondsOf = (pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
};
/** CPU seconds of every PostgreSQL process (server and backends) alive now. */
const postgresCpuSeconds = () => {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres'))
        total += cpuSecondsOf(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return total;
};
/** CPU seconds spent by this process, the server child and PostgreSQL while `work` runs. */
async function measuringCpu(serverPid, work) {
  const client = process.cpuUsage();
  const server = cpuSecondsOf(serverPid);
  const postgres = postgresCpuSeconds();
  const result = await work();
  const used = process.cpuUsage(client);
  return {
    ...result,
    cpu: {
      client: (used.user + used.system) / 1e6,
      server: cpuSecondsOf(serverPid) - server,
      postgres: postgresCpuSeconds() - postgres,
    },
  };
}
const emit = (line) => process.stdout.write(JSON.stringify(line) + '\n');

/** The body of delivery `n`: one record, about the size of a CRM change event. */
const payloadOf = (n) =>
  JSON.stringify([
    {
      n,
      event: 'contact.propertyChange',
      objectId: 1000 + (n % 5000),
      property: 'lifecyclestage',
      value: n % 2 === 0 ? 'lead' : 'customer',
      occurredAt: '2026-12-04T02:00:00.000Z',
    },
  ]);

async function admin(sql) {
  const client = new pg.Client(`${PG}/postgres`);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
const recreate = async (db) => {
  await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${db}`);
};

function config(out) {
  return `store:
  url: ${PG}/${STORE_DB}
server:
  apiKeys:
    - { name: bench, key: '\${env:BENCH_API_KEY}', scopes: [admin] }
  rateLimit: { perMinute: 1000000 }
logging:
  level: info
destinations:
  events_file:
    kind: file
    root: ${out}
    path: 'events.ndjson'
    mode: append
    format: ndjson
pipelines:
  events:
    source: { kind: sample }
    webhook:
      verify: standard-webhooks
      secret: '\${env:BENCH_WEBHOOK_SECRET}'
      payload: records
      delivery: inbox
      inbox: { maxRecords: 10000, maxWaitMs: 200, maxDepth: 10000000 }
    routes:
      - { name: all, to: [events_file] }
`;
}
/** `sluice serve` with this bench's secrets in its environment (see ../_serve.mjs). */
function startServer(configPath) {
  return startServe(configPath, { BENCH_API_KEY: KEY, BENCH_WEBHOOK_SECRET: SECRET });
}

/** `SENDERS` loops, each sending one delivery at a time, for `SECONDS`. */
async function sendFor(send) {
  const latencies = [];
  const statuses = new Map();
  const accepted = [];
  let next = 0;
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (performance.now() < until) {
        const n = next++;
        const started = performance.now();
        const status = await send(n);
        latencies.push(performance.now() - started);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status >= 200 && status < 300) accepted.push(n);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, latencies, statuses, accepted };
}

async function inboxRun() {
  await recreate(STORE_DB);
  const out = mkdtempSync(join(tmpdir(), 'sluice-bench-inbox-'));
  const configPath = join(out, 'sluice.yaml');
  writeFileSync(configPath, config(out));
  const server = await startServer(configPath);
  // Each delivery is signed as it is sent (HMAC through node:crypto, as a real sender does) and
  // the server verifies every one. node:http on a keep-alive agent, one socket per sender: the
  // load generator shares the machine's two cores with the server and PostgreSQL, and fetch's
  // stream machinery costs it several times node:http's CPU per request.
  const signer = createWebhookSigner(SECRET);
  const agent = new Agent({ keepAlive: true, maxSockets: SENDERS });
  const { hostname, port } = new URL(server.url);
  try {
    const send = (n) =>
      new Promise((resolve, reject) => {
        const body = payloadOf(n);
        const req = request(
          {
            agent,
            hostname,
            port,
            method: 'POST',
            path: '/webhooks/events',
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              ...signer.sign(`msg_${n}`, Date.now() / 1000, body),
            },
          },
          (res) => {
            res.on('data', () => {});
            res.on('end', () => resolve(res.statusCode));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const load = await measuringCpu(server.child.pid, () => sendFor(send));
    agent.destroy();
    // Every accepted record must reach the file exactly once.
    const file = join(out, 'events.ndjson');
    const counts = new Map();
    const t0 = performance.now();
    for (;;) {
      counts.clear();
      if (existsSync(file)) {
        for (const line of readFileSync(file, 'utf8').split('\n')) {
          if (!line) continue;
          const { n } = JSON.parse(line);
          counts.set(n, (counts.get(n) ?? 0) + 1);
        }
      }
      const missing = load.accepted.filter((n) => !counts.has(n)).length;
      if (missing === 0 || performance.now() - t0 > DRAIN_TIMEOUT_MS) break;
      await sleep(500);
    }
    const drainSeconds = (performance.now() - t0) / 1000;
    const lost = load.accepted.filter((n) => !counts.has(n)).length;
    const duplicated = [...counts.values()].reduce((sum, c) => sum + (c > 1 ? c - 1 : 0), 0);
    const store = new pg.Client(`${PG}/${STORE_DB}`);
    await store.connect();
    const runs = (
      await store.query(
        `SELECT count(*)::int AS n FROM sluice.runs WHERE pipeline = 'events' AND status = 'succeeded'`,
      )
    ).rows[0].n;
    await store.end();
    return { ...load, lost, duplicated, drainSeconds, runs, out };
  } finally {
    await server.stop();
  }
}

async function rawInsertRun() {
  await recreate(RAW_DB);
  const pool = new pg.Pool({ connectionString: `${PG}/${RAW_DB}`, max: SENDERS });
  try {
    await pool.query(`CREATE TABLE inbox (
      position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      pipeline text NOT NULL, delivery_id text NOT NULL, received_at timestamptz NOT NULL,
      records json NOT NULL)`);
    await pool.query('CREATE INDEX ON inbox (pipeline, position)');
    return await measuringCpu(undefined, () =>
      sendFor(async (n) => {
        await pool.query(
          'INSERT INTO inbox (pipeline, delivery_id, received_at, records) VALUES ($1, $2, now(), $3::json)',
          ['events', `msg_${n}`, payloadOf(n)],
        );
        return 201;
      }),
    );
  } finally {
    await pool.end();
  }
}

const raw = await rawInsertRun();
const ours = await inboxRun();
const perSecond = ours.accepted.length / ours.seconds;
const rawPerSecond = raw.accepted.length / raw.seconds;
emit({
  bench: 'webhook.inbox',
  backend: 'postgres',
  seconds: round(ours.seconds, 1),
  senders: SENDERS,
  deliveries_per_s: round(perSecond, 1),
  baseline_deliveries_per_s: round(rawPerSecond, 1),
  baseline: 'raw pg INSERT of the same payloads, same concurrency',
  ratio: round(perSecond / rawPerSecond),
  p50_ms: round(quantile(ours.latencies, 0.5)),
  p99_ms: round(quantile(ours.latencies, 0.99)),
  baseline_p50_ms: round(quantile(raw.latencies, 0.5)),
  baseline_p99_ms: round(quantile(raw.latencies, 0.99)),
  accepted: ours.accepted.length,
  refused: ours.latencies.length - ours.accepted.length,
  lost: ours.lost,
  duplicated: ours.duplicated,
  drain_runs: ours.runs,
  drained_after_s: round(ours.drainSeconds, 1),
  // Where the machine's two cores went during the load (seconds of CPU over `seconds`).
  cpu_s: {
    client: round(ours.cpu.client, 1),
    server: round(ours.cpu.server, 1),
    postgres: round(ours.cpu.postgres, 1),
  },
  baseline_cpu_s: { client: round(raw.cpu.client, 1), postgres: round(raw.cpu.postgres, 1) },
});
rmSync(ours.out, { recursive: true, force: true });
await admin(`DROP DATABASE IF EXISTS ${STORE_DB} WITH (FORCE)`);
await admin(`DROP DATABASE IF EXISTS ${RAW_DB} WITH (FORCE)`);
