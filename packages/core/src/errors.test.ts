import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ErrorCodes,
  FatalError,
  PartialBatchError,
  RetryableError,
  SluiceError,
  isRetryable,
  parseRetryAfter,
  toError,
} from './errors.js';

describe('error family', () => {
  it('gives every error a stable code and keeps the cause', () => {
    const cause = new Error('socket hang up');
    const retry = new RetryableError('busy', { cause, retryAfterMs: 1500 });
    expect(retry).toBeInstanceOf(SluiceError);
    expect(retry.code).toBe(ErrorCodes.retryable);
    expect(retry.cause).toBe(cause);
    expect(retry.retryAfterMs).toBe(1500);
    expect(new FatalError('denied').code).toBe('SLUICE_ERR_FATAL');
  });

  it('ignores a negative or non-finite Retry-After', () => {
    expect(new RetryableError('x', { retryAfterMs: -1 }).retryAfterMs).toBeUndefined();
    expect(new RetryableError('x', { retryAfterMs: Number.NaN }).retryAfterMs).toBeUndefined();
  });

  it('sorts partial failures and lists their indexes', () => {
    const err = new PartialBatchError([
      { index: 7, error: new Error('b') },
      { index: 2, error: new Error('a') },
    ]);
    expect(err.failed).toEqual([2, 7]);
    expect(err.message).toContain('#2: a');
    expect(err.code).toBe('SLUICE_ERR_PARTIAL_BATCH');
  });

  it('summarises long partial failure lists', () => {
    const err = new PartialBatchError(
      [0, 1, 2, 3, 4].map((index) => ({ index, error: new Error('x') })),
    );
    expect(err.message).toMatch(/^5 record\(s\).*; \.\.\.$/);
  });

  it('lists every config issue with its path', () => {
    const err = new ConfigError([
      { path: 'pipelines.daily.routes[2].to[0]', message: 'unknown destination "slak"' },
      { path: '', message: 'bad' },
    ]);
    expect(err.message).toBe(
      'Invalid configuration:\n  pipelines.daily.routes[2].to[0]: unknown destination "slak"\n  (root): bad',
    );
    expect(err.toJSON()).toEqual({
      code: 'SLUICE_ERR_CONFIG',
      name: 'ConfigError',
      message: err.message,
      details: { issues: err.issues },
    });
  });

  it('serialises details but never the cause', () => {
    const json = new FatalError('x', {
      cause: new Error('secret'),
      details: { status: 401 },
    }).toJSON();
    expect(json).toEqual({
      code: 'SLUICE_ERR_FATAL',
      name: 'FatalError',
      message: 'x',
      details: { status: 401 },
    });
  });

  it('classifies retryability', () => {
    expect(isRetryable(new RetryableError('x'))).toBe(true);
    expect(isRetryable(new FatalError('x'))).toBe(false);
    expect(isRetryable(new ConfigError([]))).toBe(false);
    expect(isRetryable(new Error('ECONNRESET'))).toBe(true);
  });

  it('turns anything thrown into an Error', () => {
    const e = new Error('x');
    expect(toError(e)).toBe(e);
    expect(toError('boom').message).toBe('boom');
    expect(toError({ a: 1 }).message).toBe('non-error thrown: {"a":1}');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(toError(circular).message).toBe('non-error thrown: [object Object]');
  });

  it('parses Retry-After seconds and dates', () => {
    const now = Date.parse('2026-11-25T08:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter(['3'], now)).toBe(3000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 08:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
  });
});
