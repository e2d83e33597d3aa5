import { FatalError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { convertReportRows } from './convert.js';

const response = (
  values: string[],
  types: (string | number)[] = ['TYPE_INTEGER', 'TYPE_FLOAT', 'TYPE_SECONDS', 'TYPE_CURRENCY'],
) => ({
  dimensionHeaders: [{ name: 'date' }, { name: 'country' }],
  metricHeaders: ['sessions', 'bounceRate', 'averageSessionDuration', 'purchaseRevenue'].map(
    (name, i) => ({ name, type: types[i] }),
  ),
  rows: [
    {
      dimensionValues: [{ value: '20261124' }, { value: 'Germany' }],
      metricValues: values.map((value) => ({ value })),
    },
  ],
  rowCount: 1,
});
const metrics = ['sessions', 'bounceRate', 'averageSessionDuration', 'purchaseRevenue'];

describe('convertReportRows', () => {
  it('casts metric values by type and formats dates', () => {
    expect(
      convertReportRows(
        response(['120', '0.25', '93.5', '1234.56']),
        ['date', 'country'],
        metrics,
        { page: 1, offset: 0 },
      ),
    ).toEqual([
      {
        date: '2026-11-24',
        country: 'Germany',
        sessions: 120,
        bounceRate: 0.25,
        averageSessionDuration: 93.5,
        purchaseRevenue: 1234.56,
      },
    ]);
  });

  it('accepts enum numbers as the REST transport may send them', () => {
    const [record] = convertReportRows(
      response(['7', '1', '2', '3'], [1, 2, 4, 9]),
      ['date', 'country'],
      metrics,
      { page: 1, offset: 0 },
    );
    expect(record!.sessions).toBe(7);
  });

  it('names field, row and page of bad values', () => {
    const attempt = (values: string[]) => () =>
      convertReportRows(response(values), ['date', 'country'], metrics, { page: 3, offset: 20000 });
    expect(attempt(['1.5', '0', '0', '0'])).toThrow(FatalError);
    expect(attempt(['1.5', '0', '0', '0'])).toThrow(
      /rows\[0\]\.metricValues\[0\] \(sessions\)" \(row 0 of page 3, offset 20000\): expected an integer/,
    );
    expect(attempt(['1', 'abc', '0', '0'])).toThrow(/bounceRate/);
  });

  it('checks headers against the request', () => {
    expect(() =>
      convertReportRows(response(['1', '0', '0', '0']), ['date', 'city'], metrics, {
        page: 1,
        offset: 0,
      }),
    ).toThrow(/dimensionHeaders\[1\]\.name/);
    const { metricHeaders: _drop, ...noHeaders } = response(['1', '0', '0', '0']);
    expect(() =>
      convertReportRows(noHeaders, ['date', 'country'], metrics, { page: 2, offset: 5 }),
    ).toThrow(/field "metricHeaders" \(page 2, offset 5\)/);
  });

  it('returns nothing for an empty report', () => {
    expect(
      convertReportRows(
        {
          dimensionHeaders: [{ name: 'date' }],
          metricHeaders: [{ name: 'sessions', type: 'TYPE_INTEGER' }],
        },
        ['date'],
        ['sessions'],
        { page: 1, offset: 0 },
      ),
    ).toEqual([]);
  });
});
