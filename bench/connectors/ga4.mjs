// Benchmark of @sluice/connectors-ga4: records/s reading a 100,000-row report from the fake GA4
// Data API through the SDK and the connector (offset/limit paging, metric casting, restatement
// marks), beside the same pages fetched with plain fetch + JSON.parse; and the reader's peak RSS
// at 10k vs 100k rows. Each reader runs in its own child process. Uses the BUILT packages.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PAGE = 10_000;
const DIMENSIONS = ['date', 'deviceCategory', 'pagePath'];
const METRICS = [
  'sessions',
  'screenPageViews',
  'bounceRate',
  'averageSessionDuration',
  'purchaseRevenue',
];
// 25 days x 4 devices x pagePaths: 1,000 paths = 100,000 rows, 100 paths = 10,000 rows.
const RANGE = { startDate: '30daysAgo', endDate: '6daysAgo' };

async function child(mode, url, port, property) {
  process.env.METADATA_SERVER_DETECTION = 'none';
  const started = performance.now();
  let rows = 0;
  if (mode === 'connector') {
    const { ga4Connector } = await import('@sluice/connectors-ga4');
    const { createPluginContext, parseConfig } = await import('@sluice/core');
    const config = parseConfig(ga4Connector.configSchema, {
      propertyId: property,
      apiEndpoint: url,
      ssrf: { allow: ['127.0.0.1'] },
      credentials: { type: 'access-token', accessToken: 'bench' },
      dimensions: DIMENSIONS,
      metrics: METRICS,
      dateRange: RANGE,
      timeZone: 'America/Los_Angeles',
      pageSize: PAGE,
    });
    const instance = await ga4Connector.create(config, createPluginContext());
    for await (const page of instance.read({}, new AbortController().signal))
      rows += page.records.length;
    await instance.close();
  } else {
    const headers = { authorization: 'Bearer bench', 'content-type': 'application/json' };
    let offset = 0;
    for (;;) {
      const body = {
        dimensions: DIMENSIONS.map((name) => ({ name })),
        metrics: METRICS.map((name) => ({ name })),
        dateRanges: [RANGE],
        orderBys: [{ dimension: { dimensionName: 'date' } }],
        offset: String(offset),
        limit: String(PAGE),
        returnPropertyQuota: true,
      };
      const response = await fetch(`${url}/v1beta/properties/${property}:runReport`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
      const page = JSON.parse(await response.text());
      const n = page.rows?.length ?? 0;
      rows += n;
      offset += n;
      if (n === 0 || offset >= (page.rowCount ?? 0)) break;
    }
  }
  const ms = performance.now() - started;
  global.gc();
  process.send({
    rows,
    ms,
    rssMb: process.resourceUsage().maxRSS / 1024,
    heapMb: process.memoryUsage().heapUsed / 2 ** 20,
  });
  void port;
}

function run(mode, fake, property) {
  return new Promise((resolve, reject) => {
    const proc = fork(
      fileURLToPath(import.meta.url),
      ['child', mode, fake.url, String(fake.port), property],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: ['--expose-gc'],
      },
    );
    proc.on('message', resolve);
    proc.on('exit', (code) =>
      code === 0 ? undefined : reject(new Error(`${mode} child exited with ${code}`)),
    );
  });
}

if (process.argv[2] === 'child') {
  await child(process.argv[3], process.argv[4], process.argv[5], process.argv[6]);
} else {
  const { startFakeGa4 } = await import('@sluice/testing/fakes');
  const devices = ['desktop', 'mobile', 'tablet', 'smart tv'];
  const paths = (n) => Array.from({ length: n }, (_, i) => `/p/${i}`);
  const fake = await startFakeGa4({
    quota: { tokensPerHour: 1e9, tokensPerDay: 1e9, tokensPerProjectPerHour: 1e9 },
    properties: {
      1000: { dimensionValues: { deviceCategory: devices, pagePath: paths(1000) } },
      100: { dimensionValues: { deviceCategory: devices, pagePath: paths(100) } },
    },
  });
  try {
    await run('raw', fake, '100');
    const raw = await run('raw', fake, '1000');
    const large = await run('connector', fake, '1000');
    const small = await run('connector', fake, '100');
    const perS = (r) => Math.round((r.rows / r.ms) * 1000);
    console.log(
      JSON.stringify({
        bench: 'connectors.ga4.read',
        rows: large.rows,
        records_per_s: perS(large),
        baseline: 'fetch+JSON.parse of the same pages',
        baseline_per_s: perS(raw),
        ratio: +(perS(large) / perS(raw)).toFixed(3),
        rss_mb: +large.rssMb.toFixed(1),
      }),
    );
    console.log(
      JSON.stringify({
        bench: 'connectors.ga4.peak_rss',
        rows: large.rows,
        rss_mb: +large.rssMb.toFixed(1),
        baseline: `same reader at ${small.rows} rows`,
        baseline_rss_mb: +small.rssMb.toFixed(1),
        ratio: +(large.rssMb / small.rssMb).toFixed(3),
      }),
    );
    console.log(
      JSON.stringify({
        bench: 'connectors.ga4.heap_after_gc',
        rows: large.rows,
        heap_mb: +large.heapMb.toFixed(1),
        baseline: `same reader at ${small.rows} rows`,
        baseline_heap_mb: +small.heapMb.toFixed(1),
        ratio: +(large.heapMb / small.heapMb).toFixed(3),
      }),
    );
  } finally {
    await fake.close();
  }
}
