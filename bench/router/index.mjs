// Router throughput: 1 KB records through 10 routes (3 JSONPath filter conditions, 2 transforms)
// into no-op destinations, against the same-run baseline of JSON.parse + JSON.stringify of the
// same records. Records are generated lazily so memory reflects the router, not the input.
// Prints one JSON line for 100k records and one for 1M (memory must stay flat between them).
import { createPluginContext, createNoopLogger } from '@sluice/core';
import { compileRouteTable, createRouter } from '@sluice/router';

const CHANNELS = ['email', 'paid', 'organic', 'social', 'referral', 'direct'];
const PAD = 'x'.repeat(760);

function makeRecord(i) {
  return {
    id: i,
    date: '2026-11-24',
    channel: CHANNELS[i % CHANNELS.length],
    sessions: (i * 7919) % 1000,
    previous_sessions: ((i * 104729) % 1000) + 1,
    country: i % 3 === 0 ? 'DE' : 'US',
    utm: { source: `src${i % 17}`, medium: i % 2 ? 'cpc' : 'email', campaign: `camp-${i % 101}` },
    items: [
      { sku: `sku-${i % 13}`, qty: i % 11, price: 9.99 },
      { sku: `sku-${(i + 5) % 13}`, qty: (i + 3) % 7, price: 19.5 },
    ],
    note: PAD,
  };
}

function* records(n) {
  for (let i = 0; i < n; i++) yield makeRecord(i);
}

const routes = [
  { name: 'big-orders', priority: 10, when: '$.items[?@.qty > 9]', to: ['alerts'] },
  { name: 'pricey', priority: 9, when: '$.items[?@.price > 15 && @.qty > 5]', to: ['alerts'] },
  { name: 'campaign-x', priority: 8, when: '$.utm[?@ == "camp-7"]', to: ['archive'] },
  {
    name: 'paid',
    priority: 7,
    when: { path: '$.channel', op: 'eq', value: 'paid' },
    to: ['warehouse'],
    transform: [
      {
        kind: 'compute',
        field: 'change_pct',
        expression: 'round((sessions - previous_sessions) / previous_sessions * 100, 1)',
      },
    ],
  },
  {
    name: 'email',
    priority: 6,
    when: { path: '$.utm.medium', op: 'eq', value: 'email' },
    to: ['warehouse'],
  },
  {
    name: 'de',
    priority: 5,
    when: { path: '$.country', op: 'in', value: ['DE', 'AT', 'CH'] },
    to: ['archive'],
  },
  { name: 'low', priority: 4, when: { path: '$.sessions', op: 'lt', value: 10 }, to: ['alerts'] },
  {
    name: 'social',
    priority: 3,
    when: {
      all: [
        { path: '$.channel', op: 'eq', value: 'social' },
        { path: '$.utm.source', op: 'startsWith', value: 'src1' },
      ],
    },
    to: ['archive'],
  },
  {
    name: 'slim',
    priority: 2,
    when: { path: '$.channel', op: 'eq', value: 'organic' },
    to: ['archive'],
    transform: [{ kind: 'pick', fields: ['id', 'date', 'channel', 'sessions'] }],
  },
  { name: 'everything', priority: 0, to: ['warehouse'], mode: 'continue' },
];

const noop = { async write() {} };
const destinations = Object.fromEntries(
  ['warehouse', 'archive', 'alerts'].map((name) => [
    name,
    {
      instance: noop,
      capabilities: { idempotent: true, maxInFlight: 1 },
      policy: { batch: { maxRecords: 1000 } },
    },
  ]),
);

async function routerRun(n) {
  const ctx = createPluginContext({ logger: createNoopLogger() });
  const table = compileRouteTable(routes, { ctx, destinations: Object.keys(destinations) });
  const router = createRouter({
    table,
    destinations,
    deadLetters: { async write() {} },
    ctx,
    pipeline: 'bench',
    runId: 'r',
    source: 'gen',
  });
  const t0 = performance.now();
  // Push in pages, as the pump does.
  let page = [];
  for (const record of records(n)) {
    page.push(record);
    if (page.length === 1000) {
      await router.push(page);
      page = [];
    }
  }
  await router.push(page);
  await router.close();
  return n / ((performance.now() - t0) / 1000);
}

function baselineRun(n) {
  const t0 = performance.now();
  let sink = 0;
  for (const record of records(n)) sink += JSON.parse(JSON.stringify(record)).id + 1;
  if (sink === 0) throw new Error('unreachable');
  return n / ((performance.now() - t0) / 1000);
}

// The baseline generates the same records (same generation cost as the router run) and does
// one JSON.stringify + one JSON.parse of each (~1 KB).
const size = Buffer.byteLength(JSON.stringify(makeRecord(1)));
if (size < 900 || size > 1200) throw new Error(`record size ${size} is not ~1 KB`);

await routerRun(20_000); // warm-up
baselineRun(20_000);
// The machine is shared: each figure is the best of interleaved rounds of baseline and router,
// so a burst of load from elsewhere does not land on one side only.
for (const [n, rounds] of [
  [100_000, 3],
  [1_000_000, 1],
]) {
  let baseline = 0;
  let rate = 0;
  for (let round = 0; round < rounds; round++) {
    baseline = Math.max(baseline, baselineRun(n));
    rate = Math.max(rate, await routerRun(n));
  }
  globalThis.gc?.();
  const rss = process.memoryUsage().rss / 1024 / 1024;
  console.log(
    JSON.stringify({
      bench: 'router',
      records: n,
      records_per_s: Math.round(rate),
      baseline_per_s: Math.round(baseline),
      ratio: Number((rate / baseline).toFixed(3)),
      rss_mb: Math.round(rss),
    }),
  );
}
