/**
 * Dead letters: building them (a record a route or a destination gave up on, a value that is
 * not a record) and writing them to the sink one call at a time, in order, retried with core's
 * retry helper, with a backlog the router's `push` waits on.
 *
 * @packageDocumentation
 */
import {
  ErrorCodes,
  FatalError,
  retryWithBackoff,
  type BackoffPolicy,
  type Clock,
  type DeadLetter,
  type DeadLetterSink,
  type JsonValue,
  type SluiceRecord,
} from '@sluice/core';
import type { CompiledRoute } from '../route-table.js';

/** `route` of the dead letter of a value that is not a record (it reached no route). */
export const INVALID_RECORD_ROUTE = '(source)';
/** `destination` of the dead letter of a value that is not a record (it reached none). */
export const INVALID_RECORD_DESTINATION = '(none)';

/** What every dead letter of a run carries. */
export interface DeadLetterRun {
  readonly pipeline: string;
  readonly runId: string;
  /** The source's name (named in the dead letter of a value that is not a record). */
  readonly source: string;
  readonly clock: Clock;
}

/** A dead letter and the sequence number of the input record it settles. */
export interface PendingLetter {
  readonly seq: number;
  readonly letter: DeadLetter;
}

/**
 * The dead letter of a record a route's condition or transform failed on, or that a destination
 * gave up on after `attempts` tries.
 *
 * @example
 * ```ts
 * const letter = deadLetterOf(run, route, 'warehouse', output, input, error, 5, item.position);
 * ```
 */
export function deadLetterOf(
  run: DeadLetterRun,
  route: CompiledRoute,
  destination: string,
  record: SluiceRecord,
  original: SluiceRecord,
  error: Error,
  attempts: number,
  position?: string,
): DeadLetter {
  const code = (error as { code?: unknown }).code;
  return {
    pipeline: run.pipeline,
    runId: run.runId,
    route: route.name,
    destination,
    record,
    original,
    error: {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
    },
    attempts,
    failedAt: new Date(run.clock.now()).toISOString(),
    // The input record's position (a transform's further outputs add `.n`): a replay re-routes the input.
    ...(position === undefined ? {} : { position: position.replace(/\.\d+$/, '') }),
  };
}

/**
 * The dead letter of a value a connector yielded that is not a plain JSON object: it is never
 * routed or written, and the letter names the connector, the page and its index in the page.
 *
 * @example
 * ```ts
 * invalidRecordLetter(run, 'text', 2, 0).error.code; // "SLUICE_ERR_INVALID_RECORD"
 * ```
 */
export function invalidRecordLetter(
  run: DeadLetterRun,
  value: unknown,
  page: number,
  index: number,
): DeadLetter {
  const what = describeNonRecord(value);
  const error = new FatalError(
    `connector "${run.source}" page ${page}, record #${index}: not a plain JSON object (${what}); a connector must yield records as plain objects`,
    { details: { connector: run.source, page, index } },
  );
  const record: SluiceRecord = { invalidRecord: toJsonSafe(value), type: what };
  return {
    pipeline: run.pipeline,
    runId: run.runId,
    route: INVALID_RECORD_ROUTE,
    destination: INVALID_RECORD_DESTINATION,
    record,
    original: record,
    error: { name: error.name, message: error.message, code: ErrorCodes.invalidRecord },
    attempts: 0,
    failedAt: new Date(run.clock.now()).toISOString(),
  };
}

function describeNonRecord(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return `an instance of ${typeof name === 'string' && name !== '' ? name : 'a class'}`;
  }
  if (typeof value === 'string')
    return `a string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}`;
}

function toJsonSafe(value: unknown): JsonValue {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? null : (JSON.parse(text) as JsonValue);
  } catch {
    return String(value);
  }
}

/** Options of {@link DeadLetterWriter}. */
export interface DeadLetterWriterOptions {
  sink: DeadLetterSink;
  clock: Clock;
  /** Stops the waits between tries (the run stopped); a write in flight still finishes. */
  signal: AbortSignal;
  random: () => number;
  /** Letters waiting for the sink at which {@link DeadLetterWriter.backlogged} turns true. */
  highWater: number;
  /** True once the run failed or was aborted: letters not yet written are not written. */
  stopped: () => boolean;
  /** The sink took these letters. */
  written: (letters: readonly PendingLetter[], stage: string) => void;
  /** The sink refused `count` letters on every try. */
  rejected: (error: unknown, count: number) => void;
}

// Writes to the dead-letter sink: 3 tries, waits below 200 ms then 400 ms.
const DEAD_LETTER_RETRY: BackoffPolicy = {
  maxAttempts: 3,
  initialDelayMs: 200,
  maxDelayMs: 1_000,
  multiplier: 2,
};
const NEVER_ABORTED = new AbortController().signal;

/**
 * Writes dead letters one sink call at a time, in the order they were handed over.
 *
 * @example
 * ```ts
 * const writer = new DeadLetterWriter({ sink, clock, signal, random: Math.random, highWater: 1000, stopped: () => false, written, rejected });
 * writer.write([{ seq, letter }], 'delivery');
 * if (writer.backlogged) await writer.settled();
 * ```
 */
export class DeadLetterWriter {
  readonly #options: DeadLetterWriterOptions;
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;

  constructor(options: DeadLetterWriterOptions) {
    this.#options = options;
  }

  /** True when so many letters wait for the sink that the router should wait for it. */
  get backlogged(): boolean {
    return this.#pending >= this.#options.highWater;
  }

  /** Resolves when every letter handed over so far is written, refused or skipped. */
  settled(): Promise<void> {
    return this.#chain;
  }

  /** Queues letters for the sink; `stage` (route, delivery, source) is logged with them. */
  write(letters: PendingLetter[], stage: string): void {
    const { sink, clock, signal, random, stopped, written, rejected } = this.#options;
    this.#pending += letters.length;
    this.#chain = this.#chain.then(async () => {
      if (stopped()) return;
      try {
        // Every sink error is retried. A write in flight finishes even when the run is aborted
        // (its records are then counted); only the waits between tries stop.
        await retryWithBackoff(() => sink.write(letters.map((l) => l.letter)), {
          ...DEAD_LETTER_RETRY,
          clock,
          signal: NEVER_ABORTED,
          shouldRetry: () => true,
          wait: (ms) => clock.sleep(ms, signal),
          random,
        });
      } catch (error) {
        if (signal.aborted) return;
        this.#pending -= letters.length;
        rejected(error, letters.length);
        return;
      }
      this.#pending -= letters.length;
      written(letters, stage);
    });
  }
}
