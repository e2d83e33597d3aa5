import { describe, expect, it } from 'vitest';
import * as fc from 'fast-check';
import { compareCursor, cursorMatchesSchema, startCursor } from './cursor.js';

describe('compareCursor', () => {
  it('compares INT64 exactly beyond 2^53', () => {
    expect(compareCursor('9007199254740993', 9007199254740992, 'INT64')).toBe(1);
    expect(compareCursor(-5, '-5', 'INT64')).toBe(0);
  });

  it('compares decimals exactly', () => {
    expect(compareCursor('0.1000000000000000000000000001', '0.1', 'NUMERIC')).toBe(1);
    expect(compareCursor('-2.5', '-10', 'NUMERIC')).toBe(1);
    expect(compareCursor('1e3', '999.99', 'BIGNUMERIC')).toBe(1);
    expect(compareCursor('-0', '0.000', 'NUMERIC')).toBe(0);
  });

  it('agrees with BigInt on integers (property)', () => {
    fc.assert(
      fc.property(fc.bigInt(), fc.bigInt(), (a, b) => {
        const expected = a < b ? -1 : a > b ? 1 : 0;
        expect(Math.sign(compareCursor(a.toString(), b.toString(), 'NUMERIC'))).toBe(expected);
        expect(Math.sign(compareCursor(a.toString(), b.toString(), 'INT64'))).toBe(expected);
      }),
    );
  });

  it('orders ISO timestamps chronologically', () => {
    expect(
      compareCursor('2026-01-01T00:00:00.000001Z', '2026-01-01T00:00:00.000000Z', 'TIMESTAMP'),
    ).toBe(1);
  });
});

describe('startCursor', () => {
  it('prefers the state, then the initial value, then the minimum of the type', () => {
    expect(startCursor({ cursor: 'x' }, 'y', 'STRING')).toBe('x');
    expect(startCursor(undefined, 'y', 'STRING')).toBe('y');
    expect(startCursor(undefined, undefined, 'DATE')).toBe('0001-01-01');
  });

  it('names state.cursor when the state is not a checkpoint', () => {
    expect(() => startCursor({ other: 1 }, undefined, 'INT64')).toThrow(/state\.cursor/);
  });

  it('matches legacy schema type names', () => {
    expect(cursorMatchesSchema('INT64', 'INTEGER')).toBe(true);
    expect(cursorMatchesSchema('TIMESTAMP', 'DATE')).toBe(false);
  });
});
