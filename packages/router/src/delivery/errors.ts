import { ErrorCodes, FatalError, type JsonValue, type SluiceErrorOptions } from '@sluice/core';
import type { RouterSummary } from './summary.js';

/**
 * The run failed on purpose: a route with `onError: 'fail-run'` had a record that could not be
 * delivered (or transformed), or dead letters could not be stored. Records after the last
 * acknowledged checkpoint were not committed and will be read again.
 *
 * @example
 * ```ts
 * try { await runPipeline(options); }
 * catch (err) { if (err instanceof RunFailedError) console.log(err.route, err.destination, err.summary); }
 * ```
 */
export class RunFailedError extends FatalError {
  readonly route: string | undefined;
  readonly destination: string | undefined;
  /** The run summary at the moment of failure, when known. */
  summary: RouterSummary | undefined;

  constructor(
    message: string,
    options: SluiceErrorOptions & { route?: string; destination?: string } = {},
  ) {
    const details: Record<string, JsonValue> = { ...(options.details ?? {}) };
    if (options.route !== undefined) details.route = options.route;
    if (options.destination !== undefined) details.destination = options.destination;
    super(message, { ...options, details });
    // FatalError types `name` as the literal 'FatalError'; the runtime name still says what failed.
    Object.defineProperty(this, 'name', {
      value: 'RunFailedError',
      enumerable: false,
      configurable: true,
      writable: false,
    });
    this.route = options.route;
    this.destination = options.destination;
  }
}

/**
 * The run was cancelled through its `AbortSignal`. The last committed checkpoint is intact;
 * `cause` is the signal's reason.
 *
 * @example
 * ```ts
 * controller.abort();
 * await runPipeline({ ...options, signal: controller.signal }).catch((err) => err instanceof RunAbortedError); // true
 * ```
 */
export class RunAbortedError extends Error {
  override readonly name = 'RunAbortedError';
  readonly code = ErrorCodes.aborted;
  summary: RouterSummary | undefined;
  constructor(cause: unknown, summary?: RouterSummary) {
    super('the run was aborted', { cause });
    this.summary = summary;
  }
}
