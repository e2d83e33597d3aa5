/**
 * The two read strategies.
 *
 * Full read: the list endpoint in id order, checkpointing the `after` cursor after each page.
 *
 * Incremental read: search on the modification-date property with keyset paging. Every
 * query starts at offset 0 (`modifiedAt >= cursor`, sorted by modification date), so no
 * query ever pages toward HubSpot's 10,000-result cap, however many objects changed, and a
 * record modified during the read cannot shift an offset and make the connector skip another.
 * Because HubSpot sorts by one property only, ties inside a millisecond come back in no
 * guaranteed order; the connector therefore never checkpoints inside a millisecond it has not
 * finished: a full page drops its trailing millisecond (the next query starts there), and a
 * millisecond holding more objects than a page is read on its own in id order
 * (`modifiedAt = T and hs_object_id > lastId`), which is what `lastId` in the checkpoint is for.
 */
import { FatalError } from '@sluice/core';
import type { HubSpotApi, SearchFilter } from './hubspot-api.js';
import type { CrmObject } from './response.js';
import type { FullState, HubSpotState, IncrementalState } from './state.js';

/** A batch of objects and the checkpoint that is valid once they are delivered. */
export interface ReadStep {
  objects: CrmObject[];
  state: HubSpotState;
}

/** How far a full read's hand-over overlaps into the past, to absorb clock skew with HubSpot. */
export const FULL_READ_OVERLAP_MS = 5 * 60_000;

/** Reads every object through the list endpoint, from `state.after`. */
export async function* readFull(
  api: HubSpotApi,
  properties: readonly string[],
  state: FullState,
  signal: AbortSignal,
): AsyncGenerator<ReadStep> {
  let after = state.after ?? undefined;
  for (;;) {
    const page = await api.list(after, properties, signal);
    if (page.nextAfter === undefined) {
      // Last page: hand over to incremental reads from when this full read began.
      yield {
        objects: page.objects,
        state: {
          v: 1,
          phase: 'incremental',
          modifiedAt: state.startedAt - FULL_READ_OVERLAP_MS,
          lastId: null,
        },
      };
      return;
    }
    if (page.nextAfter === after) {
      throw new FatalError(
        `HubSpot returned a malformed response for the list page after=${after}: paging.next.after repeats the current cursor`,
        { details: { field: 'paging.next.after' } },
      );
    }
    after = page.nextAfter;
    yield { objects: page.objects, state: { ...state, after } };
  }
}

const byModifiedThenId = (a: CrmObject, b: CrmObject) =>
  a.modifiedAt - b.modifiedAt || Number(a.id) - Number(b.id);

/**
 * Reads every object modified since the checkpoint and before `until` (the run's start, so a
 * run has a fixed end and objects changed while it runs are left to the next run).
 */
export async function* readIncremental(
  api: HubSpotApi,
  options: {
    modifiedProperty: string;
    properties: readonly string[];
    pageSize: number;
    until: number;
  },
  state: IncrementalState,
  signal: AbortSignal,
): AsyncGenerator<ReadStep> {
  const { modifiedProperty, properties, pageSize, until } = options;
  let lower = state.modifiedAt;
  let lastId = state.lastId;
  const at = (operator: SearchFilter['operator'], ms: number): SearchFilter => ({
    propertyName: modifiedProperty,
    operator,
    value: String(ms),
  });

  for (;;) {
    if (lastId !== null) {
      // Finish millisecond `lower` in id order.
      const page = await api.search(
        {
          filters: [
            at('GTE', lower),
            at('LTE', lower),
            { propertyName: 'hs_object_id', operator: 'GT', value: lastId },
          ],
          sort: { propertyName: 'hs_object_id', direction: 'ASCENDING' },
          limit: pageSize,
        },
        properties,
        signal,
      );
      const objects = [...page.objects].sort((a, b) => Number(a.id) - Number(b.id));
      const done = page.objects.length < pageSize;
      if (objects.length > 0) lastId = objects.at(-1)!.id;
      const next: IncrementalState = done
        ? { v: 1, phase: 'incremental', modifiedAt: lower + 1, lastId: null }
        : { v: 1, phase: 'incremental', modifiedAt: lower, lastId };
      if (objects.length > 0) yield { objects, state: next };
      if (done) {
        lower += 1;
        lastId = null;
      }
      continue;
    }
    if (lower >= until) return;
    const page = await api.search(
      {
        filters: [at('GTE', lower), at('LT', until)],
        sort: { propertyName: modifiedProperty, direction: 'ASCENDING' },
        limit: pageSize,
      },
      properties,
      signal,
    );
    const objects = [...page.objects].sort(byModifiedThenId);
    if (objects.length === 0) return;
    const last = objects.at(-1)!;
    if (objects[0]!.modifiedAt < lower || last.modifiedAt >= until) {
      // The server ignored the filter; trusting it could loop forever or move the cursor backwards.
      throw new FatalError(
        `HubSpot returned a malformed response for the search from ${lower}: properties.${modifiedProperty} of object ${
          objects[0]!.modifiedAt < lower ? objects[0]!.id : last.id
        } lies outside the requested range [${lower}, ${until})`,
        { details: { field: `results[].properties.${modifiedProperty}` } },
      );
    }
    if (objects.length < pageSize) {
      yield {
        objects,
        state: { v: 1, phase: 'incremental', modifiedAt: last.modifiedAt + 1, lastId: null },
      };
      return;
    }
    if (objects[0]!.modifiedAt === last.modifiedAt) {
      // A whole page in one millisecond: page through it by id.
      lower = last.modifiedAt;
      lastId = '0';
      continue;
    }
    // The last millisecond of a full page may continue on the next page: leave it for the next query.
    const complete = objects.filter((o) => o.modifiedAt < last.modifiedAt);
    lower = last.modifiedAt;
    yield {
      objects: complete,
      state: { v: 1, phase: 'incremental', modifiedAt: lower, lastId: null },
    };
  }
}
