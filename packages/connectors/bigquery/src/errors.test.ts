import { FatalError, RetryableError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { QUOTA_RETRY_MS, mapBigQueryError } from './errors.js';

const apiError = (code: number, reason: string, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`${reason} happened`), {
    code,
    errors: [{ reason, message: 'm' }],
    response: { headers },
  });

describe('mapBigQueryError', () => {
  it('maps rate limits, quota and server errors to RetryableError', () => {
    const rate = mapBigQueryError(
      apiError(403, 'rateLimitExceeded', { 'retry-after': '3' }),
      'reading page 2',
    );
    expect(rate).toBeInstanceOf(RetryableError);
    expect((rate as RetryableError).retryAfterMs).toBe(3000);
    expect(rate.message).toContain('reading page 2');
    const quota = mapBigQueryError(apiError(403, 'quotaExceeded'), 'starting the query');
    expect((quota as RetryableError).retryAfterMs).toBe(QUOTA_RETRY_MS);
    expect(mapBigQueryError(apiError(503, 'backendError'), 'x')).toBeInstanceOf(RetryableError);
    expect(mapBigQueryError(apiError(429, 'whatever'), 'x')).toBeInstanceOf(RetryableError);
    expect(
      mapBigQueryError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'x'),
    ).toBeInstanceOf(RetryableError);
  });

  it('maps auth, permission, bad queries and byte limits to FatalError with advice', () => {
    expect(mapBigQueryError(apiError(401, 'authError'), 'x').message).toMatch(/credentials/);
    expect(mapBigQueryError(apiError(403, 'accessDenied'), 'x').message).toMatch(
      /roles\/bigquery\.jobUser/,
    );
    expect(mapBigQueryError(apiError(400, 'invalidQuery'), 'x')).toBeInstanceOf(FatalError);
    expect(mapBigQueryError(apiError(400, 'bytesBilledLimitExceeded'), 'x').message).toMatch(
      /maximumBytesBilled/,
    );
    expect(mapBigQueryError(apiError(404, 'notFound'), 'x').message).toMatch(/projectId/);
  });
});
