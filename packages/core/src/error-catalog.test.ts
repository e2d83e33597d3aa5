import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ErrorCodes,
  FatalError,
  PartialBatchError,
  RetryableError,
} from './errors.js';
import {
  errorCatalog,
  errorDefinitions,
  formatErrorMessage,
  isCatalogCode,
  webhookRejectionError,
} from './error-catalog.js';
import { BlockedAddressError } from './net/address-policy.js';

describe('the error catalog', () => {
  it('holds each code once, named SLUICE_ERR_*, with an HTTP status in the error range where it has one', () => {
    const codes = errorDefinitions.map((entry) => entry.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const entry of errorDefinitions) {
      expect(entry.code).toMatch(/^SLUICE_ERR_[A-Z0-9]+(_[A-Z0-9]+)*$/);
      if (entry.status !== undefined)
        expect(entry.status >= 400 && entry.status < 600, entry.code).toBe(true);
      expect(entry.message.length, entry.code).toBeGreaterThan(0);
      expect(entry.cause.length, entry.code).toBeGreaterThan(20);
      expect(entry.fix.length, entry.code).toBeGreaterThan(10);
    }
  });

  it('is the source of the codes of the error family', () => {
    for (const code of Object.values(ErrorCodes)) expect(isCatalogCode(code)).toBe(true);
    expect(new RetryableError('busy').code).toBe(errorCatalog.retryable.code);
    expect(new FatalError('denied').code).toBe('SLUICE_ERR_FATAL');
    expect(new PartialBatchError([{ index: 0, error: new Error('x') }]).code).toBe(
      'SLUICE_ERR_PARTIAL_BATCH',
    );
    expect(new ConfigError([{ path: 'a', message: 'required' }]).code).toBe('SLUICE_ERR_CONFIG');
    expect(new BlockedAddressError('10.0.0.5', '10.0.0.5', 'private').code).toBe(
      'SLUICE_ERR_BLOCKED_ADDRESS',
    );
  });

  it('says which errors are retried the way isRetryable and the API treat them', () => {
    expect(errorCatalog.retryable.retryable).toBe(true);
    expect(errorCatalog.fatal.retryable).toBe(false);
    expect(errorCatalog.blockedAddress.retryable).toBe(false);
    expect(errorCatalog.rateLimited).toMatchObject({ status: 429, retryable: true });
    expect(errorCatalog.backlogFull).toMatchObject({
      code: 'SLUICE_ERR_BACKLOG_FULL',
      status: 429,
      retryable: true,
    });
    expect(errorCatalog.notFound).toMatchObject({
      code: 'SLUICE_ERR_NOT_FOUND',
      status: 404,
      retryable: false,
    });
  });

  it('has one code per webhook rejection reason, with the status the scheduler answers', () => {
    const expected: Record<string, [string, number]> = {
      'not-found': ['SLUICE_ERR_WEBHOOK_NOT_FOUND', 404],
      'missing-secret': ['SLUICE_ERR_WEBHOOK_MISSING_SECRET', 500],
      'missing-header': ['SLUICE_ERR_WEBHOOK_MISSING_HEADER', 400],
      'invalid-header': ['SLUICE_ERR_WEBHOOK_INVALID_HEADER', 401],
      'invalid-secret': ['SLUICE_ERR_WEBHOOK_INVALID_SECRET', 401],
      'stale-timestamp': ['SLUICE_ERR_WEBHOOK_STALE_TIMESTAMP', 401],
      'bad-signature': ['SLUICE_ERR_WEBHOOK_BAD_SIGNATURE', 401],
      'too-large': ['SLUICE_ERR_WEBHOOK_TOO_LARGE', 413],
      'invalid-payload': ['SLUICE_ERR_WEBHOOK_INVALID_PAYLOAD', 400],
      'unknown-scheme': ['SLUICE_ERR_WEBHOOK_UNKNOWN_SCHEME', 500],
    };
    for (const [reason, [code, status]] of Object.entries(expected)) {
      expect(webhookRejectionError(reason), reason).toMatchObject({
        code,
        status,
        area: 'webhook',
        reason,
      });
      // The code the server used to build from the reason: unchanged on the wire.
      expect(code).toBe(`SLUICE_ERR_WEBHOOK_${reason.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`);
    }
    expect(
      errorDefinitions
        .filter((entry) => entry.area === 'webhook')
        .map((entry) => entry.reason)
        .sort(),
    ).toEqual(Object.keys(expected).sort());
    expect(() => webhookRejectionError('gremlins')).toThrow(
      /no code for the webhook rejection reason "gremlins"/,
    );
  });

  it('fills message templates, leaving a part without a value visible', () => {
    expect(formatErrorMessage(errorCatalog.notFound, { what: 'pipeline "daily"' })).toBe(
      'pipeline "daily" does not exist',
    );
    expect(formatErrorMessage(errorCatalog.forbidden, { key: 'ci', scope: 'admin' })).toBe(
      'the API key "ci" lacks the "admin" scope',
    );
    expect(formatErrorMessage(errorCatalog.rateLimited, { max: 100 })).toBe(
      'rate limit of 100 requests per minute exceeded; retry in {seconds} s',
    );
    expect(formatErrorMessage({ message: '{toString} {a}' }, { a: 1 })).toBe('{toString} 1');
  });

  it('recognises its own codes only', () => {
    expect(isCatalogCode('SLUICE_ERR_DATA_DIR_LOCKED')).toBe(true);
    expect(isCatalogCode('SLUICE_ERR_NOPE')).toBe(false);
    expect(isCatalogCode('ENOENT')).toBe(false);
    expect(isCatalogCode(42)).toBe(false);
  });
});
