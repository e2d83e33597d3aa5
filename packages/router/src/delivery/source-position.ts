/**
 * Where in the source each record came from, in a form that is the same in every attempt of a
 * run: the checkpoint the record follows (a digest of that state) and its offset after it.
 *
 * A take-over resumes from the last committed checkpoint and re-reads what came after it; a
 * connector that keeps the contract (a re-read from the same state yields the same records in
 * the same order) yields them at the same positions, so their record keys and the ids of the
 * batches they travel in are the same as in the attempt that was killed. Destinations that key
 * their output by those ids absorb the repeat.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { canonicalJson, type JsonValue } from '@sluice/core';

/**
 * Counts positions: call {@link SourcePositions.after} at the start of the run with the state it
 * resumed from and after every page that carries a state; {@link SourcePositions.next} for each
 * record, in order.
 *
 * @example
 * ```ts
 * const positions = new SourcePositions();
 * positions.after(request.state);  // "3f9c0a21be"
 * positions.next();                // "3f9c0a21be-000001"
 * ```
 */
export class SourcePositions {
  readonly #suffix: string;
  #segment: string;
  #offset = 0;
  #lastDigest: string | undefined;
  readonly #seen = new Map<string, number>();

  /**
   * `attempt`: given (above 1) when re-reads may differ, so this attempt's segments get names of
   * their own (`<digest>a<attempt>`) and nothing it sends is taken for an earlier attempt's.
   */
  constructor(attempt?: number) {
    this.#suffix = attempt !== undefined && attempt > 1 ? `a${attempt}` : '';
    this.#segment = segmentOf(undefined) + this.#suffix;
  }

  /** The segment the next record belongs to. */
  get segment(): string {
    return this.#segment;
  }

  /**
   * The records pushed next follow `state`. Returns whether a new segment began: the same state
   * twice in a row is one position (the page after it added nothing the state can tell apart),
   * so the offsets go on; a state seen earlier in the run again gets a suffix, so no two segments
   * of one run share a name.
   */
  after(state: JsonValue | undefined): boolean {
    const digest = segmentOf(state);
    if (digest === this.#lastDigest) return false;
    this.#lastDigest = digest;
    const seen = this.#seen.get(digest) ?? 0;
    this.#seen.set(digest, seen + 1);
    this.#segment = (seen === 0 ? digest : `${digest}x${seen}`) + this.#suffix;
    this.#offset = 0;
    return true;
  }

  /** The position of the next record: `<segment>-<offset>` (offsets from 1, six digits at least). */
  next(): string {
    return `${this.#segment}-${String(++this.#offset).padStart(6, '0')}`;
  }
}

/**
 * Ten hex digits of the sha256 of the state's canonical JSON (keys sorted), so a state that
 * went through the store (which may reorder keys) names the same segment.
 */
function segmentOf(state: JsonValue | undefined): string {
  return createHash('sha256')
    .update(canonicalJson(state ?? null))
    .digest('hex')
    .slice(0, 10);
}
