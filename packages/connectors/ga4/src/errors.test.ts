import { FatalError, RetryableError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { CONCURRENCY_RETRY_MS, mapGa4Error } from './errors.js';

const at = {
  now: Date.UTC(2026, 10, 25, 18, 30),
  timeZone: 'America/Los_Angeles',
  propertyId: '42',
};
const gax = (code: number, message: string) => Object.assign(new Error(message), { code });

describe('mapGa4Error', () => {
  it('waits for the quota window that ran out', () => {
    expect(
      (
        mapGa4Error(
          gax(8, 'Exhausted property tokens per hour for a property.'),
          'x',
          at,
        ) as RetryableError
      ).retryAfterMs,
    ).toBe(30 * 60_000);
    expect(
      (
        mapGa4Error(
          gax(8, 'Exhausted property tokens for a property per day.'),
          'x',
          at,
        ) as RetryableError
      ).retryAfterMs,
    ).toBe(13.5 * 3_600_000);
    expect(
      (
        mapGa4Error(
          gax(8, 'Exhausted concurrent requests quota for a property.'),
          'x',
          at,
        ) as RetryableError
      ).retryAfterMs,
    ).toBe(CONCURRENCY_RETRY_MS);
  });

  it('classifies statuses', () => {
    expect(mapGa4Error(gax(14, 'unavailable'), 'x', at)).toBeInstanceOf(RetryableError);
    expect(mapGa4Error(gax(13, 'internal'), 'x', at)).toBeInstanceOf(RetryableError);
    expect(mapGa4Error(new Error('socket hang up'), 'x', at)).toBeInstanceOf(RetryableError);
    expect(mapGa4Error(gax(16, 'bad token'), 'x', at).message).toMatch(/credentials/);
    expect(mapGa4Error(gax(7, 'denied'), 'x', at).message).toMatch(/property 42/);
    expect(
      mapGa4Error(gax(3, 'Field foo is not a valid dimension'), 'reading page 2', at),
    ).toBeInstanceOf(FatalError);
  });
});
