import type { JsonValue, SluiceRecord } from '@sluice/core';
import { addDays } from './dates.js';

/**
 * Day-on-day comparison (`compareWith: previousDay`). The report is read from one day before
 * the first wanted date, in date order, so every row of day D arrives after the rows of D − 1
 * with the same other dimension values. Each wanted row gets, per metric `m`, `m_previous` (the
 * value on D − 1, or `null` when that row does not exist) and `m_change` (the relative change
 * `(now − previous) / previous`, or `null` without a previous value or when it was 0), and
 * `change`, the first metric's relative change — what a route such as
 * `when: { path: $.change, op: lt, value: -0.2 }` ("fell more than 20 %") reads.
 *
 * @example
 * ```ts
 * const compare = createPreviousDayComparer(['date', 'sessionDefaultChannelGroup'], ['sessions']);
 * compare([{ date: '2026-11-23', sessionDefaultChannelGroup: 'Email', sessions: 100 },
 *          { date: '2026-11-24', sessionDefaultChannelGroup: 'Email', sessions: 70 }], '2026-11-24');
 * // [{ date: '2026-11-24', ..., sessions: 70, sessions_previous: 100, sessions_change: -0.3, change: -0.3 }]
 * ```
 */
export function createPreviousDayComparer(
  dimensions: readonly string[],
  metrics: readonly string[],
): (rows: SluiceRecord[], firstWantedDate: string) => SluiceRecord[] {
  const others = dimensions.filter((d) => d !== 'date');
  const keyOf = (row: SluiceRecord) => JSON.stringify(others.map((d) => row[d] ?? null));
  // Rows of the previous date and of the date being read, by their other dimensions. Rows of one
  // date may span pages, so both maps live as long as the read.
  let previousDate: string | undefined;
  let previous = new Map<string, SluiceRecord>();
  let currentDate: string | undefined;
  let current = new Map<string, SluiceRecord>();

  return (rows, firstWantedDate) => {
    const out: SluiceRecord[] = [];
    for (const row of rows) {
      const date = typeof row.date === 'string' ? row.date : undefined;
      if (date !== currentDate) {
        previousDate = currentDate;
        previous = current;
        current = new Map();
        currentDate = date;
      }
      current.set(keyOf(row), row);
      if (date === undefined || date < firstWantedDate) continue;
      const before =
        previousDate !== undefined && date === addDays(previousDate, 1)
          ? previous.get(keyOf(row))
          : undefined;
      const annotated: SluiceRecord = { ...row };
      metrics.forEach((metric, index) => {
        const now = row[metric];
        const then = before?.[metric];
        const change = relativeChange(now, then);
        annotated[`${metric}_previous`] = typeof then === 'number' ? then : null;
        annotated[`${metric}_change`] = change;
        if (index === 0) annotated.change = change;
      });
      out.push(annotated);
    }
    return out;
  };
}

function relativeChange(now: JsonValue | undefined, then: JsonValue | undefined): number | null {
  if (
    typeof now !== 'number' ||
    typeof then !== 'number' ||
    then === 0 ||
    !Number.isFinite(now) ||
    !Number.isFinite(then)
  )
    return null;
  return (now - then) / then;
}
