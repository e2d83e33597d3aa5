import * as v from 'valibot';
import { defineConnector, FatalError, type JsonValue, type Logger } from '@sluice/core';
import { DEFAULT_START_DATE, sampleRecord } from './generate.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const PERIOD = /^([1-9]\d{0,5})(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Milliseconds of a period such as `5s`, `15m`, `1h` or `1d`.
 *
 * @example
 * ```ts
 * periodMs('15m'); // 900000
 * ```
 */
export function periodMs(period: string): number {
  const match = PERIOD.exec(period);
  if (!match) throw new TypeError(`not a period: ${JSON.stringify(period)}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** Config of the sample connector. */
export const sampleConfigSchema = v.pipe(
  v.strictObject({
    seed: v.pipe(v.optional(v.pipe(v.number(), v.integer()), 42), v.description('Seed of the generator: same seed, same data.')),
    channels: v.pipe(
      v.optional(v.pipe(v.array(v.pipe(v.string(), v.nonEmpty())), v.minLength(1)), ['organic', 'paid', 'email', 'social', 'referral']),
      v.description('Marketing channels the records cycle through: one record per channel and period (a record set).'),
    ),
    period: v.pipe(
      v.optional(v.pipe(v.string(), v.regex(PERIOD, 'expected a period such as 5s, 15m, 1h or 1d'))),
      v.description(
        'Dates follow the clock: one record set per period of this length (`5s`, `15m`, `1h`, `1d`; periods start at 1970-01-01 UTC), dated by the period, and a read never goes past the current period. Without it, each full cycle of the channels is the next day from `startDate`, however fast the runs go.',
      ),
    ),
    backfill: v.pipe(
      v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100_000)), 0),
      v.description('With `period`: the first read (no checkpoint yet) starts this many periods before the current one.'),
    ),
    startDate: v.pipe(
      v.optional(v.pipe(v.string(), v.regex(DATE, 'expected YYYY-MM-DD'))),
      v.description(`Without \`period\`: the date of the first record (default ${DEFAULT_START_DATE}).`),
    ),
    perRun: v.pipe(
      v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000_000)), 25),
      v.description('At most this many new records per run (incremental: the next run continues after them).'),
    ),
    total: v.pipe(
      v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
      v.description('Without `period`: stop after this many records in all (a finite data set); default unbounded.'),
    ),
    pageSize: v.pipe(v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000)), 10), v.description('Records per page.')),
  }),
  v.forward(
    v.check((c) => c.period === undefined || c.startDate === undefined, 'startDate applies without period only: with period, the first read starts at the current period (see backfill)'),
    ['startDate'],
  ),
  v.forward(
    v.check((c) => c.period === undefined || c.total === undefined, 'total applies without period only: with period, the data set grows with the clock'),
    ['total'],
  ),
);

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
 * Where a clock-mode read starts: after the checkpoint when it was written with this period and
 * channel list (a `seq` means a period and a channel only with both), else at the first period of
 * the `backfill` window.
 */
function clockStart(state: JsonValue | undefined, config: SampleConfig, nowPeriod: number, logger: Logger): number {
  const fresh = Math.max(0, nowPeriod - config.backfill) * config.channels.length;
  if (state === undefined || state === null) return fresh;
  const seq = cursorOf(state);
  const { period, channels } = state as { period?: unknown; channels?: unknown };
  if (period === config.period && channels === config.channels.length) return seq;
  logger.warn(
    { checkpoint: state, period: config.period, channels: config.channels.length },
    'sample: the checkpoint was written for another period or channel list; starting at the current period',
  );
  return fresh;
}

/**
 * A connector that generates deterministic marketing traffic (date, channel, sessions,
 * conversions, revenue) with a sequence number as its incremental cursor. It needs nothing
 * external, so the quick start, demos and end-to-end tests can show data flowing at once.
 *
 * Without `period` the records are a fixed data set: record `seq` is always the same, and each
 * cycle of the channels is the next day from `startDate`, however often it runs. With `period`
 * the dates follow the clock: one record set (one record per channel) per period, dated by the
 * period, and a read stops at the current period, so a run every 5 seconds with `period: 5s`
 * reads one set per run and never a date ahead of today.
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
  // Records are a pure function of the seed and the position: a re-read is identical.
  rereads: 'same',
  description: 'Deterministic sample marketing data (no external service), optionally following the clock.',
  configSchema: sampleConfigSchema,
  create(config, ctx) {
    const channels = config.channels.length;
    const options = {
      seed: config.seed,
      channels: config.channels,
      startDate: config.startDate,
      ...(config.period === undefined ? {} : { periodMs: periodMs(config.period) }),
    };
    return {
      async *read(request, signal) {
        let from: number;
        let until: number;
        let marker: { period?: string; channels?: number } = {};
        if (options.periodMs === undefined) {
          from = cursorOf(request.state);
          until = Math.min(from + config.perRun, config.total ?? Number.MAX_SAFE_INTEGER);
        } else {
          const nowPeriod = Math.floor(ctx.clock.now() / options.periodMs);
          from = clockStart(request.state, config, nowPeriod, ctx.logger);
          // The current period's set is the last one there is: nothing dated ahead of the clock.
          until = Math.min(from + config.perRun, (nowPeriod + 1) * channels);
          marker = { period: config.period!, channels };
        }
        for (let start = from; start < until; start += config.pageSize) {
          signal.throwIfAborted();
          const end = Math.min(start + config.pageSize, until);
          const records = [];
          for (let seq = start + 1; seq <= end; seq++) records.push(sampleRecord(seq, options));
          yield { records, state: { seq: end, ...marker } };
        }
      },
      async check() {
        return {
          ok: true,
          message:
            config.period === undefined
              ? `sample data: ${channels} channel(s) from ${config.startDate ?? DEFAULT_START_DATE}`
              : `sample data: ${channels} channel(s), one record set per ${config.period} up to now`,
        };
      },
      async discover() {
        return [
          {
            name: 'traffic',
            fields: [
              { name: 'seq', type: 'integer', description: 'sequence number, the incremental cursor' },
              { name: 'date', type: 'date', description: 'the day of the record (UTC), of its period with `period`' },
              ...(config.period === undefined ? [] : [{ name: 'periodStart', type: 'timestamp', description: 'start of the period of the record' }]),
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
