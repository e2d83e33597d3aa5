import {
  FatalError,
  RetryableError,
  createMemoryMetrics,
  createPluginContext,
  parseConfig,
  type Page,
} from '@sluice/core';
import { generateEventsTable, startFakeBigQuery, type FakeBigQuery } from '@sluice/testing';
import { startTcpProxy } from '@sluice/testing/fakes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigQueryConnector } from './plugin.js';
import { fakeBigQueryConfig } from './__fixtures__/config.js';

const ROWS = 2_500;
let fake: FakeBigQuery;

beforeAll(async () => {
  fake = await startFakeBigQuery({
    accessTokens: ['good-token'],
    tables: {
      'analytics.events': generateEventsTable({ rows: ROWS, seed: 11 }),
      'analytics.scenario': generateEventsTable({ rows: 1_000, seed: 3 }),
    },
  });
});
afterAll(async () => {
  await fake.close();
});

const baseConfig = (overrides: Record<string, unknown> = {}) => fakeBigQueryConfig(fake, overrides);

async function create(overrides: Record<string, unknown> = {}, ctx = createPluginContext()) {
  return bigQueryConnector.create(
    parseConfig(bigQueryConnector.configSchema, baseConfig(overrides)),
    ctx,
  );
}

async function readAll(
  overrides: Record<string, unknown> = {},
  state?: Page['state'],
): Promise<Page[]> {
  const instance = await create(overrides);
  const pages: Page[] = [];
  for await (const page of instance.read(
    state === undefined ? {} : { state },
    new AbortController().signal,
  ))
    pages.push(page);
  return pages;
}

