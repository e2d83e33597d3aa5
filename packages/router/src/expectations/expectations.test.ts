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

function table(expect: ExpectationSpec[], extra: Partial<RouteSpec> = {}) {
  return compileRouteTable([{ name: 'orders', to: ['db'], expect, ...extra }], {
    ctx,
    destinations: ['db'],
    path: ['pipelines', 'p'],
  });
}

function problems(expect: unknown[]): string[] {
  try {
    table(expect as ExpectationSpec[]);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

async function run(expect: ExpectationSpec[], records: SluiceRecord[], now = Date.now()) {
  const metrics = createMemoryMetrics();
  const runCtx = createPluginContext({
    metrics,
    clock: { now: () => now, sleep: async () => undefined },
  });
  const routes = compileRouteTable([{ name: 'orders', to: ['db', 'copy'], expect }], {
    ctx: runCtx,
    destinations: ['db', 'copy'],
  });
  const db = recordingDestination();
  const copy = recordingDestination();
  const deadLetters = memoryDeadLetters();
  const router = createRouter({
    table: routes,
    destinations: {
      db: { instance: db, capabilities: { idempotent: true } },
      copy: { instance: copy, capabilities: { idempotent: true } },
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
    metrics.get('sluice_router_expectation_violations_total', {
      pipeline: 'p',
      route: 'orders',
      destination: '',
      ...labels,
    });
  return { db, copy, deadLetters, summary, error, violations };
}

describe('compiling expectations', () => {
  it('refuses bad expectations with the path of the field', () => {
    expect(problems([{ check: 'range', field: 'amount', min: 10, max: 1 }])).toEqual([
      'pipelines.p.routes[0].expect[0].max: is below "min" (min 10 > max 1)',
    ]);
    expect(problems([{ check: 'required', field: 'id', action: 'explode' }])).toEqual([
      'pipelines.p.routes[0].expect[0].action: unknown action "explode" (known: dead-letter, drop, warn, fail-run)',
    ]);
    expect(problems([{ check: 'pattern', field: 'email', pattern: '(a+)+$' }])[0]).toMatch(
      /^pipelines\.p\.routes\[0\]\.expect\[0\]\.pattern: a quantifier applied to a group that contains a quantifier/,
    );
    expect(problems([{ check: 'pattern', field: 'email', pattern: '(' }])[0]).toMatch(
      /expect\[0\]\.pattern: unbalanced "\("/,
    );
    expect(problems([{ check: 'row-count', minRatio: 1, action: 'drop' }])).toEqual([
      'pipelines.p.routes[0].expect[0].action: check "row-count" tests the whole run, so its action is "warn" or "fail-run" (there is no one record to drop)',
    ]);
    expect(problems([{ check: 'predicate', when: '$[?@.a >' }])[0]).toMatch(
      /^pipelines\.p\.routes\[0\]\.expect\[0\]\.when: invalid JSONPath at position/,
    );
    expect(problems([{ check: 'nope' }])[0]).toMatch(/expect\[0\]\.check: unknown check "nope"/);
    expect(problems([{ check: 'type', field: 'a', type: 'text' }])[0]).toMatch(
      /expect\[0\]\.type: must be one of string, number/,
    );
    expect(problems([{ check: 'required', field: 'a', min: 1 }])[0]).toMatch(
      /expect\[0\]\.min: is not an option of check "required"/,
    );
    expect(
      problems([
        { check: 'required', field: 'a' },
        { check: 'required', field: 'a' },
      ])[0],
    ).toMatch(/expect\[1\]\.name: duplicate expectation name "required:a"/);
    expect(problems([{ check: 'freshness', field: 'at' }])[0]).toMatch(
      /expect\[0\]\.maxAgeMs: check "freshness" needs "maxAgeMs"/,
    );
  });
});

describe('expectations in a run', () => {
  it('dead-letters, drops, warns per check and counts every violation', async () => {
    const { db, copy, deadLetters, summary, error, violations } = await run(
      [
        { check: 'required', field: 'id', action: 'dead-letter' },
        { check: 'range', field: 'amount', min: 0, max: 1000, action: 'drop' },
        {
          check: 'pattern',
          name: 'email-shape',
          field: 'email',
          pattern: '^[^@]+@[^@]+$',
          action: 'warn',
        },
        { check: 'one-of', field: 'status', values: ['paid', 'refunded'] },
        { check: 'type', field: 'amount', type: 'number', action: 'warn' },
        { check: 'unique', field: 'id', action: 'drop' },
        {
          check: 'predicate',
          name: 'refund-negative',
          when: { filter: "@.status != 'refunded' || @.amount <= 0" },
          action: 'warn',
        },
      ],
      [
        { id: 1, amount: 10, email: 'a@x', status: 'paid' },
        { amount: 10, email: 'b@x', status: 'paid' }, // no id: dead letter
        { id: 3, amount: 5000, email: 'c@x', status: 'paid' }, // out of range: drop
        { id: 4, amount: 7, email: 'nope', status: 'paid' }, // bad email: warn, delivered
        { id: 5, amount: 7, email: 'e@x', status: 'lost' }, // not one-of: dead letter
        { id: 1, amount: 8, email: 'f@x', status: 'paid' }, // duplicate id: drop
        { id: 7, amount: 3, email: 'g@x', status: 'refunded' }, // predicate: warn
      ],
    );
    expect(error).toBeUndefined();
    expect(db.written.map((r) => r.id)).toEqual([1, 4, 7]);
    expect(copy.written.map((r) => r.id)).toEqual([1, 4, 7]);
    // A dead letter per destination of the route, its reason naming check, field, value and expectation.
    expect(deadLetters.letters).toHaveLength(4);
    const reasons = deadLetters.letters.map((l) => `${l.destination}: ${l.error.message}`);
    expect(reasons).toContain(
      'db: expectation "required:id" (required) of route "orders" failed on field "id": got missing, expected a value (the field is required)',
    );
    expect(reasons).toContain(
      'copy: expectation "one-of:status" (one-of) of route "orders" failed on field "status": got "lost", expected one of ["paid","refunded"]',
    );
    expect(deadLetters.letters[0]!.error.name).toBe('ExpectationError');
    expect(summary!.deadLettered).toBe(4);
    expect(summary!.dropped).toBe(2);
    expect(summary!.records.acknowledged).toBe(7);
    expect(summary!.expectations!.orders).toEqual({
      'required:id': {
        check: 'required',
        action: 'dead-letter',
        field: 'id',
        checked: 7,
        violations: 1,
      },
      'range:amount': {
        check: 'range',
        action: 'drop',
        field: 'amount',
        checked: 7,
        violations: 1,
      },
      'email-shape': {
        check: 'pattern',
        action: 'warn',
        field: 'email',
        checked: 7,
        violations: 1,
      },
      'one-of:status': {
        check: 'one-of',
        action: 'dead-letter',
        field: 'status',
        checked: 7,
        violations: 1,
      },
      'type:amount': { check: 'type', action: 'warn', field: 'amount', checked: 7, violations: 0 },
      'unique:id': { check: 'unique', action: 'drop', field: 'id', checked: 7, violations: 1 },
      'refund-negative': { check: 'predicate', action: 'warn', checked: 7, violations: 1 },
    });
    expect(violations({ expectation: 'email-shape', check: 'pattern', action: 'warn' })).toBe(1);
    expect(
      violations({ expectation: 'required:id', check: 'required', action: 'dead-letter' }),
    ).toBe(1);
    expect(violations({ expectation: 'unique:id', check: 'unique', action: 'drop' })).toBe(1);
  });

  it('fails the run on a record check with fail-run, naming the expectation', async () => {
    const { error, summary, db } = await run(
      [{ check: 'type', field: 'amount', type: 'integer', action: 'fail-run' }],
      [{ amount: 1 }, { amount: 1.5 }],
    );
    expect(error).toBeInstanceOf(RunFailedError);
    expect((error as Error).message).toBe(
      'expectation "type:amount" (type) of route "orders" failed on field "amount": got 1.5, expected an integer',
    );
    expect(summary!.failed).toBe(true);
    expect(db.written.every((r) => r.amount !== 1.5)).toBe(true);
  });

  it('checks row count and freshness once per run', async () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    const fine = await run(
      [
        { check: 'row-count', minRatio: 1, maxRatio: 1 },
        { check: 'freshness', field: 'at', maxAgeMs: 3_600_000 },
      ],
      [{ at: '2026-12-02T09:30:00Z' }, { at: '2026-12-01T00:00:00Z' }],
      now,
    );
    expect(fine.error).toBeUndefined();
    expect(fine.summary!.expectations!.orders!['row-count']!.checked).toBe(1);
    expect(fine.summary!.expectations!.orders!['freshness:at']!.violations).toBe(0);

    // Dropping a record makes the route's count fall short of the source's.
    const short = await run(
      [
        { check: 'required', field: 'id', action: 'drop' },
        { check: 'row-count', minRatio: 1, action: 'warn' },
        { check: 'freshness', field: 'at', maxAgeMs: 3_600_000 },
      ],
      [{ id: 1, at: '2026-12-02T07:00:00Z' }, { at: '2026-12-02T07:10:00Z' }],
      now,
    );
    expect(short.error).toBeInstanceOf(RunFailedError);
    expect((short.error as Error).message).toBe(
      'expectation "freshness:at" (freshness) of route "orders" failed on field "at": got "2026-12-02T07:10:00.000Z", expected a newest value at most 3600000 ms old (at 2026-12-02T10:00:00.000Z)',
    );
    expect(short.summary!.expectations!.orders!['row-count']!.violations).toBe(1);
    expect(short.violations({ expectation: 'row-count', check: 'row-count', action: 'warn' })).toBe(
      1,
    );
    // What was written before the run check stays written.
    expect(short.db.written).toHaveLength(1);
  });
});

describe('expectations in a dry run', () => {
  it('shows violations per record, leaves rejected outputs out, and checks the run', () => {
    const result = dryRun(
      [{ id: 1 }, { id: 1 }, { name: 'x' }],
      table([
        { check: 'required', field: 'id', action: 'dead-letter' },
        { check: 'unique', field: 'id', action: 'warn' },
        { check: 'row-count', minRatio: 1, action: 'warn' },
      ]),
    );
    expect(result.destinations.db).toEqual([{ id: 1 }, { id: 1 }]);
    expect(result.records[1]!.expectations!.map((v) => v.expectation)).toEqual(['unique:id']);
    expect(result.records[2]!.expectations!.map((v) => [v.expectation, v.action])).toEqual([
      ['required:id', 'dead-letter'],
    ]);
    expect(result.totals.matched).toBe(3);
    expect(result.expectations!.counts.orders!['required:id']!.violations).toBe(1);
    expect(result.expectations!.run.map((v) => v.expectation)).toEqual(['row-count']);
  });

  it('adds nothing for tables without expectations', () => {
    const plain = compileRouteTable([{ name: 'all', to: ['db'] }], { ctx, destinations: ['db'] });
    const result = dryRun([{ a: 1 }], plain);
    expect(result.expectations).toBeUndefined();
    expect(result.records[0]).not.toHaveProperty('expectations');
  });
});
