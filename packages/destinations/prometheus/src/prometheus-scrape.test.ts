// End to end: a real Prometheus server (Debian's /usr/bin/prometheus) scrapes the destination's
// registry over HTTP every second, and the value written as a record is read back through the
// Prometheus query API. Bounded to ~20 s; Prometheus is killed afterwards whatever happens.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPluginContext, parseConfig } from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import {
  createPrometheusDestination,
  prometheusDestination,
  type PrometheusDestinationInstance,
} from './destination.js';

const PROMETHEUS = '/usr/bin/prometheus';
const DEADLINE_MS = 20_000;

let dir: string;
let metricsServer: Server;
let prometheus: ChildProcess | undefined;
let prometheusOrigin: string;
let destination: PrometheusDestinationInstance;
const output: string[] = [];

async function freePort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  if (!existsSync(PROMETHEUS)) {
    throw new Error(`${PROMETHEUS} is missing: install it with "apt-get install -y prometheus"`);
  }
  dir = await mkdtemp(join(tmpdir(), 'sluice-dest-prometheus-'));
  destination = createPrometheusDestination(
    parseConfig(prometheusDestination.configSchema, {
      metrics: [
        {
          name: 'sluice_e2e_sessions',
          type: 'gauge',
          help: 'Sessions by channel',
          value: 'sessions',
          labels: { channel: 'channel' },
        },
        { name: 'sluice_e2e_rows_total', type: 'counter', help: 'Rows seen' },
      ],
    }),
    createPluginContext(),
  );
  // What the server does: serve the destination's registry at /metrics.
  metricsServer = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    const registry = destination.getRegistry();
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve) => metricsServer.listen(0, '127.0.0.1', resolve));
  const target = `127.0.0.1:${(metricsServer.address() as AddressInfo).port}`;

  await writeFile(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: sluice',
      '    scrape_interval: 1s',
      '    scrape_timeout: 1s',
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  prometheusOrigin = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  prometheus.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
});

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise<void>((resolve) => prometheus!.once('exit', () => resolve()));
    prometheus.kill('SIGTERM');
    const timer = setTimeout(() => prometheus?.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
  await new Promise<void>((resolve) =>
    metricsServer ? metricsServer.close(() => resolve()) : resolve(),
  );
  await destination?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Polls an instant query until `accept` likes the result or the deadline passes. */
async function queryUntil(
  query: string,
  accept: (values: { labels: Record<string, string>; value: number }[]) => boolean,
  deadline: number,
): Promise<{ labels: Record<string, string>; value: number }[]> {
  let last: unknown = 'no answer yet';
  while (Date.now() < deadline) {
    if (prometheus?.exitCode !== null)
      throw new Error(`prometheus exited early:\n${output.join('')}`);
    try {
      const res = await fetch(
        `${prometheusOrigin}/api/v1/query?query=${encodeURIComponent(query)}`,
        {
          signal: AbortSignal.timeout(2_000),
        },
      );
      const body = (await res.json()) as {
        status: string;
        data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      last = body;
      const values = (body.data?.result ?? []).map((r) => ({
        labels: r.metric,
        value: Number(r.value[1]),
      }));
      if (body.status === 'success' && accept(values)) return values;
    } catch (err) {
      last = err; // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `no acceptable answer to ${query} in time; last: ${JSON.stringify(last)}\n${output.join('')}`,
  );
}

it(
  'Prometheus scrapes the records written as metrics and answers them through its query API',
  async () => {
    const deadline = Date.now() + DEADLINE_MS;
    const signal = new AbortController().signal;
    await destination.write(
      makeBatch([
        { channel: 'email', sessions: 1204 },
        { channel: 'paid', sessions: 88.5 },
      ]),
      { signal },
    );
    const sessions = await queryUntil(
      'sluice_e2e_sessions',
      (values) => values.length === 2,
      deadline,
    );
    expect(Object.fromEntries(sessions.map((s) => [s.labels.channel, s.value]))).toEqual({
      email: 1204,
      paid: 88.5,
    });
    expect(sessions[0]!.labels.job).toBe('sluice');

    // A later write is picked up by a later scrape.
    await destination.write(makeBatch([{ channel: 'email', sessions: 1300 }]), { signal });
    const updated = await queryUntil(
      'sluice_e2e_sessions{channel="email"}',
      (values) => values[0]?.value === 1300,
      deadline,
    );
    expect(updated[0]!.value).toBe(1300);
    const rows = await queryUntil(
      'sluice_e2e_rows_total',
      (values) => values[0]?.value === 3,
      deadline,
    );
    expect(rows[0]!.value).toBe(3);
  },
  DEADLINE_MS + 10_000,
);
