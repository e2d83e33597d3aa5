// Destination-level expectations (`destinations.<name>.expect`): checked on every record the
// destination receives, from any route, after the route's transforms and own expectations.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  createMemoryMetrics,
  createPluginContext,
  type ExpectationSpec,
  type RouteSpec,
  type SluiceRecord,
} from '@sluice/core';
import { dryRun } from '../dry-run.js';
import { compileRouteTable } from '../route-table.js';
import { createRouter } from '../delivery/router.js';
import { RunFailedError } from '../delivery/errors.js';
import { runPipeline } from '../run-pipeline.js';
import {
  memoryCheckpoints,
  memoryConnector,
  memoryDeadLetters,
  recordingDestination,
} from '../__fixtures__/fakes.js';

const ctx = createPluginContext();

// Two routes into `warehouse`: `paid` (also to `archive`) and `all`, which adds `via`.
const ROUTES: RouteSpec[] = [
  {
    name: 'paid',
    when: { path: '$.channel', op: 'eq', value: 'paid' },
    to: ['warehouse', 'archive'],
    mode: 'stop',
  },
  { name: 'all', to: ['warehouse'], transform: [{ kind: 'set', field: 'via', value: 'all' }] },
];

function tableOf(
  warehouse: ExpectationSpec[] | undefined,
  routes: RouteSpec[] = ROUTES,
  archive?: ExpectationSpec[],
) {
  return compileRouteTable(routes, {
    ctx,
    destinations: ['warehouse', 'archive'],
    path: ['pipelines', 'p'],
    destinationExpectations: { warehouse, ...(archive ? { archive } : {}) },
  });
}

