import { FatalError, type JsonValue, type SluiceRecord } from '@sluice/core';

/** The parts of a runReport response the connector reads. */
export interface ReportResponse {
  dimensionHeaders?: { name?: string | null }[] | null;
  metricHeaders?: { name?: string | null; type?: string | number | null }[] | null;
  rows?:
    | {
        dimensionValues?: { value?: string | null }[] | null;
        metricValues?: { value?: string | null }[] | null;
      }[]
    | null;
  rowCount?: number | string | null;
  metadata?: { timeZone?: string | null; currencyCode?: string | null } | null;
  propertyQuota?: Record<
    string,
    { consumed?: number | null; remaining?: number | null } | null
  > | null;
}

/** Metric types whose values are integers; every other numeric type becomes a JS number. */
const INTEGER_TYPES = new Set(['TYPE_INTEGER', '1']);

/** Where a page sits in the report, for error messages. */
export interface PageLocation {
  page: number;
  offset: number;
}

/**
 * Turns one page of a GA4 report into records: dimension values as strings (`date` as
 * `YYYY-MM-DD`), metric values cast by the metric's type (`TYPE_INTEGER` → integer, `TYPE_FLOAT`,
 * `TYPE_CURRENCY`, `TYPE_SECONDS`, ... → number). Headers must match the request; a missing or
 * malformed value throws a {@link FatalError} naming the field, row and page.
 *
 * @example
 * ```ts
 * const records = convertReportRows(response, ['date'], ['sessions'], { page: 1, offset: 0 });
 * // [{ date: '2026-11-24', sessions: 120 }]
 * ```
 */
export function convertReportRows(
  response: ReportResponse,
  dimensions: readonly string[],
  metrics: readonly string[],
  at: PageLocation,
): SluiceRecord[] {
  const dimHeaders = (response.dimensionHeaders ?? []).map((h) => h?.name);
  const metHeaders = response.metricHeaders;
  const rows = response.rows ?? [];
  if (rows.length > 0 || dimHeaders.length > 0) {
    dimensions.forEach((name, i) => {
      if (dimHeaders[i] !== name)
        fail(`dimensionHeaders[${i}].name`, at, undefined, `expected "${name}"`, dimHeaders[i]);
    });
  }
  if (!Array.isArray(metHeaders)) {
    if (rows.length === 0) return [];
    fail('metricHeaders', at, undefined, 'expected a list of metric headers', metHeaders);
  }
  const types = metrics.map((name, i) => {
    const header = metHeaders[i];
    if (header?.name !== name)
      fail(`metricHeaders[${i}].name`, at, undefined, `expected "${name}"`, header?.name);
    return String(header.type ?? 'TYPE_FLOAT');
  });
  const dateIndex = dimensions.indexOf('date');
  const records: SluiceRecord[] = new Array<SluiceRecord>(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    const dims = row?.dimensionValues;
    const mets = row?.metricValues;
    if (!Array.isArray(dims) || dims.length !== dimensions.length)
      fail(`rows[${r}].dimensionValues`, at, r, `expected ${dimensions.length} values`, dims);
    if (!Array.isArray(mets) || mets.length !== metrics.length)
      fail(`rows[${r}].metricValues`, at, r, `expected ${metrics.length} values`, mets);
    const record: SluiceRecord = {};
    for (let i = 0; i < dimensions.length; i++) {
      const value = dims[i]?.value;
      if (typeof value !== 'string')
        fail(
          `rows[${r}].dimensionValues[${i}] (${dimensions[i]})`,
          at,
          r,
          'expected a string',
          value,
        );
      record[dimensions[i]!] = i === dateIndex ? isoDate(value) : value;
    }
    for (let i = 0; i < metrics.length; i++) {
      record[metrics[i]!] = castMetric(
        mets[i]?.value,
        types[i]!,
        `rows[${r}].metricValues[${i}] (${metrics[i]})`,
        at,
        r,
      );
    }
    records[r] = record;
  }
  return records;
}

/** GA4 `date` values are `YYYYMMDD`; other values (`(other)`) pass through. */
function isoDate(value: string): string {
  return /^\d{8}$/.test(value)
    ? `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}`
    : value;
}

function castMetric(
  value: unknown,
  type: string,
  field: string,
  at: PageLocation,
  row: number,
): JsonValue {
  if (typeof value !== 'string' || value.trim() === '')
    fail(field, at, row, `expected a numeric string (${type})`, value);
  const n = Number(value);
  if (!Number.isFinite(n)) fail(field, at, row, `expected a number (${type})`, value);
  if (INTEGER_TYPES.has(type)) {
    if (!Number.isInteger(n)) fail(field, at, row, 'expected an integer (TYPE_INTEGER)', value);
    return Number.isSafeInteger(n) ? n : value;
  }
  return n;
}

function fail(
  field: string,
  at: PageLocation,
  row: number | undefined,
  expectation: string,
  got: unknown,
): never {
  let shown = JSON.stringify(got) ?? String(got);
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  throw new FatalError(
    `GA4 returned a malformed report: field "${field}"${row === undefined ? '' : ` (row ${row}`}${row === undefined ? ' (' : ' of '}page ${at.page}, offset ${at.offset}): ${expectation}, got ${shown}`,
    { details: { field, page: at.page, offset: at.offset, ...(row === undefined ? {} : { row }) } },
  );
}