describe('bigquery connector scenarios', () => {
  const scenario = (overrides: Record<string, unknown> = {}) => ({
    query: 'SELECT * FROM analytics.scenario WHERE updated_at > @cursor ORDER BY updated_at',
    ...overrides,
  });

  it('pages with maxResults and page tokens, converting every type', async () => {
    fake.requests.length = 0;
    const pages = await readAll(scenario({ pageSize: 300 }));
    expect(pages.map((p) => p.records.length)).toEqual([300, 300, 300, 100]);
    const first = pages[0]!.records[0]!;
    expect(first).toMatchObject({
      id: 1,
      updated_at: '2026-01-01T00:00:00.000000Z',
      tags: [],
      address: null,
      day: '2026-01-01',
    });
    expect(typeof first.attrs).toBe('object');
    const huge = pages[0]!.records.find((r) => r.id === 11)!;
    expect(huge.huge).toBe('9007199254741003');
    const special = pages[0]!.records.find((r) => r.id === 6)!;
    expect(special.score).toBe('NaN');
    const requests = fake.requests.filter((r) => r.path.includes('/queries'));
    expect(requests[0]!.body).toMatchObject({ maxResults: 300, useLegacySql: false });
    expect(
      requests
        .slice(1)
        .every((r) => r.method === 'GET' && r.query.maxResults === '300' && r.query.pageToken),
    ).toBe(true);
  });

  it('commits a checkpoint per page that never splits rows sharing a cursor value', async () => {
    const pages = await readAll(scenario({ pageSize: 250 }));
    // Three rows share each timestamp; page 1 ends inside a group (rows 249 and 250 are 83 s).
    expect(pages[0]!.state).toEqual({ cursor: '2026-01-01T00:01:22.000000Z' });
    expect(pages.at(-1)!.state).toEqual({ cursor: '2026-01-01T00:05:33.000000Z' });
    const resumed = await readAll(scenario({ pageSize: 250 }), pages[0]!.state);
    expect(resumed.flatMap((p) => p.records).length + 249).toBe(1_000);
    const request = fake.requests.filter((r) => r.operation === 'query').at(-1)!;
    expect(request.body).toMatchObject({
      queryParameters: [
        {
          name: 'cursor',
          parameterType: { type: 'TIMESTAMP' },
          parameterValue: { value: expect.stringMatching(/^2026-01-01T00:01:22\.000/) },
        },
      ],
    });
  });

  it('reads nothing new when nothing changed, then only changed rows', async () => {
    const pages = await readAll(scenario());
    const again = await readAll(scenario(), pages.at(-1)!.state);
    expect(again).toEqual([]);
    fake.appendRows('analytics.scenario', [
      {
        ...fake.row('analytics.scenario', 0),
        id: '1001',
        updated_at: String(Date.UTC(2031, 0, 1) * 1000),
      },
    ]);
    const next = await readAll(scenario(), pages.at(-1)!.state);
    expect(next.flatMap((p) => p.records.map((r) => r.id))).toEqual([1001]);
    expect(next.at(-1)!.state).toEqual({ cursor: '2031-01-01T00:00:00.000000Z' });
  });

  it('recovers from rate limits and 5xx inside the retry budget and counts retries', async () => {
    const metrics = createMemoryMetrics();
    const instance = await create(scenario(), createPluginContext({ metrics }));
    fake.inject({ kind: 'rateLimit', times: 1, operation: 'query' });
    fake.inject({ kind: 'serverError', times: 2, operation: 'getQueryResults' });
    let count = 0;
    for await (const page of instance.read({}, new AbortController().signal))
      count += page.records.length;
    expect(count).toBe(fake.rowCount('analytics.scenario'));
    expect(metrics.get('bigquery_retries_total', { stream: 'query' })).toBe(3);
  });

  it('an aborted run stops promptly, cancels the job and keeps the last committed checkpoint', async () => {
    const instance = await create(scenario({ pageSize: 100 }));
    const controller = new AbortController();
    let committed: unknown;
    fake.inject({ kind: 'slow', delayMs: 5_000, operation: 'getQueryResults' });
    const started = Date.now();
    const run = (async () => {
      for await (const page of instance.read({}, controller.signal)) {
        committed = page.state;
        setTimeout(() => controller.abort(new Error('shutdown')), 50);
      }
    })();
    await expect(run).rejects.toThrow('shutdown');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(committed).toEqual({ cursor: '2026-01-01T00:00:32.000000Z' });
    fake.clearFaults();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(fake.cancelledJobs.length).toBeGreaterThan(0);
  });

  it('polls while the job is incomplete', async () => {
    fake.setPendingPolls(2);
    try {
      const pages = await readAll(scenario({ pageSize: 600 }));
      expect(pages.flatMap((p) => p.records).length).toBe(fake.rowCount('analytics.scenario'));
    } finally {
      fake.setPendingPolls(0);
    }
  });

  it('sends location, job timeout, byte limit and labels (jobs.insert path)', async () => {
    fake.requests.length = 0;
    await readAll(
      scenario({
        location: 'EU',
        jobTimeoutMs: 60_000,
        maximumBytesBilled: 10_000_000,
        labels: { team: 'growth' },
      }),
    );
    const insert = fake.requests.find((r) => r.operation === 'insertJob')!;
    expect(insert.body).toMatchObject({
      jobReference: { location: 'EU' },
      configuration: {
        jobTimeoutMs: '60000',
        query: { maximumBytesBilled: '10000000' },
        labels: { team: 'growth' },
      },
    });
    expect(
      fake.requests
        .filter((r) => r.operation === 'getQueryResults')
        .every((r) => r.query.location === 'EU'),
    ).toBe(true);
  });

  it('fails fatally when maximumBytesBilled is too low', async () => {
    await expect(readAll(scenario({ maximumBytesBilled: 1000 }))).rejects.toThrow(
      /maximumBytesBilled/,
    );
  });

  it('names the field and page of a malformed response', async () => {
    fake.inject({ kind: 'malformed', operation: 'getQueryResults' });
    const error = await readAll(scenario({ pageSize: 400 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/field "rows\[\]\.f" \(row 0 of page 2\)/);
  });

  it('rejects unordered incremental results before committing past them', async () => {
    const config = scenario({
      query:
        'SELECT * FROM analytics.scenario WHERE updated_at > @cursor ORDER BY updated_at, id DESC',
      cursor: { column: 'id', type: 'INT64' },
    });
    const error = await readAll(config).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FatalError);
    expect((error as Error).message).toMatch(/not ordered by the cursor column "id"/);
  });

  it('reports a cursor column missing from the result', async () => {
    const config = scenario({
      query: 'SELECT id FROM analytics.scenario WHERE updated_at > @cursor ORDER BY updated_at',
    });
    await expect(readAll(config)).rejects.toThrow(/cursor\.column "updated_at" is not a column/);
  });

  it('reads everything without a cursor (full refresh, no checkpoints)', async () => {
    const pages = await readAll({
      query: 'SELECT id, name FROM analytics.scenario WHERE id <= 450',
      cursor: undefined,
      pageSize: 200,
    });
    expect(pages.map((p) => p.records.length)).toEqual([200, 200, 50]);
    expect(pages.every((p) => p.state === undefined)).toBe(true);
  });

  it('check() estimates the cost with a dry run and discover() lists nested columns', async () => {
    const instance = await create(scenario());
    const result = await instance.check!();
    expect(result.ok).toBe(true);
    expect(result.message).toMatch(
      /would process [\d.]+ KiB \(about \$[\d.]+ at on-demand pricing\)/,
    );
    expect(result.details).toMatchObject({
      totalBytesProcessed: String(fake.rowCount('analytics.scenario') * 180),
    });
    const [stream] = await instance.discover!();
    expect(stream!.fields).toEqual(
      expect.arrayContaining([
        { name: 'id', type: 'INTEGER', nullable: false },
        { name: 'tags', type: 'ARRAY<STRING>', nullable: false },
        { name: 'address.geo.lat', type: 'FLOAT', nullable: true },
      ]),
    );
  });

  it('check() explains permission problems and byte limits', async () => {
    fake.inject({ kind: 'permissionDenied' });
    const denied = await (await create(scenario())).check!();
    expect(denied.ok).toBe(false);
    expect(denied.message).toMatch(/roles\/bigquery\.jobUser/);
    const limited = await (await create(scenario({ maximumBytesBilled: 10 }))).check!();
    expect(limited).toMatchObject({ ok: false });
    expect(limited.message).toMatch(/more than maximumBytesBilled/);
  });

  it('validates the config with paths', () => {
    const attempt = () =>
      parseConfig(
        bigQueryConnector.configSchema,
        baseConfig({ query: 'SELECT * FROM t', pageSize: 0 }),
        ['sources', 'bq'],
      );
    expect(attempt).toThrow(/sources\.bq\.query: the query must use the cursor parameter/);
    expect(attempt).toThrow(/sources\.bq\.pageSize/);
    expect(() =>
      parseConfig(
        bigQueryConnector.configSchema,
        baseConfig({ query: 'SELECT * FROM t WHERE updated_at > @cursor' }),
      ),
    ).toThrow(/ORDER BY the cursor column/);
  });

  it('rejects a checkpoint of another shape', async () => {
    const instance = await create(scenario());
    const read = async () => {
      for await (const _ of instance.read({ state: 'yesterday' }, new AbortController().signal))
        void _;
    };
    await expect(read()).rejects.toThrow(/state\.cursor/);
  });

  it('maps an injected quota error with Retry-After onto retryAfterMs', async () => {
    fake.inject({ kind: 'quota', times: Infinity, retryAfterSeconds: 120 });
    try {
      const error = await readAll(scenario()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RetryableError);
      expect((error as RetryableError).retryAfterMs).toBe(120_000);
    } finally {
      fake.clearFaults();
    }
  });
});

describe('bigquery connector: outgoing-connection guard on apiEndpoint', () => {
  it('refuses loopback and metadata endpoints without opt-in: coded error, no TCP connection; reads with it', async () => {
    const proxy = await startTcpProxy(Number(new URL(fake.url).port), '127.0.0.1', {
      listenHost: '::',
    });
    try {
      for (const host of [
        '127.0.0.1',
        'localhost',
        '[::1]',
        '[::ffff:127.0.0.1]',
        '[::127.0.0.1]',
        '2130706433',
        '169.254.169.254',
      ]) {
        const noOptIn = { apiEndpoint: `http://${host}:${proxy.port}`, ssrf: {} };
        const error = await readAll(noOptIn).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error, host).toBeInstanceOf(FatalError);
        expect(error, host).toMatchObject({
          code: 'SLUICE_ERR_BLOCKED_ADDRESS',
          details: { field: 'apiEndpoint' },
        });
        expect((error as Error).message, host).toMatch(
          /^apiEndpoint: refusing to connect to .*(loopback|linkLocal) addresses are blocked/,
        );
        const instance = await create(noOptIn);
        expect(await instance.check!(), host).toMatchObject({
          ok: false,
          details: { code: 'SLUICE_ERR_BLOCKED_ADDRESS' },
        });
        await expect(instance.discover!(), host).rejects.toMatchObject({
          code: 'SLUICE_ERR_BLOCKED_ADDRESS',
        });
        await instance.close?.();
      }
      expect(proxy.accepted).toBe(0);

      const pages = await readAll({
        apiEndpoint: `http://127.0.0.1:${proxy.port}`,
        ssrf: { allow: ['127.0.0.1'] },
      });
      expect(pages.flatMap((p) => p.records).length).toBeGreaterThan(0);
      expect(proxy.accepted).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  });
});