function problems(warehouse: unknown[], routes?: RouteSpec[]): string[] {
  try {
    tableOf(warehouse as ExpectationSpec[], routes);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

async function run(
  warehouse: ExpectationSpec[],
  records: SluiceRecord[],
  options: { routes?: RouteSpec[]; archive?: ExpectationSpec[]; now?: number } = {},
) {
  const metrics = createMemoryMetrics();
  const now = options.now ?? Date.now();
  const runCtx = createPluginContext({
    metrics,
    clock: { now: () => now, sleep: async () => undefined },
  });
  const table = compileRouteTable(options.routes ?? ROUTES, {
    ctx: runCtx,
    destinations: ['warehouse', 'archive'],
    destinationExpectations: {
      warehouse,
      ...(options.archive ? { archive: options.archive } : {}),
    },
  });
  const warehouseOut = recordingDestination();
  const archiveOut = recordingDestination();
  const deadLetters = memoryDeadLetters();
  const router = createRouter({
    table,
    destinations: {
      warehouse: { instance: warehouseOut, capabilities: { idempotent: true } },
      archive: { instance: archiveOut, capabilities: { idempotent: true } },
    },
    deadLetters,
    ctx: runCtx,
    pipeline: 'p',
    runId: 'r1',
    source: 'test',
  });
  let error: unknown;
  let summary;
  try {
    summary = await runPipeline({
      connector: memoryConnector([{ records }]),
      request: {},
      router,
      checkpoints: memoryCheckpoints(),
      pipeline: 'p',
      signal: new AbortController().signal,
    });
  } catch (e) {
    error = e;
    summary = router.summary();
  }
  const violations = (labels: Record<string, string>) =>
    metrics.get('sluice_router_expectation_violations_total', { pipeline: 'p', ...labels });
  return { warehouseOut, archiveOut, deadLetters, summary: summary!, error, violations, metrics };
}

describe('compiling destination expectations', () => {
  it('refuses bad ones at the destination path, not under the pipeline', () => {
    expect(
      problems([
        { check: 'required', field: 'id' },
        { check: 'required', field: 'email', action: 'explode' },
      ]),
    ).toEqual([
      'destinations.warehouse.expect[1].action: unknown action "explode" (known: dead-letter, drop, warn, fail-run)',
    ]);
    expect(problems([{ check: 'row-count', minRatio: 1, action: 'dead-letter' }])).toEqual([
      'destinations.warehouse.expect[0].action: check "row-count" tests the whole run, so its action is "warn" or "fail-run" (there is no one record to dead-letter)',
    ]);
    expect(problems([{ check: 'pattern', field: 'email', pattern: '(a+)+$' }])[0]).toMatch(
      /^destinations\.warehouse\.expect\[0\]\.pattern: a quantifier applied to a group/,
    );
    expect(problems([{ check: 'range', field: 'n', min: 1, ttl: 2 }])).toEqual([
      'destinations.warehouse.expect[0].ttl: is not an option of check "range" (it takes check, name, action, field, min, max)',
    ]);
  });

  it('keeps names unique per destination, apart from the routes', () => {
    expect(
      problems([
        { check: 'required', field: 'id' },
        { check: 'required', field: 'id', action: 'warn' },
      ]),
    ).toEqual([
      'destinations.warehouse.expect[1].name: duplicate expectation name "required:id" (also destinations.warehouse.expect[0]); give one a "name"',
    ]);
    // The same name on a route and on a destination is two expectations.
    const routes: RouteSpec[] = [
      { name: 'all', to: ['warehouse'], expect: [{ check: 'required', field: 'id' }] },
    ];
    expect(problems([{ check: 'required', field: 'id' }], routes)).toEqual([]);
    const table = tableOf([{ check: 'required', field: 'id' }], routes);
    expect([...table.destinationExpectations!.keys()]).toEqual(['warehouse']);
    expect(table.routes[0]!.expectations!.map((e) => e.name)).toEqual(['required:id']);
  });
});

describe('destination expectations in a run', () => {
  it('checks what the destination receives from every route, dead-letters for it alone', async () => {
    const { warehouseOut, archiveOut, deadLetters, summary, error, violations } = await run(
      [
        { check: 'required', field: 'id', action: 'dead-letter' },
        { check: 'range', field: 'amount', min: 0, action: 'drop' },
        { check: 'unique', field: 'id', action: 'drop' },
        { check: 'pattern', name: 'email-shape', field: 'email', pattern: '@', action: 'warn' },
      ],
      [
        { id: 1, channel: 'paid', amount: 5, email: 'a@x' },
        { channel: 'paid', amount: 5, email: 'b@x' }, // no id (route paid): dead letter for warehouse
        { channel: 'organic', amount: 3, email: 'c@x' }, // no id (route all): dead letter for warehouse
        { id: 4, channel: 'organic', amount: -1, email: 'd@x' }, // below range: dropped for warehouse
        { id: 1, channel: 'organic', amount: 2, email: 'e@x' }, // id 1 came from route paid: duplicate
        { id: 6, channel: 'organic', amount: 2, email: 'nope' }, // warned, delivered
      ],
    );
    expect(error).toBeUndefined();
    expect(warehouseOut.written.map((r) => r.id)).toEqual([1, 6]);
    expect(warehouseOut.written[1]).toMatchObject({ via: 'all' });
    // The route's other destination gets its records: the checks are the warehouse's.
    expect(archiveOut.written.map((r) => r.email)).toEqual(['a@x', 'b@x']);

    expect(deadLetters.letters.map((l) => [l.route, l.destination])).toEqual([
      ['paid', 'warehouse'],
      ['all', 'warehouse'],
    ]);
    expect(deadLetters.letters[0]!.error).toMatchObject({
      name: 'ExpectationError',
      message:
        'expectation "required:id" (required) of destination "warehouse" failed on field "id" for a record of route "paid": got missing, expected a value (the field is required)',
    });
    expect(deadLetters.letters[1]!.error.message).toContain('for a record of route "all"');
    // The route's output (after its transform) is the letter's record.
    expect(deadLetters.letters[1]!.record).toMatchObject({ channel: 'organic', via: 'all' });

    expect(summary.records.acknowledged).toBe(6);
    expect(summary.deadLettered).toBe(2);
    expect(summary.dropped).toBe(2);
    expect(summary.destinations.warehouse).toMatchObject({
      delivered: 2,
      deadLettered: 2,
      dropped: 2,
    });
    expect(summary.destinations.archive).toMatchObject({ delivered: 2, deadLettered: 0 });
    expect(summary.routes.paid).toMatchObject({ matched: 2, produced: 2 });
    expect(summary.routes.all).toMatchObject({ matched: 4, produced: 4 });
    expect(summary.expectations).toBeUndefined();
    expect(summary.destinationExpectations).toEqual({
      warehouse: {
        'required:id': {
          check: 'required',
          action: 'dead-letter',
          field: 'id',
          checked: 6,
          violations: 2,
        },
        'range:amount': {
          check: 'range',
          action: 'drop',
          field: 'amount',
          checked: 6,
          violations: 1,
        },
        'unique:id': { check: 'unique', action: 'drop', field: 'id', checked: 6, violations: 1 },
        'email-shape': {
          check: 'pattern',
          action: 'warn',
          field: 'email',
          checked: 6,
          violations: 1,
        },
      },
    });
    const required = { expectation: 'required:id', check: 'required', action: 'dead-letter' };
    expect(violations({ ...required, route: 'paid', destination: 'warehouse' })).toBe(1);
    expect(violations({ ...required, route: 'all', destination: 'warehouse' })).toBe(1);
    expect(
      violations({
        expectation: 'unique:id',
        check: 'unique',
        action: 'drop',
        route: 'all',
        destination: 'warehouse',
      }),
    ).toBe(1);
  });

  it('runs after the route expectations and transforms', async () => {
    const routes: RouteSpec[] = [
      {
        name: 'all',
        to: ['warehouse'],
        transform: [{ kind: 'rename', fields: { ref: 'id' } }],
        expect: [{ check: 'required', field: 'id', action: 'drop' }],
      },
    ];
    const { warehouseOut, summary, deadLetters } = await run(
      [{ check: 'range', field: 'id', min: 10 }],
      [{ ref: 1 }, { ref: 12 }, { other: true }],
      { routes },
    );
    expect(warehouseOut.written).toEqual([{ id: 12 }]);
    // The record the route dropped never reached the destination's checks.
    expect(summary.expectations!.all!['required:id']!.violations).toBe(1);
    expect(summary.destinationExpectations!.warehouse!['range:id']).toMatchObject({
      checked: 2,
      violations: 1,
    });
    expect(deadLetters.letters).toHaveLength(1);
    expect(deadLetters.letters[0]!.record).toEqual({ id: 1 });
  });

  it('counts row-count on what the destination received, and fails the run naming it', async () => {
    const records: SluiceRecord[] = [
      { id: 1, channel: 'paid', at: '2026-12-02T09:30:00Z' },
      { id: 2, channel: 'organic', at: '2026-12-02T09:00:00Z' },
      { channel: 'organic', at: '2026-12-02T09:45:00Z' },
    ];
    const now = Date.parse('2026-12-02T10:00:00Z');
    const ok = await run(
      [
        { check: 'required', field: 'id', action: 'drop' },
        { check: 'row-count', minRatio: 0.5, maxRatio: 1 },
        { check: 'freshness', field: 'at', maxAgeMs: 3_600_000 },
      ],
      records,
      { now, archive: [{ check: 'row-count', maxRatio: 0.5, action: 'warn' }] },
    );
    expect(ok.error).toBeUndefined();
    expect(ok.summary.destinationExpectations!.warehouse!['row-count']).toMatchObject({
      checked: 1,
      violations: 0,
    });
    // archive received 1 of 3 records read.
    expect(ok.summary.destinationExpectations!.archive!['row-count']!.violations).toBe(0);

    const short = await run(
      [
        { check: 'required', field: 'id', action: 'drop' },
        { check: 'row-count', minRatio: 1 },
      ],
      records,
      { now },
    );
    expect(short.error).toBeInstanceOf(RunFailedError);
    expect((short.error as RunFailedError).message).toBe(
      'expectation "row-count" (row-count) of destination "warehouse" failed: got 2, expected a row count of at least 1 × the 3 record(s) read',
    );
    expect((short.error as RunFailedError).destination).toBe('warehouse');
    expect((short.error as RunFailedError).route).toBeUndefined();
    expect(
      short.violations({
        expectation: 'row-count',
        check: 'row-count',
        action: 'fail-run',
        route: '',
        destination: 'warehouse',
      }),
    ).toBe(1);

    const stale = await run([{ check: 'freshness', field: 'at', maxAgeMs: 60_000 }], records, {
      now,
    });
    expect((stale.error as Error).message).toMatch(
      /^expectation "freshness:at" \(freshness\) of destination "warehouse" failed on field "at": got "2026-12-02T09:45:00.000Z"/,
    );
  });

  it('fails the run on a record check with fail-run', async () => {
    const { error, warehouseOut } = await run(
      [{ check: 'type', field: 'amount', type: 'integer', action: 'fail-run' }],
      [{ amount: 1 }, { amount: 1.5 }],
    );
    expect(error).toBeInstanceOf(RunFailedError);
    expect((error as RunFailedError).destination).toBe('warehouse');
    expect((error as Error).message).toBe(
      'expectation "type:amount" (type) of destination "warehouse" failed on field "amount" for a record of route "all": got 1.5, expected an integer',
    );
    expect(warehouseOut.written.every((r) => r.amount !== 1.5)).toBe(true);
  });
});

describe('destination expectations in a dry run', () => {
  it('shows violations and withheld outputs per record, and the counts per destination', () => {
    const table = tableOf(
      [
        { check: 'required', field: 'id' },
        { check: 'row-count', minRatio: 1, action: 'warn' },
      ],
      ROUTES,
    );
    const result = dryRun(
      [{ id: 1, channel: 'paid' }, { channel: 'paid' }, { channel: 'organic' }],
      table,
    );
    expect(result.destinations.warehouse).toEqual([{ id: 1, channel: 'paid' }]);
    expect(result.destinations.archive).toEqual([{ id: 1, channel: 'paid' }, { channel: 'paid' }]);
    expect(result.records[0]!.withheld).toEqual([]);
    expect(result.records[1]!.withheld).toEqual([
      { route: 'paid', destination: 'warehouse', output: 0, action: 'dead-letter' },
    ]);
    expect(result.records[1]!.routes[0]!.output).toEqual([{ channel: 'paid' }]);
    expect(
      result.records[2]!.expectations!.map((v) => [v.destination, v.route, v.expectation]),
    ).toEqual([['warehouse', 'all', 'required:id']]);
    expect(result.expectations!.counts).toEqual({});
    expect(result.expectations!.destinations!.warehouse!['required:id']).toMatchObject({
      checked: 3,
      violations: 2,
    });
    expect(result.expectations!.run.map((v) => [v.destination, v.expectation])).toEqual([
      ['warehouse', 'row-count'],
    ]);
  });
});
