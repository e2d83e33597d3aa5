/**
 * The error family every plugin uses to tell the engine what to do next: retry later, give up,
 * retry only some records, or fix the configuration. Each error has a stable `code`
 * (`SLUICE_ERR_*`) and keeps the original error as `cause`.
 *
 * @packageDocumentation
 */
import { errorCatalog, type CatalogErrorCode } from './error-catalog.js';
import type { JsonValue } from './record.js';

/** Stable codes of the error family below, from the {@link errorCatalog} (which holds every code). */
export const ErrorCodes = {
  retryable: errorCatalog.retryable.code,
  fatal: errorCatalog.fatal.code,
  partialBatch: errorCatalog.partialBatch.code,
  config: errorCatalog.config.code,
  aborted: errorCatalog.aborted.code,
  /** A connector yielded a value that is not a plain JSON object; it is dead-lettered, never written. */
  invalidRecord: errorCatalog.invalidRecord.code,
  /** An outgoing connection would reach a blocked (internal) address: see `@sluice/core/net`. */
  blockedAddress: errorCatalog.blockedAddress.code,
} as const;

/** One of the codes of the {@link errorCatalog}. */
export type ErrorCode = CatalogErrorCode;

/**
 * The brand every Sluice error carries, under a registered symbol (`Symbol.for`), so two
 * installed copies of `@sluice/core` (a plugin's and the engine's) recognise each other's errors:
 * its value is the error's kind (`retryable`, `fatal`, `partial-batch`, `config`, or a kind of
 * a subclass).
 */
export const SLUICE_ERROR_BRAND: unique symbol = Symbol.for('sluice.error') as never;

/** Which brand kinds count as which class: a fatal error is any kind starting with `fatal`. */
function kindIncludes(classKind: string, valueKind: string): boolean {
  return valueKind === classKind || valueKind.startsWith(`${classKind}:`);
}

function brandKind(value: unknown): string | undefined {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function'))
    return undefined;
  const kind = (value as { [SLUICE_ERROR_BRAND]?: unknown })[SLUICE_ERROR_BRAND];
  return typeof kind === 'string' ? kind : undefined;
}

function brand(error: object, kind: string): void {
  Object.defineProperty(error, SLUICE_ERROR_BRAND, {
    value: kind,
    enumerable: false,
    configurable: true,
    writable: false,
  });
}

/**
 * Tells whether `value` is a Sluice error, from this copy of `@sluice/core` or any other.
 *
 * @example
 * ```ts
 * isSluiceError(new FatalError('denied')); // true
 * isSluiceError(new Error('denied'));      // false
 * ```
 */
export function isSluiceError(value: unknown): value is SluiceError {
  return brandKind(value) !== undefined;
}

/** Options shared by every Sluice error. */
export interface SluiceErrorOptions {
  cause?: unknown;
  /** Machine-readable facts about the failure (never secrets). */
  details?: Record<string, JsonValue>;
}

/**
 * Base class of every Sluice error.
 *
 * @example
 * ```ts
 * try { await destination.write(batch, { signal }); }
 * catch (err) { if (err instanceof SluiceError) console.log(err.code); }
 * ```
 */
export abstract class SluiceError extends Error {
  abstract readonly code: ErrorCode;
  readonly details: Record<string, JsonValue> | undefined;

  constructor(message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.details = options.details;
  }

