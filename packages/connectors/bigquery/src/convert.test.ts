import { FatalError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { convertRows, timestampToIso, type BigQueryField } from './convert.js';

const row = (...values: unknown[]) => ({ f: values.map((v) => ({ v })) });

describe('convertRows', () => {
  it('converts every scalar type without losing precision', () => {
    const fields: BigQueryField[] = [
      { name: 'small', type: 'INT64' },
      { name: 'large', type: 'INTEGER' },
      { name: 'num', type: 'NUMERIC' },
      { name: 'bignum', type: 'BIGNUMERIC' },
      { name: 'f', type: 'FLOAT64' },
      { name: 'nan', type: 'FLOAT' },
      { name: 'inf', type: 'FLOAT' },
      { name: 'ninf', type: 'FLOAT' },
      { name: 'b', type: 'BOOL' },
      { name: 'ts', type: 'TIMESTAMP' },
      { name: 'd', type: 'DATE' },
      { name: 'dt', type: 'DATETIME' },
      { name: 't', type: 'TIME' },
      { name: 'bytes', type: 'BYTES' },
      { name: 'geo', type: 'GEOGRAPHY' },
      { name: 'json', type: 'JSON' },
      { name: 's', type: 'STRING' },
      { name: 'missing', type: 'STRING' },
    ];
    const [record] = convertRows(
      fields,
      [
        row(
          '42',
          '9007199254740993',
          '123456789012345678901234567.123456789',
          '-0.12345678901234567890123456789012345678',
          '3.25',
          'NaN',
          'Infinity',
          '-Infinity',
          'TRUE',
          '1767225610000001',
          '2026-11-24',
          '2026-11-24T08:00:00.123456',
          '23:59:59.999999',
          'AAEC',
          'POINT(13.4 52.5)',
          '{"a":[1,{"b":null}]}',
          'hello',
          null,
        ),
      ],
      1,
    );
    expect(record).toEqual({
      small: 42,
      large: '9007199254740993',
      num: '123456789012345678901234567.123456789',
      bignum: '-0.12345678901234567890123456789012345678',
      f: 3.25,
      nan: 'NaN',
      inf: 'Infinity',
      ninf: '-Infinity',
      b: true,
      ts: '2026-01-01T00:00:10.000001Z',
      d: '2026-11-24',
      dt: '2026-11-24T08:00:00.123456',
      t: '23:59:59.999999',
      bytes: 'AAEC',
      geo: 'POINT(13.4 52.5)',
      json: { a: [1, { b: null }] },
      s: 'hello',
      missing: null,
    });
    expect(JSON.parse(JSON.stringify(record))).toEqual(record);
  });

  it('converts REPEATED and nested RECORD fields', () => {
    const fields: BigQueryField[] = [
      { name: 'tags', type: 'STRING', mode: 'REPEATED' },
      { name: 'empty', type: 'INT64', mode: 'REPEATED' },
      {
        name: 'address',
        type: 'RECORD',
        fields: [
          { name: 'city', type: 'STRING' },
          {
            name: 'points',
            type: 'RECORD',
            mode: 'REPEATED',
            fields: [{ name: 'at', type: 'TIMESTAMP' }],
          },
        ],
      },
    ];
    const [record] = convertRows(
      fields,
      [
        {
          f: [
            { v: [{ v: 'a' }, { v: 'b' }] },
            { v: [] },
            { v: { f: [{ v: 'Berlin' }, { v: [{ v: { f: [{ v: '0' }] } }] }] } },
          ],
        },
      ],
      1,
    );
    expect(record).toEqual({
      tags: ['a', 'b'],
      empty: [],
      address: { city: 'Berlin', points: [{ at: '1970-01-01T00:00:00.000000Z' }] },
    });
  });

  it('converts RANGE values', () => {
    const fields: BigQueryField[] = [
      { name: 'r', type: 'RANGE', rangeElementType: { type: 'DATE' } },
    ];
    expect(convertRows(fields, [row('[2026-01-01, UNBOUNDED)')], 1)).toEqual([
      { r: { start: '2026-01-01', end: null } },
    ]);
  });

  it('names the field, row and page of a malformed value', () => {
    const fields: BigQueryField[] = [
      { name: 'address', type: 'RECORD', fields: [{ name: 'zip', type: 'INT64' }] },
    ];
    const attempt = () =>
      convertRows(fields, [row(null), { f: [{ v: { f: [{ v: 'abc' }] } }] }], 7);
    expect(attempt).toThrow(FatalError);
    expect(attempt).toThrow(
      /field "address\.zip" \(row 1 of page 7\): expected an integer, got "abc"/,
    );
  });

  it('rejects rows of the wrong shape', () => {
    expect(() => convertRows([{ name: 'a', type: 'STRING' }], [{ f: 'x' }], 2)).toThrow(
      /field "rows\[\]\.f" \(row 0 of page 2\)/,
    );
    expect(() => convertRows([{ name: 'a', type: 'STRING' }], [row('x', 'y')], 2)).toThrow(
      /expected 1 cells/,
    );
    expect(() => convertRows([{ name: 'a', type: 'BOOL' }], [row('maybe')], 2)).toThrow(
      /expected "true" or "false"/,
    );
    expect(() => convertRows([{ name: 'a', type: 'JSON' }], [row('{oops')], 2)).toThrow(
      /expected a JSON document/,
    );
    expect(() => convertRows([{ name: 'a', type: 'FLOAT64' }], [row(12)], 2)).toThrow(
      /expected a string for FLOAT64/,
    );
    expect(() =>
      convertRows([{ name: 'a', type: 'STRING', mode: 'REPEATED' }], [row('x')], 2),
    ).toThrow(/expected a list/);
  });
});

describe('timestampToIso', () => {
  it('keeps microseconds, handles negatives and other encodings', () => {
    expect(timestampToIso('1767225610000001')).toBe('2026-01-01T00:00:10.000001Z');
    expect(timestampToIso('-1')).toBe('1969-12-31T23:59:59.999999Z');
    expect(timestampToIso('1.5')).toBe('1970-01-01T00:00:01.500000Z');
    expect(timestampToIso('2026-11-24T08:00:00.123456Z')).toBe('2026-11-24T08:00:00.123456Z');
  });
});
