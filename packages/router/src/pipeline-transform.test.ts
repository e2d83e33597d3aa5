// Pipeline-level transforms (`pipelines.<name>.transform`): steps run once per record before any
// condition, through the route table, the router and a dry run.
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  createMemoryMetrics,
  createPluginContext,
  type RouteSpec,
  type TransformSpec,
} from '@sluice/core';
import { compileRouteTable, evaluateRecord, PIPELINE_TRANSFORM_ROUTE } from './route-table.js';
import { createRouter } from './delivery/router.js';
import { dryRun } from './dry-run.js';
import { memoryDeadLetters, recordingClock, recordingDestination } from './__fixtures__/fakes.js';

const ctx = () => createPluginContext({ clock: recordingClock(), metrics: createMemoryMetrics() });

const routes: RouteSpec[] = [
  // Conditions read what the pipeline-level steps made: `revenue` is a number only after `cast`.
  { name: 'big', when: { path: '$.revenue', op: 'gte', value: 100 }, to: ['big'] },
  { name: 'all', to: ['all'] },
];
const transform: TransformSpec[] = [
  { kind: 'cast', fields: { revenue: 'number' } },
  { kind: 'drop', when: { path: '$.test', op: 'eq', value: true } },
  { kind: 'omit', fields: ['secret'] },
];

function table(steps: readonly TransformSpec[] = transform) {
  return compileRouteTable(routes, {
    ctx: ctx(),
    destinations: ['big', 'all'],
    transform: steps,
    path: ['pipelines', 'daily'],
  });
}

describe('pipeline-level transform', () => {
  it('runs before the conditions, and every route sees its output', () => {
    const evaluation = evaluateRecord({ id: 1, revenue: '250', secret: 'x' }, table());
    expect(evaluation.matches.map((m) => [m.route.name, m.records])).toEqual([
      ['big', [{ id: 1, revenue: 250 }]],
      ['all', [{ id: 1, revenue: 250 }]],
    ]);
  });

  it('refuses, at its config path, a step that makes several records and a bad step', () => {
    let error: unknown;
    try {
      table([
        { kind: 'unnest', field: 'items' },
        { kind: 'cast', fields: { a: 'nope' } },
      ]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues[0]).toMatchObject({ path: 'pipelines.daily.transform[0].kind' });
    expect(issues[0]!.message).toMatch(/"unnest" turns one record into several.*route's transform/);
    expect(issues.some((i) => i.path.startsWith('pipelines.daily.transform[1]'))).toBe(true);
  });

  it('counts a dropped record once, and dead-letters a failing one per destination with the input record', async () => {
    const compiled = compileRouteTable(routes, {
      ctx: ctx(),
      destinations: ['big', 'all'],
      transform: [
        { kind: 'drop', when: { path: '$.test', op: 'eq', value: true } },
        // Fails on a record whose `total` does not convert to a number.
        { kind: 'cast', fields: { total: 'number' } },
      ],
    });
    const big = recordingDestination();
    const all = recordingDestination();
    const deadLetters = memoryDeadLetters();
    const context = ctx();
    const router = createRouter({
      table: compiled,
      destinations: Object.fromEntries(
        Object.entries({ big, all }).map(([name, instance]) => [
          name,
          { instance, capabilities: { idempotent: true, maxInFlight: 1 }, policy: {} },
        ]),
      ),
      deadLetters,
      ctx: context,
      pipeline: 'daily',
      runId: 'run1',
      source: 'ga4',
    });
    await router.push([
      { id: 1, total: 99, revenue: 150 },
      { id: 2, total: 1, test: true },
      { id: 3, total: 'lots' },
    ]);
    const summary = await router.close();
    expect(big.calls.flatMap((c) => c.records)).toEqual([{ id: 1, total: 99, revenue: 150 }]);
    expect(all.calls.flatMap((c) => c.records).map((r) => r.id)).toEqual([1]);
    const stage = summary.routes[PIPELINE_TRANSFORM_ROUTE]!;
    expect(stage).toMatchObject({ droppedByTransform: 1, failed: 1 });
    expect(summary.records.acknowledged).toBe(3);
    expect(deadLetters.letters.map((l) => [l.route, l.destination, l.original])).toEqual([
      [PIPELINE_TRANSFORM_ROUTE, 'big', { id: 3, total: 'lots' }],
      [PIPELINE_TRANSFORM_ROUTE, 'all', { id: 3, total: 'lots' }],
    ]);
    expect(deadLetters.letters[0]!.error.message).toMatch(
      /transform\[1\] \(cast\).*cannot convert "lots"/,
    );
  });

  it('shows in a dry run what the steps made, dropped and failed on', () => {
    // A destination no route sends to gets no dead letter from the pipeline-level steps either.
    const wider = compileRouteTable(routes, {
      ctx: ctx(),
      destinations: ['big', 'all', 'unused'],
      transform,
    });
    expect(wider.transform?.to).toEqual(['big', 'all']);
    const result = dryRun(
      [
        { id: 1, revenue: '5' },
        { id: 2, test: true },
      ],
      table(),
    );
    expect(result.destinations).toEqual({ big: [], all: [{ id: 1, revenue: 5 }] });
    expect(result.records[1]!.routes).toEqual([
      { route: PIPELINE_TRANSFORM_ROUTE, to: ['big', 'all'], output: [] },
    ]);
  });
});