  /**
   * `instanceof SluiceError` (and of every subclass) also holds for errors made by another
   * installed copy of `@sluice/core`: they carry the {@link SLUICE_ERROR_BRAND}. The concrete
   * class is recognised by the brand's kind, since a subclass must not claim its parent's
   * instances.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const kind = brandKind(value);
    if (kind === undefined) return false;
    if (this === SluiceError) return true;
    // Only the four classes of the family match by brand; a subclass declared elsewhere
    // (RunTimeoutError extends RetryableError) matches its own instances only.
    if (!Object.hasOwn(this, 'brandKind')) return false;
    return kindIncludes((this as unknown as { brandKind: string }).brandKind, kind);
  }

  /** A JSON-safe view for logs and API responses; the cause is summarised, never serialised whole. */
  toJSON(): {
    code: ErrorCode;
    name: string;
    message: string;
    details?: Record<string, JsonValue>;
  } {
    return {
      code: this.code,
      name: this.name,
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

/** Options of {@link RetryableError}. */
export interface RetryableErrorOptions extends SluiceErrorOptions {
  /** The remote side asked to wait this long (e.g. from an HTTP `Retry-After` header). */
  retryAfterMs?: number;
}

/**
 * A transient failure: the engine retries with backoff, waiting at least `retryAfterMs`.
 *
 * @example
 * ```ts
 * if (res.statusCode === 429) {
 *   throw new RetryableError('rate limited', { retryAfterMs: parseRetryAfter(res.headers['retry-after']) });
 * }
 * ```
 */
export class RetryableError extends SluiceError {
  readonly code = ErrorCodes.retryable;
  override readonly name: string = 'RetryableError';
  readonly retryAfterMs: number | undefined;

  static readonly brandKind: string = 'retryable';

  constructor(message: string, options: RetryableErrorOptions = {}) {
    super(message, options);
    brand(this, 'retryable');
    this.retryAfterMs =
      options.retryAfterMs !== undefined &&
      Number.isFinite(options.retryAfterMs) &&
      options.retryAfterMs >= 0
        ? options.retryAfterMs
        : undefined;
  }
}

/**
 * A failure that retrying cannot fix (bad credentials, unknown table, invalid query).
 *
 * @example
 * ```ts
 * throw new FatalError('HubSpot rejected the access token', { cause: err });
 * ```
 */
export class FatalError extends SluiceError {
  // Typed as the whole catalog so a more specific fatal error (a blocked address) keeps its own code.
  readonly code: ErrorCode = ErrorCodes.fatal;
  override readonly name: string = 'FatalError';
  static readonly brandKind: string = 'fatal';

  constructor(message: string, options: SluiceErrorOptions = {}) {
    super(message, options);
    brand(this, 'fatal');
  }
}

/** One failed record of a batch: its index in `batch.records` and why it failed. */
export interface RecordFailure {
  index: number;
  error: Error;
}

/**
 * Some records of a batch failed, the rest were written. The engine retries (or dead-letters)
 * only the failed indexes. Each failure is retryable unless its error is a {@link FatalError}.
 *
 * @example
 * ```ts
 * throw new PartialBatchError([{ index: 2, error: new FatalError('column "id" is missing') }]);
 * ```
 */
export class PartialBatchError extends SluiceError {
  readonly code = ErrorCodes.partialBatch;
  override readonly name: string = 'PartialBatchError';
  readonly failures: readonly RecordFailure[];

  static readonly brandKind: string = 'partial-batch';

  constructor(failures: readonly RecordFailure[], options: SluiceErrorOptions = {}) {
    const sorted = [...failures].sort((a, b) => a.index - b.index);
    super(
      `${sorted.length} record(s) of the batch failed: ` +
        sorted
          .slice(0, 3)
          .map((f) => `#${f.index}: ${f.error.message}`)
          .join('; ') +
        (sorted.length > 3 ? '; ...' : ''),
      options,
    );
    this.failures = sorted;
    brand(this, 'partial-batch');
  }

  /** Indexes of the failed records, ascending. */
  get failed(): number[] {
    return this.failures.map((f) => f.index);
  }
}

/**
 * One problem in a configuration: where it is (`pipelines.daily.routes[2].to[0]`, keys of maps by
 * name) and what is wrong; for configuration read from text, the 1-based line and column of the
 * value (or of its nearest written parent).
 */
export interface ConfigIssue {
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/**
 * The configuration (or a plugin's config section, or an API body) is invalid. Lists every
 * problem with its path, so the user fixes them all at once.
 *
 * @example
 * ```ts
 * throw new ConfigError([{ path: 'destinations.warehouse.table', message: 'required' }]);
 * // message: "Invalid configuration:\n  destinations.warehouse.table: required"
 * ```
 */
export class ConfigError extends SluiceError {
  static readonly brandKind: string = 'config';
  readonly code = ErrorCodes.config;
  override readonly name: string = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(
    issues: readonly ConfigIssue[],
    options: SluiceErrorOptions & { title?: string } = {},
  ) {
    const title = options.title ?? 'Invalid configuration';
    super(
      `${title}:\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`,
      options,
    );
    this.issues = issues;
    brand(this, 'config');
  }

  override toJSON() {
    return { ...super.toJSON(), details: { issues: this.issues.map((i) => ({ ...i })) } };
  }
}

/**
 * Tells whether the engine may retry after `error`: {@link RetryableError}s yes, every other
 * Sluice error no, and unknown errors (network resets, driver errors) yes, because most of those
 * are transient.
 *
 * @example
 * ```ts
 * isRetryable(new RetryableError('busy')); // true
 * isRetryable(new FatalError('denied'));   // false
 * ```
 */
export function isRetryable(error: unknown): boolean {
  // By brand, not by class: the error may come from another installed copy of @sluice/core.
  const kind = brandKind(error);
  if (kind === undefined) return true;
  return kindIncludes('retryable', kind);
}

/**
 * Turns anything thrown into an `Error` with a useful message.
 *
 * @example
 * ```ts
 * toError('boom').message; // "boom"
 * ```
 */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(`non-error thrown: ${JSON.stringify(value)}`);
  } catch {
    return new Error(`non-error thrown: ${String(value)}`);
  }
}

/**
 * Parses an HTTP `Retry-After` header (seconds or an HTTP date) into milliseconds.
 * Returns `undefined` when the header is absent or malformed.
 *
 * @example
 * ```ts
 * parseRetryAfter('2');                                  // 2000
 * parseRetryAfter('Wed, 25 Nov 2026 08:00:00 GMT', now); // ms until then (>= 0)
 * ```
 */
export function parseRetryAfter(
  header: string | readonly string[] | undefined | null,
  now: number = Date.now(),
): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
