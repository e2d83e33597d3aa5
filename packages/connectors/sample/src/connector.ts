import * as v from 'valibot';
import { defineConnector, FatalError, type JsonValue } from '@sluice/core';
import { sampleRecord } from './generate.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Config of the sample connector. */
export const sampleConfigSchema = v.strictObject({
  seed: v.pipe(v.optional(v.pipe(v.number(), v.integer()), 42), v.description('Seed of the generator: same seed, same data.')),
  channels: v.pipe(
    v.optional(v.pipe(v.array(v.pipe(v.string(), v.nonEmpty())), v.minLength(1)), ['organic', 'paid', 'email', 'social', 'referral']),
    v.description('Marketing channels the records cycle through, one record per channel and day.'),
  ),
  startDate: v.pipe(v.optional(v.pipe(v.string(), v.regex(DATE, 'expected YYYY-MM-DD')), '2026-11-01'), v.description('Date of the first record.')),
  perRun: v.pipe(
    v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000_000)), 25),
    v.description('How many new records one run reads (incremental: the next run continues after them).'),
  ),
  total: v.pipe(
    v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
    v.description('Stop after this many records in all (a finite data set); default unbounded.'),
  ),
  pageSize: v.pipe(v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000)), 10), v.description('Records per page.')),
});

/** The validated config of {@link sampleConnector}. */
export type SampleConfig = v.InferOutput<typeof sampleConfigSchema>;

function cursorOf(state: JsonValue | undefined): number {
  if (state === undefined || state === null) return 0;
  if (typeof state === 'object' && !Array.isArray(state) && typeof state.seq === 'number' && Number.isInteger(state.seq) && state.seq >= 0) {
    return state.seq;
  }
  throw new FatalError(`sample connector: the checkpoint ${JSON.stringify(state)} is not { "seq": <integer> }`);
}

/**
 * A connector that generates deterministic daily marketing traffic (date, channel, sessions,
 * conversions, revenue) with a sequence number as its incremental cursor. It needs nothing
 * external, so the quick start, demos and end-to-end tests can show data flowing at once.
 *
 * @example
 * ```ts
 * const connector = await sampleConnector.create(parseConfig(sampleConnector.configSchema, { perRun: 10 }), createPluginContext());
 * for await (const page of connector.read({}, new AbortController().signal)) console.log(page.records.length, page.state);
 * ```
 */
export const sampleConnector = defineConnector({
  kind: 'sample',
  version: '0.1.0',
  description: 'Deterministic sample marketing data (no external service).',
  configSchema: sampleConfigSchema,
  create(config) {
    return {
      async *read(request, signal) {
        const from = cursorOf(request.state);
        const until = Math.min(from + config.perRun, config.total ?? Number.MAX_SAFE_INTEGER);
        for (let start = from; start < until; start += config.pageSize) {
          signal.throwIfAborted();
          const end = Math.min(start + config.pageSize, until);
          const records = [];
          for (let seq = start + 1; seq <= end; seq++) records.push(sampleRecord(seq, config));
          yield { records, state: { seq: end } };
        }
      },
      async check() {
        return { ok: true, message: `sample data: ${config.channels.length} channel(s) from ${config.startDate}` };
      },
      async discover() {
        return [
          {
            name: 'traffic',
            fields: [
              { name: 'seq', type: 'integer', description: 'sequence number, the incremental cursor' },
              { name: 'date', type: 'date' },
              { name: 'channel', type: 'string' },
              { name: 'sessions', type: 'integer' },
              { name: 'conversions', type: 'integer' },
              { name: 'revenue', type: 'number' },
            ],
          },
        ];
      },
    };
  },
});
