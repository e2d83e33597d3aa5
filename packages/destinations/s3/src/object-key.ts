/**
 * Checks of rendered object keys: S3 accepts almost anything, but keys with empty, `.` or `..`
 * segments, control characters or more than 1024 bytes break tools that map keys to paths
 * (Athena, Spark, `aws s3 sync`).
 *
 * @packageDocumentation
 */

/**
 * The problem with a rendered key, or `undefined` when it is fine.
 *
 * @example
 * ```ts
 * objectKeyProblem('exports/date=2026-11-25/part-b1.csv'); // undefined
 * objectKeyProblem('exports//part.csv');                    // "has an empty segment (//)"
 * ```
 */
export function objectKeyProblem(key: string): string | undefined {
  if (key === '') return 'is empty';
  if (Buffer.byteLength(key, 'utf8') > 1024) return 'is longer than 1024 bytes';
  if (key.startsWith('/')) return 'starts with /';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(key)) return 'contains a control character (e.g. a line break)';
  const segments = key.split('/');
  if (segments.slice(0, -1).includes('')) return 'has an empty segment (//)';
  if (segments.at(-1) === '') return 'ends with / (names a folder, not an object)';
  if (segments.some((s) => s === '.' || s === '..')) return 'has a . or .. segment';
  return undefined;
}
