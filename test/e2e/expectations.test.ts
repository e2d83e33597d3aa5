// Expectations through the real server (issue 21): a pipeline whose route declares record and
// run checks dead-letters, drops, warns and fails the run as configured; the run's log carries
// the per-check counts of the run summary, and /metrics the per-check violation counters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  listDeadLetters,
  pgUrl,
  requireBuiltServer,
  startServer,
  tempDir,
  triggerRun,
  waitForRun,
  writeConfig,
  type ServerProcess,
} from './harness.js';

const ADMIN = 'expectations-admin-key-0123456789';
const STORE_DB = `sluice_e2e_expect_${process.pid}`;

// 20 sample records, seq 1..20: seq 16..20 are dropped (range), seq 4 is dead-lettered
// (predicate; one letter, the route has one destination), seq 11..20 are warned about (and
// delivered unless another check rejects them), and 14 of 20 records passing fails row-count.
const CONFIG = `
store: { url: '${pgUrl(STORE_DB)}' }
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
logging: { level: info }
destinations:
  gauges:
    kind: prometheus
    metrics:
      - { name: expect_rows_total, type: counter, help: 'Rows that passed the expectations' }
pipelines:
  numbers:
    source: { kind: sample, seed: 7, total: 20, perRun: 20, pageSize: 10 }
    routes:
      - name: all
        to: [gauges]
        expect:
          - { check: range, field: seq, max: 15, action: drop }
          - { check: predicate, name: not-four, when: { filter: '@.seq != 4' }, action: dead-letter }
          - { check: range, name: small-seq, field: seq, max: 10, action: warn }
          - { check: required, field: channel }
          - { check: row-count, minRatio: 1, action: fail-run }
`;

describe('expectations end to end', () => {
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    requireBuiltServer();
    await createDatabase(STORE_DB);
    server = await startServer({ config: writeConfig(tempDir('expect'), CONFIG), adminKey: ADMIN });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await dropDatabase(STORE_DB);
  });

  it('dead-letters, drops, warns and fails the run, with per-check counts', async () => {
    const runId = await triggerRun(server!, 'numbers');
    const run = await waitForRun(server!, runId);
    expect(run.status).toBe('failed');
    expect(run.error?.message).toContain(
      'expectation "row-count" (row-count) of route "all" failed: got 14, expected a row count of at least 1 × the 20 record(s) read',
    );
    expect(run.counts).toMatchObject({ read: 20, delivered: 14, deadLettered: 1, dropped: 5 });
    // The failed run's breakdown counts each expectation's violations (the run view's table).
    expect(run.breakdown?.expectations).toEqual({
      all: {
        'range:seq': expect.objectContaining({ check: 'range', action: 'drop', violations: 5 }),
        'not-four': expect.objectContaining({ check: 'predicate', violations: 1 }),
        'small-seq': expect.objectContaining({ check: 'range', action: 'warn', violations: 10 }),
        'required:channel': expect.objectContaining({ check: 'required', violations: 0 }),
        'row-count': expect.objectContaining({ check: 'row-count', violations: 1 }),
      },
    });
    expect(run.breakdown?.destinations.gauges).toMatchObject({ delivered: 14, deadLettered: 1 });

    const letters = await listDeadLetters(server!, { pipeline: 'numbers' });
    expect(letters).toHaveLength(1);
    expect(letters[0]!.record.seq).toBe(4);
    const letter = await server!.api('GET', `/api/v1/dead-letters/${letters[0]!.id}`);
    expect(JSON.stringify(letter.body)).toContain(
      'expectation \\"not-four\\" (predicate) of route \\"all\\" failed',
    );

    // The run summary's per-check counts, in the run's log.
    const logs = await server!.api<{ items: Record<string, unknown>[] }>(
      'GET',
      `/api/v1/runs/${runId}/logs?limit=500`,
    );
    expect(logs.status).toBe(200);
    const checked = logs.body.items.find((l) => JSON.stringify(l).includes('expectations checked'));
    expect(checked, JSON.stringify(logs.body.items).slice(0, 2000)).toBeDefined();
    const text = JSON.stringify(checked);
    for (const name of ['range:seq', 'not-four', 'small-seq', 'required:channel', 'row-count'])
      expect(text).toContain(`"${name}":{"check":`);
    expect(text).toMatch(/"required:channel":\{[^}]*"violations":0/);
    expect(text).toMatch(/"not-four":\{[^}]*"violations":1/);
    expect(text).toMatch(/"small-seq":\{[^}]*"violations":10/);
    expect(text).toMatch(/"range:seq":\{[^}]*"violations":5/);

    const metrics = await fetch(`${server!.url}/metrics`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    }).then((r) => r.text());
    const series = (expectation: string, check: string, action: string) =>
      new RegExp(
        `^sluice_router_expectation_violations_total\\{pipeline="numbers",route="all",expectation="${expectation}",check="${check}",action="${action}",destination=""\\} (\\d+)$`,
        'm',
      ).exec(metrics)?.[1];
    expect(series('range:seq', 'range', 'drop')).toBe('5');
    expect(series('not-four', 'predicate', 'dead-letter')).toBe('1');
    expect(series('small-seq', 'range', 'warn')).toBe('10');
    expect(series('row-count', 'row-count', 'fail-run')).toBe('1');
    expect(metrics).toMatch(/^expect_rows_total 14$/m);
  }, 120_000);
});
