/**
 * Maps what the AWS SDK throws onto Sluice errors: outages and throttling are retried, refusals
 * that retrying cannot fix (access denied, missing bucket, bad encryption settings) are fatal.
 *
 * @packageDocumentation
 */
import { FatalError, RetryableError, type SluiceError } from '@sluice/core';
import { findBlockedAddressError } from '@sluice/core/net';

/** S3 error codes that no retry can fix. */
const FATAL_CODES = new Set([
  'AccessDenied',
  'AccountProblem',
  'AllAccessDisabled',
  'AuthorizationHeaderMalformed',
  'ExpiredToken',
  'InvalidAccessKeyId',
  'InvalidArgument',
  'InvalidBucketName',
  'InvalidBucketState',
  'InvalidEncryptionAlgorithmError',
  'InvalidObjectState',
  'InvalidRequest',
  'InvalidStorageClass',
  'InvalidToken',
  'KMS.DisabledException',
  'KMS.NotFoundException',
  'KMS.KMSInvalidStateException',
  'MethodNotAllowed',
  'NoSuchBucket',
  'NotSignedUp',
  'PermanentRedirect',
  'SignatureDoesNotMatch',
  'UnauthorizedAccess',
  'EntityTooLarge',
  'KeyTooLongError',
]);

/** S3 error codes that go away by themselves. */
const RETRYABLE_CODES = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'OperationAborted',
  'NoSuchUpload',
]);

interface AwsErrorShape {
  name?: unknown;
  Code?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Classifies an error from `@aws-sdk/client-s3` or `@aws-sdk/lib-storage`.
 *
 * @example
 * ```ts
 * try { await upload.done(); } catch (err) { throw mapS3Error(err, 'exports/part-1.csv'); }
 * ```
 */
export function mapS3Error(err: unknown, key: string): SluiceError {
  // The outgoing-connection guard refused the endpoint's address: fatal, never retried.
  const blocked = findBlockedAddressError(err);
  if (blocked) return blocked.forField('endpoint');
  const e = (err ?? {}) as AwsErrorShape;
  const code = typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : 'Error';
  const status = e.$metadata?.httpStatusCode;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : code;
  const details = { s3Error: code, key, ...(status === undefined ? {} : { httpStatus: status }) };
  if (FATAL_CODES.has(code)) {
    return new FatalError(`S3 refused ${key}: ${code}: ${message}`, { cause: err, details });
  }
  if (
    RETRYABLE_CODES.has(code) ||
    status === undefined ||
    status >= 500 ||
    status === 429 ||
    status === 408
  ) {
    // No HTTP status at all means the request never got an answer: refused, reset, timed out.
    const reason =
      status === undefined
        ? `${typeof e.code === 'string' ? `${e.code}: ` : ''}${message}`
        : `${code} (HTTP ${status}): ${message}`;
    return new RetryableError(`S3 is unavailable writing ${key}: ${reason}`, {
      cause: err,
      details,
    });
  }
  return new FatalError(`S3 refused ${key}: ${code} (HTTP ${status}): ${message}`, {
    cause: err,
    details,
  });
}
