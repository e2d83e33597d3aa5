// Webhook destination throughput vs raw undici.request against the same local server, same run.
// Prints one JSON line: {"bench":"destinations/webhook",...,"ratio":R}. Needs built packages:
//   npx tsc -p packages/core/tsconfig.build.json && npx tsc -p packages/destinations/webhook/tsconfig.build.json
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { createPluginContext, parseConfig } from '@sluice/core';
import { createWebhookDestination, webhookDestination } from '@sluice/destinations-webhook';

// The same undici the destination uses (the package may pin a different major than the root).
const require = createRequire(import.meta.resolve('@sluice/destinations-webhook'));
const { Agent } = require('undici');

const CONCURRENCY = 16;
const BATCH = 1_000;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () =>
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
  );
});
server.keepAliveTimeout = 30_000;
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/hook`;

const record = (i) => ({
  id: i,
  channel: 'email',
  sessions: 1204 + i,
  date: '2026-11-24',
  campaign: 'black-friday',
});
const records = Array.from({ length: BATCH }, (_, i) => record(i));

/** One timed round: `rounds` batches of BATCH requests; returns requests/s. */
async function round(sendBatch, id) {
  const started = process.hrtime.bigint();
  await sendBatch(id);
  return BATCH / (Number(process.hrtime.bigint() - started) / 1e9);
}

// Raw undici.request with the same concurrency, bodies and headers, on its own agent.
const origin = new URL(url).origin;
const agent = new Agent({ connections: CONCURRENCY });
const raw = async (id) => {
  let next = 0;
  const worker = async () => {
    while (next < BATCH) {
      const i = next++;
      const res = await agent.request({
        origin,
        path: '/hook',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `b${id}:${i}` },
        body: JSON.stringify(records[i]),
      });
      await res.body.text();
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
};

const config = parseConfig(webhookDestination.configSchema, {
  url,
  requestConcurrency: CONCURRENCY,
  maxInFlight: 1,
  maxBatch: BATCH,
  ssrf: { allow: ['127.0.0.1'] },
});
const destination = createWebhookDestination(config, createPluginContext());
const signal = new AbortController().signal;
const viaDestination = (id) =>
  destination.write(
    { id: `bench-${id}`, records, pipeline: 'bench', runId: 'r', source: 's', attempt: 1 },
    { signal },
  );

// Interleave short rounds and keep each side's best: the machine is shared, and a noisy
// neighbour hitting one long run would otherwise decide the ratio.
for (let i = 0; i < 3; i++) {
  await raw(-i);
  await viaDestination(-i);
}
const rates = { raw: [], destination: [] };
const until = Date.now() + SECONDS * 1000;
for (let id = 0; Date.now() < until || id < 4; id++) {
  rates.raw.push(await round(raw, id));
  rates.destination.push(await round(viaDestination, id));
}
await agent.close();
await destination.close();
server.close();

const best = (list) => Math.max(...list);
const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
const perSecond = best(rates.destination);
const baseline = best(rates.raw);

console.log(
  JSON.stringify({
    bench: 'destinations/webhook',
    requests_per_s: Math.round(perSecond),
    baseline_per_s: Math.round(baseline),
    ratio: Number((perSecond / baseline).toFixed(3)),
    median_ratio: Number((median(rates.destination) / median(rates.raw)).toFixed(3)),
    rounds: rates.raw.length,
    concurrency: CONCURRENCY,
    rss_mb: Math.round(process.memoryUsage().rss / 1e6),
  }),
);
