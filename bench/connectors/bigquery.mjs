// Benchmark of @sluice/connectors-bigquery: records/s reading 100,000 rows from the fake BigQuery
// through the SDK and the connector (typed conversion, checkpoints), beside the same pages fetched
// with plain fetch + JSON.parse; and the reader's peak RSS at 10k vs 100k rows (must stay flat).
// Each reader runs in its own child process so its peak RSS is its own. Uses the BUILT packages.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PAGE = 2_000;
const QUERY = (table) =>
  `SELECT * FROM analytics.${table} WHERE updated_at > @cursor ORDER BY updated_at`;

async function child(mode, url, projectId, table) {
  process.env.METADATA_SERVER_DETECTION = 'none';
  const started = performance.now();
  let rows = 0;
  if (mode === 'connector') {
    const { bigQueryConnector } = await import('@sluice/connectors-bigquery');
    const { createPluginContext, parseConfig } = await import('@sluice/core');
    const config = parseConfig(bigQueryConnector.configSchema, {
      projectId,
      apiEndpoint: url,
      ssrf: { allow: ['127.0.0.1'] },
      credentials: { type: 'access-token', accessToken: 'bench' },
      query: QUERY(table),
      cursor: { column: 'updated_at', type: 'TIMESTAMP' },
      pageSize: PAGE,
    });
    const instance = await bigQueryConnector.create(config, createPluginContext());
    for await (const page of instance.read({}, new AbortController().signal))
      rows += page.records.length;
  } else {
    const headers = { authorization: 'Bearer bench', 'content-type': 'application/json' };
    const base = `${url}/bigquery/v2/projects/${projectId}/queries`;
    const first = JSON.parse(
      await (
        await fetch(base, {
          method: 'POST',
          headers,
          body: JSON.stringify({
            query: QUERY(table),
            useLegacySql: false,
            maxResults: PAGE,
            formatOptions: { useInt64Timestamp: true },
            queryParameters: [
              {
                name: 'cursor',
                parameterType: { type: 'TIMESTAMP' },
                parameterValue: { value: '0001-01-01T00:00:00Z' },
              },
            ],
          }),
        })
      ).text(),
    );
    rows += first.rows?.length ?? 0;
    let token = first.pageToken;
    while (token) {
      const page = JSON.parse(
        await (
          await fetch(`${base}/${first.jobReference.jobId}?maxResults=${PAGE}&pageToken=${token}`, {
            headers,
          })
        ).text(),
      );
      rows += page.rows?.length ?? 0;
      token = page.pageToken;
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
}

function run(mode, fake, table) {
  return new Promise((resolve, reject) => {
    const proc = fork(
      fileURLToPath(import.meta.url),
      ['child', mode, fake.url, fake.projectId, table],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc'] },
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
  const { startFakeBigQuery, generateEventsTable } = await import('@sluice/testing/fakes');
  const fake = await startFakeBigQuery({
    tables: {
      'analytics.small': generateEventsTable({ rows: 10_000 }),
      'analytics.large': generateEventsTable({ rows: 100_000 }),
    },
  });
  try {
    // Warm the fake's code paths once so the first measured run is not penalised.
    await run('raw', fake, 'small');
    const raw = await run('raw', fake, 'large');
    const large = await run('connector', fake, 'large');
    const small = await run('connector', fake, 'small');
    const perS = (r) => Math.round((r.rows / r.ms) * 1000);
    console.log(
      JSON.stringify({
        bench: 'connectors.bigquery.read',
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
        bench: 'connectors.bigquery.peak_rss',
        rows: large.rows,
        rss_mb: +large.rssMb.toFixed(1),
        baseline: `same reader at ${small.rows} rows`,
        baseline_rss_mb: +small.rssMb.toFixed(1),
        ratio: +(large.rssMb / small.rssMb).toFixed(3),
      }),
    );
    // Peak RSS includes garbage V8 has not collected yet; the heap left after a GC shows that
    // nothing is retained per row.
    console.log(
      JSON.stringify({
        bench: 'connectors.bigquery.heap_after_gc',
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
