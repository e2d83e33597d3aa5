/**
 * The connector's checkpoint. Two phases:
 *
 * - `full`: listing every object in id order; `after` is the list cursor of the next page and
 *   `startedAt` when the full read began (the incremental phase starts from there).
 * - `incremental`: searching by modification date. Everything modified before `modifiedAt`
 *   has been delivered, and so has every object modified exactly at `modifiedAt` whose id is
 *   `<= lastId` (`lastId: null`: none of that millisecond yet). The lower bound is inclusive,
 *   so objects updated in the same millisecond as the checkpoint are never skipped.
 */
import { FatalError, type JsonValue } from '@sluice/core';

/**
 * The checkpoint of a full (list) read.
 *
 * @example
 * ```ts
 * const state: FullState = { v: 1, phase: 'full', after: '1200', startedAt: Date.now() };
 * ```
 */
export interface FullState {
  v: 1;
  phase: 'full';
  after: string | null;
  startedAt: number;
}

/**
 * The checkpoint of an incremental (search) read.
 *
 * @example
 * ```ts
 * const state: IncrementalState = { v: 1, phase: 'incremental', modifiedAt: 1764057600000, lastId: null };
 * ```
 */
export interface IncrementalState {
  v: 1;
  phase: 'incremental';
  modifiedAt: number;
  lastId: string | null;
}

/**
 * Any checkpoint of the HubSpot connector.
 *
 * @example
 * ```ts
 * const state: HubSpotState = { v: 1, phase: 'incremental', modifiedAt: 1764057600000, lastId: '51' };
 * ```
 */
export type HubSpotState = FullState | IncrementalState;

/** Serialises a state to a JSON value for the engine. */
export function toJson(state: HubSpotState): JsonValue {
  return { ...state };
}

const bad = (field: string, problem: string) =>
  new FatalError(
    `The saved HubSpot checkpoint is invalid: state.${field} ${problem}. Reset the pipeline's state to start over with a full read.`,
    { details: { field: `state.${field}` } },
  );

/** Validates a checkpoint handed back by the engine; `undefined` means "no checkpoint". */
export function parseState(raw: JsonValue | undefined): HubSpotState | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw bad('', 'must be an object');
  if (raw.v !== 1) throw bad('v', 'must be 1');
  if (raw.phase === 'full') {
    if (raw.after !== null && (typeof raw.after !== 'string' || raw.after === ''))
      throw bad('after', 'must be a string or null');
    if (typeof raw.startedAt !== 'number' || !Number.isFinite(raw.startedAt))
      throw bad('startedAt', 'must be epoch milliseconds');
    return { v: 1, phase: 'full', after: raw.after, startedAt: raw.startedAt };
  }
  if (raw.phase === 'incremental') {
    if (typeof raw.modifiedAt !== 'number' || !Number.isInteger(raw.modifiedAt))
      throw bad('modifiedAt', 'must be epoch milliseconds');
    if (raw.lastId !== null && (typeof raw.lastId !== 'string' || !/^\d+$/.test(raw.lastId))) {
      throw bad('lastId', 'must be a numeric id string or null');
    }
    return { v: 1, phase: 'incremental', modifiedAt: raw.modifiedAt, lastId: raw.lastId };
  }
  throw bad('phase', 'must be "full" or "incremental"');
}
