// Flagship scenario: GA4 daily traffic by channel through the real server process (official
// @google-analytics/data SDK against the @sluice/testing GA4 fake) → upsert into PostgreSQL, CSV
// to S3 partitioned by date, a Prometheus gauge scraped by a real Prometheus, and a Slack alert
// (official @slack/web-api against the Slack fake) when a channel fell more than 20 % day on day.
// Then GA4 restates yesterday (its provisional numbers are corrected) and the server restarts:
// the next run re-reads the restatement window and upserts the corrected numbers, and the Slack
// destination's `dedupe` (keys kept in the server's store as plugin state) posts only the drops
// that are new — never an alert twice.
//
// The server's clock is the real one, so "the next day" is simulated by restating yesterday
// between two runs of the same day (`fake.restate`), which is what GA4's correction looks like
// to the connector: the same dates, new numbers, re-read because they are inside `restateDays`.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGa4, startSlackFake, type FakeGa4, type SlackFake } from '@sluice/testing';
import {
  createDatabase,
  dropDatabase,
  eventually,
  pgUrl,
  requireBuiltServer,
  startServer,
  tempDir,
  triggerRun,
  waitForRun,
  withPg,
  writeConfig,
  type ServerProcess,
} from './harness.js';
import { S3_CREDENTIALS, startS3, type S3Server } from './services.js';

const ADMIN = 'ga4-admin-key-0123456789';
const PROPERTY = '424242';
const DB = `sluice_e2e_ga4_${process.pid}`;
const PROMETHEUS = '/usr/bin/prometheus';

