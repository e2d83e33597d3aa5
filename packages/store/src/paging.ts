/**
 * Keyset paging shared by the list calls: items are ordered by an identity column (`seq`)
 * descending and the cursor is the last seen seq, encoded so clients treat it as opaque.
 */
import { ConfigError, type PageOptions } from '@sluice/core';

/** Default and maximum page sizes. */
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;

/** Validated paging input: the limit and the seq to continue below (or undefined). */
export interface Paging {
  limit: number;
  beforeSeq: bigint | undefined;
}

/** Checks `limit` and decodes `cursor`, naming the field on bad input. */
export function parsePaging(options: PageOptions | undefined): Paging {
  const limit = options?.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ConfigError([
      {
        path: 'limit',
        message: `expected an integer from 1 to ${MAX_LIMIT}, got ${String(limit)}`,
      },
    ]);
  }
  const cursor = options?.cursor;
  if (cursor === undefined || cursor === null || cursor === '')
    return { limit, beforeSeq: undefined };
  const decoded =
    typeof cursor === 'string' ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^s:(\d{1,19})$/.exec(decoded);
  if (!match)
    throw new ConfigError([
      { path: 'cursor', message: 'not a cursor returned by a previous page' },
    ]);
  return { limit, beforeSeq: BigInt(match[1] as string) };
}

/** The cursor of the page after an item with this seq. */
export function encodeCursor(seq: string | number | bigint): string {
  return Buffer.from(`s:${String(seq)}`, 'utf8').toString('base64url');
}

/** Cuts a `limit + 1` query result into a page. */
export function toPage<Row extends { seq: string | number | bigint }, Item>(
  rows: Row[],
  limit: number,
  map: (row: Row) => Item,
): { items: Item[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), nextCursor: more && last ? encodeCursor(last.seq) : null };
}
