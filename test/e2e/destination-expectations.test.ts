// Destination expectations through the real server (issue 21): `destinations.gauges.expect`
// checks every record the destination receives, from either of two routes. The records it
// refuses become dead letters for that destination only (the other destination of the route
// still gets them), and the run's breakdown (GET /api/v1/runs/{id}) counts the checks.
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

const ADMIN = 'destination-expect-admin-key-0123456789';
const STORE_DB = `sluice_e2e_dest_expect_${process.pid}`;

// 20 sample records, seq 1..20. Route `low` (seq <= 10) sends to gauges and tally, route
// `high` (the rest) to gauges. The gauges refuse seq 4 (from low) and seq 14 (from high).
const CONFIG = `
store: { url: '${pgUrl(STORE_DB)}' }
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
logging: { level: info }
destinations:
  gauges:
    kind: prometheus
    metrics:
      - { name: dest_expect_gauges_total, type: counter, help: 'Rows the gauges took' }
    expect:
      - name: not-4-or-14
        check: predicate
        when: { filter: '@.seq != 4 && @.seq != 14' }
      - { check: unique, field: seq }
      - { check: range, name: small, field: seq, max: 15, action: warn }
      - { check: row-count, minRatio: 1, action: warn }
  tally:
    kind: prometheus
    metrics:
      - { name: dest_expect_tally_total, type: counter, help: 'Rows the tally took' }
pipelines:
  numbers:
    source: { kind: sample, seed: 7, total: 20, perRun: 20, pageSize: 10 }
    routes:
      - { name: low, when: { path: '$.seq', op: lte, value: 10 }, to: [gauges, tally], mode: stop }
      - { name: high, to: [gauges] }
`;

describe('destination expectations end to end', () => {
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    requireBuiltServer();
    await createDatabase(STORE_DB);
    server = await startServer({
      config: writeConfig(tempDir('dest-expect'), CONFIG),
      adminKey: ADMIN,
    });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await dropDatabase(STORE_DB);
  });

  it('dead-letters a record from each of two routes for the destination alone, with the counts in the breakdown', async () => {
    const runId = await triggerRun(server!, 'numbers');
    const run = await waitForRun(server!, runId);
    // `row-count` warns (18 of 20 reached the gauges); nothing fails the run.
    expect(run.status, JSON.stringify(run.error)).toBe('succeeded');
    expect(run.counts).toMatchObject({ read: 20, delivered: 28, deadLettered: 2, dropped: 0 });

    const letters = await listDeadLetters(server!, { pipeline: 'numbers' });
    expect(
      letters
        .map((l) => [l.record.seq, l.route, l.destination])
        .sort((a, b) => Number(a[0]) - Number(b[0])),
    ).toEqual([
      [4, 'low', 'gauges'],
      [14, 'high', 'gauges'],
    ]);
    const letter = await server!.api('GET', `/api/v1/dead-letters/${letters[0]!.id}`);
    expect(JSON.stringify(letter.body)).toMatch(
      /expectation \\"not-4-or-14\\" \(predicate\) of destination \\"gauges\\" failed for a record of route \\"(low|high)\\"/,
    );

    // The stored breakdown, as GET /api/v1/runs/{id} returns it: each check tests all 20
    // records the gauges received (a record failing one check is still tested by the others).
    const { status, body } = await server!.api<typeof run>('GET', `/api/v1/runs/${runId}`);
    expect(status).toBe(200);
    expect(body.breakdown?.expectations).toBeUndefined();
    expect(body.breakdown?.destinationExpectations).toEqual({
      gauges: {
        'not-4-or-14': {
          check: 'predicate',
          action: 'dead-letter',
          checked: 20,
          violations: 2,
        },
        'unique:seq': {
          check: 'unique',
          action: 'dead-letter',
          field: 'seq',
          checked: 20,
          violations: 0,
        },
        small: { check: 'range', action: 'warn', field: 'seq', checked: 20, violations: 5 },
        'row-count': { check: 'row-count', action: 'warn', checked: 1, violations: 1 },
      },
    });
    expect(body.breakdown?.destinations.gauges).toMatchObject({ delivered: 18, deadLettered: 2 });
    // seq 4 still reached the route's other destination.
    expect(body.breakdown?.destinations.tally).toMatchObject({ delivered: 10, deadLettered: 0 });
    expect(body.breakdown?.routes).toMatchObject({ low: { matched: 10 }, high: { matched: 10 } });

    const metrics = await fetch(`${server!.url}/metrics`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    }).then((r) => r.text());
    const series = (route: string, expectation: string, check: string, action: string) =>
      new RegExp(
        `^sluice_router_expectation_violations_total\\{pipeline="numbers",route="${route}",expectation="${expectation}",check="${check}",action="${action}",destination="gauges"\\} (\\d+)$`,
        'm',
      ).exec(metrics)?.[1];
    expect(series('low', 'not-4-or-14', 'predicate', 'dead-letter')).toBe('1');
    expect(series('high', 'not-4-or-14', 'predicate', 'dead-letter')).toBe('1');
    expect(series('high', 'small', 'range', 'warn')).toBe('5');
    expect(series('', 'row-count', 'row-count', 'warn')).toBe('1');
    expect(metrics).toMatch(/^dest_expect_gauges_total 18$/m);
    expect(metrics).toMatch(/^dest_expect_tally_total 10$/m);
  }, 120_000);
});
