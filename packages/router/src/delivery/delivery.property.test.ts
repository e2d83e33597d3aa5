// Property: for random records, route tables and destination failures, every record is either
// delivered to each destination of each matched route, dead-lettered, or counted as dropped.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  createPluginContext,
  type ConditionSpec,
  type OnError,
  type RouteSpec,
  type SluiceRecord,
  type TransformSpec,
} from '@sluice/core';
import { compileRouteTable, evaluateRecord } from '../route-table.js';
import { createRouter } from './router.js';
import { memoryDeadLetters, recordingClock, recordingDestination } from '../__fixtures__/fakes.js';

const DESTS = ['a', 'b', 'c'];

const condition: fc.Arbitrary<ConditionSpec> = fc.oneof(
  fc.constantFrom<ConditionSpec>(
    '$.tag',
    '$[?$.n > 50]',
    { path: '$.n', op: 'lt', value: 30 },
    { path: '$.tag', op: 'in', value: ['x', 'y'] },
  ),
  fc.constantFrom<ConditionSpec>(
    { not: { path: '$.flag', op: 'eq', value: true } },
    { any: ['$.tag', { path: '$.n', op: 'gte', value: 90 }] },
  ),
);
const transform: fc.Arbitrary<TransformSpec[]> = fc.constantFrom<TransformSpec[]>(
  [],
  [{ kind: 'set', field: 'seen', value: true }],
  [{ kind: 'cast', fields: { s: 'number' } }], // fails for non-numeric s
  [{ kind: 'drop', when: { path: '$.n', op: 'lt', value: 10 } }],
  [{ kind: 'unnest', field: 'parts', as: 'part' }],
);
const route = (i: number): fc.Arbitrary<RouteSpec> =>
  fc.record({
    name: fc.constant(`r${i}`),
    priority: fc.integer({ min: -2, max: 2 }),
    when: fc.option(condition, { nil: undefined }),
    transform,
    to: fc.subarray(DESTS, { minLength: 1 }),
    mode: fc.constantFrom('stop', 'continue'),
    onError: fc.constantFrom<OnError>('dead-letter', 'drop'),
  });
const routes = fc
  .integer({ min: 1, max: 5 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => route(i))));
const record = (id: number): fc.Arbitrary<SluiceRecord> =>
  fc.record(
    {
      id: fc.constant(id),
      n: fc.integer({ min: 0, max: 100 }),
      tag: fc.option(fc.constantFrom('x', 'y', 'z'), { nil: undefined }),
      flag: fc.boolean(),
      s: fc.constantFrom('1', '2', 'oops'),
      parts: fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3 }),
    },
    { requiredKeys: ['id', 'n', 'flag', 's', 'parts'] },
  ) as fc.Arbitrary<SluiceRecord>;
const records = fc
  .integer({ min: 0, max: 40 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => record(i))));
// How each destination fails: per-record fatal, flaky (retryable on first tries), or partial.
const behaviour = fc.record({
  fatalMod: fc.integer({ min: 0, max: 7 }),
  flakyCalls: fc.integer({ min: 0, max: 3 }),
  partialMod: fc.integer({ min: 0, max: 5 }),
});

describe('delivery accounting', () => {
  it('never loses a record silently', async () => {
    await fc.assert(
      fc.asyncProperty(
        routes,
        records,
        fc.tuple(behaviour, behaviour, behaviour),
        fc.boolean(),
        async (specs, input, behaviours, withDefault) => {
          const ctx = createPluginContext({ clock: recordingClock() });
          const table = compileRouteTable(specs, {
            ctx,
            destinations: DESTS,
            ...(withDefault ? { defaultRoute: { to: ['c'], onError: 'drop' as const } } : {}),
          });
          const deadLetters = memoryDeadLetters();
          const dests = DESTS.map((_, d) => {
            const b = behaviours[d]!;
            const dest = recordingDestination((batch, call) => {
              if (call <= b.flakyCalls) throw new RetryableError('flaky');
              const failures = batch.records
                .map((r, index) => ({ r, index }))
                .filter(({ r }) => b.fatalMod > 0 && (r.id as number) % (b.fatalMod + 1) === 0)
                .map(({ index }) => ({ index, error: new FatalError('bad row') }));
              if (b.partialMod > 0 && call % (b.partialMod + 1) === 0 && batch.records.length > 1)
                failures.push({
                  index: batch.records.length - 1,
                  error: new RetryableError('row lock') as never,
                });
              const unique = [...new Map(failures.map((f) => [f.index, f])).values()];
              if (unique.length > 0) {
                dest.written.push(
                  ...batch.records.filter((_, i) => !unique.some((f) => f.index === i)),
                );
                throw new PartialBatchError(unique);
              }
            });
            return dest;
          });
          const router = createRouter({
            table,
            ctx,
            deadLetters,
            pipeline: 'p',
            runId: 'r',
            source: 's',
            random: () => 0.5,
            destinations: Object.fromEntries(
              DESTS.map((name, d) => [
                name,
                {
                  instance: dests[d]!,
                  capabilities: { idempotent: true, maxInFlight: 2 },
                  policy: {
                    batch: { maxRecords: 4 },
                    concurrency: 2,
                    retry: { maxAttempts: 3, initialDelayMs: 1 },
                  },
                },
              ]),
            ),
          });
          await router.push(input);
          const summary = await router.close();
          expect(summary.failed).toBe(false);
          expect(summary.records.acknowledged).toBe(input.length);

          // Expected deliveries per destination and record id, from the pure evaluation.
          const expected = new Map<string, number>();
          let evaluationDrops = 0;
          for (const r of input) {
            const e = evaluateRecord(r, table);
            for (const m of e.matches) {
              if (m.records.length === 0) evaluationDrops++;
              for (const d of m.route.to)
                expected.set(
                  `${d}:${r.id}`,
                  (expected.get(`${d}:${r.id}`) ?? 0) + m.records.length,
                );
            }
            for (const f of e.failures) {
              if (f.route.onError === 'drop') evaluationDrops++;
              else
                for (const d of f.route.to)
                  expected.set(`${d}:${r.id}`, (expected.get(`${d}:${r.id}`) ?? 0) + 1);
            }
          }
          const actual = new Map<string, number>();
          DESTS.forEach((d, i) => {
            for (const r of dests[i]!.written)
              actual.set(`${d}:${r.id}`, (actual.get(`${d}:${r.id}`) ?? 0) + 1);
          });
          for (const l of deadLetters.letters)
            actual.set(
              `${l.destination}:${l.original!.id}`,
              (actual.get(`${l.destination}:${l.original!.id}`) ?? 0) + 1,
            );
          let deliveryDrops = 0;
          for (const [key, n] of expected) {
            const got = actual.get(key) ?? 0;
            expect(got).toBeLessThanOrEqual(n);
            deliveryDrops += n - got;
          }
          for (const key of actual.keys()) expect(expected.has(key)).toBe(true);
          const droppedByDestinations = DESTS.reduce(
            (sum, d) => sum + (summary.destinations[d]?.dropped ?? 0),
            0,
          );
          expect(deliveryDrops).toBe(droppedByDestinations);
          expect(summary.dropped).toBe(evaluationDrops + droppedByDestinations);
          expect(summary.deadLettered).toBe(deadLetters.letters.length);
        },
      ),
      { numRuns: 150 },
    );
  });
});
