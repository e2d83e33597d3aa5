// /metrics of the real server, checked by Prometheus' own linter: `promtool check metrics` must
// accept it in configurations with several Prometheus destinations whose cardinality limits drop
// series (each family once, one HELP, no `_total` on gauges).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  writeConfig,
  type ServerProcess,
} from './harness.js';

const ADMIN = 'metrics-admin-key-0123456789';
const STORE_DB = `sluice_e2e_metrics_${process.pid}`;

function promtool(text: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error)
    throw new Error(
      `promtool is not installed (scripts/ci/services.sh installs prometheus): ${result.error.message}`,
    );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Every `# HELP <name>` / `# TYPE <name>` line by family. */
function headerCounts(text: string, kind: 'HELP' | 'TYPE'): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`^# ${kind} (\\S+)`).exec(line);
    if (match) counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1);
  }
  return counts;
}

function config(destinations: number): string {
  const blocks = Array.from(
    { length: destinations },
    (_, i) => `
  gauges-${i}:
    kind: prometheus
    maxSeriesPerMetric: 3
    metrics:
      - { name: sample_sessions_${i}, type: gauge, help: 'Sessions by seq (destination ${i})', value: sessions, labels: { seq: seq } }
      - { name: sample_rows_${i}_total, type: counter, help: 'Rows (destination ${i})' }`,
  ).join('');
  return `
store: { url: '${pgUrl(STORE_DB)}' }
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
logging: { level: info }
destinations:${blocks}
pipelines:
  numbers:
    source: { kind: sample, seed: 7, total: 40, perRun: 40, pageSize: 10 }
    routes:
      - { name: all, to: [${Array.from({ length: destinations }, (_, i) => `gauges-${i}`).join(', ')}] }
`;
}

describe('/metrics passes promtool check metrics', () => {
  let server: ServerProcess | undefined;
  beforeAll(() => requireBuiltServer());
  afterAll(async () => {
    await server?.stop();
    await dropDatabase(STORE_DB);
  });

  for (const destinations of [1, 3]) {
    it(`${destinations} prometheus destination(s) with dropped series`, async () => {
      await server?.stop();
      await createDatabase(STORE_DB);
      server = await startServer({
        config: writeConfig(tempDir('metrics'), config(destinations)),
        adminKey: ADMIN,
      });
      const scrape = async () => {
        const res = await fetch(`${server!.url}/metrics`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        expect(res.status).toBe(200);
        return res.text();
      };
      // Before any run: default metrics and the server's own families only.
      const idle = await scrape();
      expect(promtool(idle)).toEqual({ status: 0, output: '' });
      const run = await triggerRun(server, 'numbers');
      expect((await waitForRun(server, run)).status).toBe('succeeded');
      const text = await eventually(
        async () => {
          const t = await scrape();
          return t.includes('sluice_prometheus_series_dropped_total{') ? t : undefined;
        },
        20_000,
        'dropped series on /metrics',
      );
      expect(promtool(text)).toEqual({ status: 0, output: '' });
      // Each family once, with one HELP text.
      for (const kind of ['HELP', 'TYPE'] as const) {
        const repeated = [...headerCounts(text, kind)].filter(([, n]) => n > 1);
        expect(repeated).toEqual([]);
      }
      // 40 records over 40 seq values, 3 series kept per gauge: 37 dropped per destination.
      for (let i = 0; i < destinations; i++) {
        expect(text).toMatch(
          new RegExp(
            `^sluice_prometheus_series_dropped_total\\{metric="sample_sessions_${i}"\\} 37$`,
            'm',
          ),
        );
        expect(text.match(new RegExp(`^sample_sessions_${i}\\{`, 'gm'))).toHaveLength(3);
        expect(text).toMatch(new RegExp(`^sample_rows_${i}_total 40$`, 'm'));
      }
      expect(text).not.toMatch(/^sluice_nodejs_active_\w+_total/m);
      expect(text).toMatch(/^# TYPE sluice_nodejs_active_handles gauge$/m);
    }, 120_000);
  }
});
