/** The sample connector's config: its valibot schema and the period syntax. */
import * as v from 'valibot';
import { DEFAULT_START_DATE } from './generate.js';

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
    seed: v.pipe(
      v.optional(v.pipe(v.number(), v.integer()), 42),
      v.description('Seed of the generator: same seed, same data.'),
    ),
    channels: v.pipe(
      v.optional(v.pipe(v.array(v.pipe(v.string(), v.nonEmpty())), v.minLength(1)), [
        'organic',
        'paid',
        'email',
        'social',
        'referral',
      ]),
      v.description(
        'Marketing channels the records cycle through: one record per channel and period (a record set).',
      ),
    ),
    period: v.pipe(
      v.optional(
        v.pipe(v.string(), v.regex(PERIOD, 'expected a period such as 5s, 15m, 1h or 1d')),
      ),
      v.description(
        'Dates follow the clock: one record set per period of this length (`5s`, `15m`, `1h`, `1d`; periods start at 1970-01-01 UTC), dated by the period, and a read never goes past the current period. Without it, each full cycle of the channels is the next day from `startDate`, however fast the runs go.',
      ),
    ),
    backfill: v.pipe(
      v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100_000)), 0),
      v.description(
        'With `period`: the first read (no checkpoint yet) starts this many periods before the current one.',
      ),
    ),
    startDate: v.pipe(
      v.optional(v.pipe(v.string(), v.regex(DATE, 'expected YYYY-MM-DD'))),
      v.description(
        `Without \`period\`: the date of the first record (default ${DEFAULT_START_DATE}).`,
      ),
    ),
    perRun: v.pipe(
      v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000_000)), 25),
      v.description(
        'At most this many new records per run (incremental: the next run continues after them).',
      ),
    ),
    total: v.pipe(
      v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
      v.description(
        'Without `period`: stop after this many records in all (a finite data set); default unbounded.',
      ),
    ),
    pageSize: v.pipe(
      v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000)), 10),
      v.description('Records per page.'),
    ),
  }),
  v.forward(
    v.check(
      (c) => c.period === undefined || c.startDate === undefined,
      'startDate applies without period only: with period, the first read starts at the current period (see backfill)',
    ),
    ['startDate'],
  ),
  v.forward(
    v.check(
      (c) => c.period === undefined || c.total === undefined,
      'total applies without period only: with period, the data set grows with the clock',
    ),
    ['total'],
  ),
);

/** The validated config of {@link sampleConnector}. */
export type SampleConfig = v.InferOutput<typeof sampleConfigSchema>;
