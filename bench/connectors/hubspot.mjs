// HubSpot connector throughput: records/s reading contacts from the wire fake through
// @sluice/connectors-hubspot (official SDK, validation, rate limiter, checkpoints) beside a
// baseline that replays the very same HTTP requests with raw fetch + JSON.parse.
// Prints one JSON line per figure. Imports the BUILT packages (run `npx tsc -p <pkg>/tsconfig.build.json`
// for core, testing and connectors/hubspot first, or `npm run bench -- connectors`).
import { createPluginContext } from '@sluice/core';
import { startHubSpotFake } from '@sluice/testing/fakes';
import { hubspotConnector } from '@sluice/connectors-hubspot';
import { parse } from 'valibot';

const CONTACTS = Number(process.argv[2] ?? 25_000);
const properties = ['email', 'firstname', 'lastname', 'lifecyclestage'];

function rssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  return () => {
    clearInterval(timer);
    return Math.round(Math.max(peak, process.memoryUsage().rss) / 1024 / 1024);
  };
}

async function viaConnector(fake, state) {
  const config = parse(hubspotConnector.configSchema, {
    accessToken: fake.token,
    basePath: fake.url,
    ssrf: { allow: ['127.0.0.1'] },
    object: 'contacts',
    properties,
    // The fake has no rate limit; lift the client-side one so the figure measures the code path.
    rateLimit: { requests: 1_000_000, searchRequestsPerSecond: 100_000 },
  });
  const connector = await hubspotConnector.create(config, createPluginContext());
  fake.resetRequests();
  const stop = rssSampler();
  const t0 = performance.now();
  let records = 0;
  let last;
  for await (const page of connector.read(
    state === undefined ? {} : { state },
    new AbortController().signal,
  )) {
    records += page.records.length;
    last = page.state;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { records, seconds, rss: stop(), requests: [...fake.requests], last };
}

// Replays the connector's requests with plain fetch + JSON.parse: same pages, no SDK.
async function baseline(fake, requests) {
  const t0 = performance.now();
  let records = 0;
  for (const r of requests) {
    const query = r.query.toString();
    const res = await fetch(`${fake.url}${r.path}${query ? `?${query}` : ''}`, {
      method: r.method,
      headers: { authorization: `Bearer ${fake.token}`, 'content-type': 'application/json' },
      body: r.body === undefined ? undefined : JSON.stringify(r.body),
    });
    records += JSON.parse(await res.text()).results.length;
  }
  return { records, seconds: (performance.now() - t0) / 1000 };
}

const fake = await startHubSpotFake({ sizes: { contacts: CONTACTS } });
try {
  await viaConnector(fake); // warm-up (JIT, sockets)
  const full = await viaConnector(fake);
  const fullBase = await baseline(fake, full.requests);
  const line = (bench, run, base) => ({
    bench,
    records: run.records,
    records_per_s: Math.round(run.records / run.seconds),
    baseline_per_s: Math.round(base.records / base.seconds),
    ratio: Number((base.seconds / run.seconds).toFixed(3)),
    requests: run.requests.length,
    rss_mb: run.rss,
  });
  console.log(JSON.stringify(line('connectors/hubspot full read (list API, SDK)', full, fullBase)));

  // Incremental: every contact modified within the last minute, read through search.
  const now = Date.now();
  fake
    .objects('contacts')
    .forEach((o, i) => fake.setModified('contacts', [o.id], now - 60_000 + Math.floor(i / 2)));
  const state = { v: 1, phase: 'incremental', modifiedAt: now - 60_000, lastId: null };
  const inc = await viaConnector(fake, state);
  const incBase = await baseline(fake, inc.requests);
  console.log(
    JSON.stringify(line('connectors/hubspot incremental read (search API, SDK)', inc, incBase)),
  );
} finally {
  await fake.close();
}