interface Row {
  date: string;
  channel: string;
  sessions: number;
  change: number | null;
  final: boolean;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('GA4 daily traffic → PostgreSQL upsert + S3 CSV by date + Prometheus gauge + Slack drop alerts', () => {
  let ga4: FakeGa4;
  let slack: SlackFake;
  let s3: S3Server;
  let server: ServerProcess;
  let startOptions: Parameters<typeof startServer>[0];
  let prometheus: ChildProcess | undefined;
  let prometheusUrl = '';
  const prometheusOutput: string[] = [];

  beforeAll(async () => {
    requireBuiltServer();
    await createDatabase(DB);
    ga4 = await startFakeGa4({
      accessTokens: ['ga4-e2e-token'],
      properties: { [PROPERTY]: { timeZone: 'UTC', seed: 7 } },
    });
    slack = await startSlackFake({ channels: [{ name: 'marketing-alerts' }] });
    s3 = await startS3(['reports']);
    const dir = tempDir('ga4');
    const config = writeConfig(
      dir,
      `
store: { dataDir: ${join(dir, 'data')} }
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
connections:
  ga4-main:
    kind: ga4
    propertyId: '${PROPERTY}'
    apiEndpoint: ${ga4.url}
    ssrf: { allow: [127.0.0.1] } # the fakes listen on loopback: opted in explicitly
    credentials: { type: access-token, accessToken: '\${env:E2E_GA4_TOKEN}' }
    timeZone: UTC
destinations:
  warehouse:
    kind: database
    dialect: postgres
    url: ${pgUrl(DB)}
    table: ga4_sessions
    mode: upsert
    key: [date, channel]
    createTable: true
    columns:
      - { name: date, type: date, primaryKey: true }
      - { name: channel, type: text, primaryKey: true }
      - { name: sessions, type: integer }
      - { name: change, type: double, nullable: true }
      - { name: final, type: boolean, from: $._final }
  reports-bucket:
    kind: s3
    bucket: reports
    region: us-east-1
    endpoint: ${s3.endpoint}
    ssrf: { allow: [127.0.0.1] }
    credentials: { accessKeyId: ${S3_CREDENTIALS.accessKeyId}, secretAccessKey: '\${env:E2E_S3_SECRET}' }
    prefix: ga4/
    partitionBy: [ { name: date, value: '{{ record.date }}' } ]
    format: csv
  sessions-gauge:
    kind: prometheus
    metrics:
      - { name: e2e_ga4_sessions, type: gauge, help: Sessions per channel and day, value: sessions, labels: { channel: channel, date: date } }
  slack-alerts:
    kind: slack
    token: '\${env:E2E_SLACK_TOKEN}'
    apiUrl: ${slack.url}
    ssrf: { allow: [127.0.0.1] }
    channel: '#marketing-alerts'
    text: ':chart_with_downwards_trend: {{ record.channel }} sessions fell {{ record.change | times: -100 | round }} % to {{ record.sessions }} on {{ record.date }}'
    pacingMs: 0
    dedupe: { key: '{{ record.date }}:{{ record.channel }}', ttlHours: 72 }
pipelines:
  ga4-daily:
    source:
      connection: ga4-main
      dimensions: [date, sessionDefaultChannelGroup]
      metrics: [sessions]
      dateRange: { startDate: 2daysAgo, endDate: yesterday }
      compareWith: previousDay
      restateDays: 2
    routes:
      - name: drops-to-slack
        priority: 100
        when: { path: $.change, op: lt, value: -0.2 }
        transform:
          - { kind: rename, fields: { sessionDefaultChannelGroup: channel } }
        to: [slack-alerts]
      - name: every-row
        priority: 10
        transform:
          - { kind: rename, fields: { sessionDefaultChannelGroup: channel } }
          - { kind: pick, fields: [date, channel, sessions, change, _final] }
        to: [warehouse, reports-bucket, sessions-gauge]
`,
    );
    startOptions = {
      config,
      adminKey: ADMIN,
      env: {
        E2E_GA4_TOKEN: 'ga4-e2e-token',
        E2E_SLACK_TOKEN: slack.token,
        E2E_S3_SECRET: S3_CREDENTIALS.secretAccessKey,
      },
    };
    server = await startServer(startOptions);

    const promDir = tempDir('prometheus');
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: sluice\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs: [ { targets: ['${new URL(server.url).host}'] } ]\n`,
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(promDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(promDir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    prometheus.stdout?.on('data', (c: Buffer) => prometheusOutput.push(c.toString()));
    prometheus.stderr?.on('data', (c: Buffer) => prometheusOutput.push(c.toString()));
  }, 120_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise<void>((r) => prometheus!.once('exit', () => r()));
      prometheus.kill('SIGTERM');
      const timer = setTimeout(() => prometheus?.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    }
    await server?.stop();
    await Promise.all([ga4?.close(), slack?.close(), s3?.close()]);
    await dropDatabase(DB);
  }, 60_000);

  /** What GA4 reports now, asked directly over the Data API's REST wire (not through Sluice). */
  async function ga4Report(startDate: string, endDate: string): Promise<Map<string, number>> {
    const res = await fetch(`${ga4.url}/v1beta/properties/${PROPERTY}:runReport`, {
      method: 'POST',
      headers: { authorization: 'Bearer ga4-e2e-token', 'content-type': 'application/json' },
      body: JSON.stringify({
        dimensions: [{ name: 'date' }, { name: 'sessionDefaultChannelGroup' }],
        metrics: [{ name: 'sessions' }],
        dateRanges: [{ startDate, endDate }],
        limit: 1000,
      }),
    });
    const body = (await res.json()) as {
      rows?: { dimensionValues: { value: string }[]; metricValues: { value: string }[] }[];
    };
    const out = new Map<string, number>();
    for (const row of body.rows ?? []) {
      const d = row.dimensionValues[0]!.value;
      out.set(
        `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}|${row.dimensionValues[1]!.value}`,
        Number(row.metricValues[0]!.value),
      );
    }
    return out;
  }

  const tableRows = () =>
    withPg(
      DB,
      async (c) =>
        (
          await c.query<Row>(
            `SELECT to_char(date, 'YYYY-MM-DD') AS date, channel, sessions, change, final FROM ga4_sessions ORDER BY date, channel`,
          )
        ).rows,
    );

  /** The alerts the rows call for: channel-days that fell more than 20 % from the day before. */
  function expectedAlerts(report: Map<string, number>, dates: string[]): string[] {
    const out: string[] = [];
    for (const [key, sessions] of report) {
      const [date, channel] = key.split('|') as [string, string];
      if (!dates.includes(date)) continue;
      const before = report.get(
        `${new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10)}|${channel}`,
      );
      if (before !== undefined && before !== 0 && (sessions - before) / before < -0.2)
        out.push(`${date}|${channel}`);
    }
    return out.sort();
  }

  const alertKeys = () =>
    slack.messagesIn('#marketing-alerts').map((m) => {
      const match =
        /:chart_with_downwards_trend: (.+) sessions fell \d+ % to \d+ on (\d{4}-\d{2}-\d{2})/.exec(
          m.text ?? '',
        );
      return match ? `${match[2]}|${match[1]}` : `unparsed: ${m.text}`;
    });

  it('upserts the days into PostgreSQL, writes CSV by date to S3, exposes the gauge and alerts on drops', async () => {
    const today = ga4.today(PROPERTY);
    const day = (n: number) =>
      new Date(Date.parse(`${today}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
    const dates = [day(2), day(1)];
    const run = await waitForRun(server, await triggerRun(server, 'ga4-daily'), 90_000);
    expect(run.status).toBe('succeeded');

    const report = await ga4Report(day(3), day(1));
    const rows = await tableRows();
    expect(rows.map((r) => `${r.date}|${r.channel}=${r.sessions}`)).toEqual(
      [...report]
        .filter(([k]) => dates.includes(k.split('|')[0]!))
        .map(([k, v]) => `${k}=${v}`)
        .sort(),
    );
    // Both days are inside the restatement window: provisional.
    expect(rows.every((r) => r.final === false)).toBe(true);

    // S3: one partition per date, every row of that date in its CSV objects.
    const keys = await s3.list('reports', 'ga4/');
    expect(new Set(keys.map((k) => k.split('/')[1]))).toEqual(
      new Set(dates.map((d) => `date=${d}`)),
    );
    const csvRows = (await Promise.all(keys.map((k) => s3.read('reports', k)))).flatMap((text) =>
      text.trim().split('\n').slice(1),
    );
    expect(csvRows).toHaveLength(rows.length);

    // Prometheus scraped the gauge from the server's /metrics.
    await eventually(
      async () => {
        if (prometheus?.exitCode !== null)
          throw new Error(`prometheus exited:\n${prometheusOutput.join('')}`);
        const res = await fetch(
          `${prometheusUrl}/api/v1/query?query=${encodeURIComponent('e2e_ga4_sessions')}`,
        );
        const body = (await res.json()) as {
          data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        const got = new Map(
          (body.data?.result ?? []).map((r) => [
            `${r.metric.date}|${r.metric.channel}`,
            Number(r.value[1]),
          ]),
        );
        return rows.every((r) => got.get(`${r.date}|${r.channel}`) === r.sessions)
          ? true
          : undefined;
      },
      30_000,
      'Prometheus to scrape every gauge',
    );

    // Slack: one alert per channel-day that fell more than 20 %.
    await eventually(
      async () => (alertKeys().length >= expectedAlerts(report, dates).length ? true : undefined),
      20_000,
      'the Slack alerts',
    );
    expect(alertKeys().sort()).toEqual(expectedAlerts(report, dates));
  });

  it("upserts GA4's corrected numbers when it restates yesterday; after a restart, posts only new drops — no alert twice", async () => {
    const today = ga4.today(PROPERTY);
    const day = (n: number) =>
      new Date(Date.parse(`${today}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
    const [yesterday, dates] = [day(1), [day(2), day(1)]];
    const before = await tableRows();
    const alertsBefore = alertKeys();
    expect(new Set(alertsBefore).size).toBe(alertsBefore.length);

    // GA4 corrects yesterday. The fake's numbers are seeded, so restate until the correction
    // turns a channel-day that was not a drop into one: a genuinely new alert the next run must post.
    let newDrops: string[] = [];
    for (let restatements = 1; newDrops.length === 0; restatements++) {
      expect(restatements, 'a restatement that creates a new drop').toBeLessThanOrEqual(50);
      ga4.restate(PROPERTY, yesterday);
      newDrops = expectedAlerts(await ga4Report(day(3), day(1)), dates).filter(
        (k) => !alertsBefore.includes(k),
      );
    }

    // A restart between the runs: what the Slack destination posted is remembered by the store,
    // not by the process.
    await server.stop();
    server = await startServer(startOptions);
    const run = await waitForRun(server, await triggerRun(server, 'ga4-daily'), 90_000);
    expect(run.status).toBe('succeeded');
    expect(run.counts.deadLettered).toBe(0);

    const report = await ga4Report(yesterday, yesterday);
    const after = await tableRows();
    expect(after).toHaveLength(before.length);
    for (const row of after.filter((r) => r.date === yesterday))
      expect(row.sessions).toBe(report.get(`${row.date}|${row.channel}`));
    expect(
      after
        .filter((r) => r.date === yesterday)
        .some((r, i) => r.sessions !== before.filter((b) => b.date === yesterday)[i]!.sessions),
    ).toBe(true);

    // Slack: the re-read drops that were announced already are skipped (dedupe by date and
    // channel); exactly the new ones are posted, once.
    await eventually(
      async () => (alertKeys().length >= alertsBefore.length + newDrops.length ? true : undefined),
      20_000,
      'the new Slack alerts',
    );
    const alertsAfter = alertKeys();
    const posted = alertsAfter.slice(alertsBefore.length);
    expect(posted.sort()).toEqual(newDrops.sort());
    expect(new Set(alertsAfter).size).toBe(alertsAfter.length);
    const repeated = posted.filter((k) => alertsBefore.includes(k));
    expect(repeated).toEqual([]);
    const stillDrops = expectedAlerts(await ga4Report(day(3), day(1)), dates).filter((k) =>
      alertsBefore.includes(k),
    );
    const s3Objects = (await s3.list('reports', 'ga4/')).length;
    console.log(
      JSON.stringify({
        ga4: {
          rows: after.length,
          alertsFirstRun: alertsBefore.length,
          alertsSecondRun: posted.length,
          newDrops: newDrops.length,
          skippedAsAlreadySent: stillDrops.length,
          repeatedAlerts: repeated.length,
          s3Objects,
        },
      }),
    );
  });
});
