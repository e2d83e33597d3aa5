/**
 * Checks what the HubSpot SDK returned before anything reaches a destination. The SDK
 * deserialises without validating (a missing `id` stays `undefined`, a numeric id stays a
 * number), so every field the connector relies on is checked here, and a violation names the
 * field and the page it came from.
 */
import { FatalError } from '@sluice/core';

/** One CRM object as the connector uses it. */
export interface CrmObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  /** Epoch ms of the object's modification-date property: the incremental cursor's key. */
  modifiedAt: number;
}

/** A page of objects and where the next one starts. */
export interface CrmPage {
  objects: CrmObject[];
  /** The list `after` token of the next page; `undefined` on the last page. */
  nextAfter: string | undefined;
  /** Search only: how many objects match the query. */
  total?: number;
}

function malformed(page: string, field: string, problem: string, value: unknown): FatalError {
  let shown: string;
  try {
    shown = JSON.stringify(value)?.slice(0, 80) ?? String(value);
  } catch {
    shown = String(value);
  }
  return new FatalError(
    `HubSpot returned a malformed response for ${page}: ${field} ${problem} (got ${shown})`,
    {
      details: { page, field },
    },
  );
}

function toIso(value: unknown): string | undefined {
  const date =
    value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}

/** Parses a HubSpot date property (ISO 8601 or epoch milliseconds as text) to epoch ms. */
export function parseHubSpotTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Validates one page of SDK results.
 *
 * @param page - where the page came from, e.g. `list contacts (after=1200)`; used in messages.
 * @param modifiedProperty - the property whose value is the object's modification time.
 */
export function parsePage(response: unknown, page: string, modifiedProperty: string): CrmPage {
  if (response === null || typeof response !== 'object')
    throw malformed(page, 'the body', 'is not an object', response);
  const body = response as {
    results?: unknown;
    paging?: { next?: { after?: unknown } };
    total?: unknown;
  };
  if (!Array.isArray(body.results))
    throw malformed(page, 'results', 'is missing or not an array', body.results);
  const objects = body.results.map((raw: unknown, i): CrmObject => {
    const at = `results[${i}]`;
    if (raw === null || typeof raw !== 'object') throw malformed(page, at, 'is not an object', raw);
    const o = raw as {
      id?: unknown;
      properties?: unknown;
      createdAt?: unknown;
      updatedAt?: unknown;
      archived?: unknown;
    };
    if (typeof o.id !== 'string' || !/^\d+$/.test(o.id))
      throw malformed(page, `${at}.id`, 'must be a numeric id string', o.id);
    if (o.properties === null || typeof o.properties !== 'object' || Array.isArray(o.properties)) {
      throw malformed(page, `${at}.properties`, 'is missing or not an object', o.properties);
    }
    const properties: Record<string, string | null> = {};
    for (const [name, value] of Object.entries(o.properties as Record<string, unknown>)) {
      if (value !== null && value !== undefined && typeof value !== 'string') {
        throw malformed(page, `${at}.properties.${name}`, 'must be a string or null', value);
      }
      properties[name] = value ?? null;
    }
    const createdAt = toIso(o.createdAt);
    if (createdAt === undefined)
      throw malformed(page, `${at}.createdAt`, 'is missing or not a date', o.createdAt);
    const updatedAt = toIso(o.updatedAt);
    if (updatedAt === undefined)
      throw malformed(page, `${at}.updatedAt`, 'is missing or not a date', o.updatedAt);
    const modifiedRaw = properties[modifiedProperty];
    const modifiedAt =
      modifiedRaw === undefined || modifiedRaw === null
        ? Date.parse(updatedAt)
        : parseHubSpotTime(modifiedRaw);
    if (modifiedAt === undefined) {
      throw malformed(page, `${at}.properties.${modifiedProperty}`, 'is not a date', modifiedRaw);
    }
    if (o.archived !== undefined && typeof o.archived !== 'boolean') {
      throw malformed(page, `${at}.archived`, 'must be a boolean', o.archived);
    }
    return {
      id: o.id,
      properties,
      createdAt,
      updatedAt,
      archived: o.archived === true,
      modifiedAt,
    };
  });
  const after = body.paging?.next?.after;
  if (after !== undefined && (typeof after !== 'string' || after === '')) {
    throw malformed(page, 'paging.next.after', 'must be a non-empty string', after);
  }
  if (
    body.total !== undefined &&
    (typeof body.total !== 'number' || !Number.isInteger(body.total) || body.total < 0)
  ) {
    throw malformed(page, 'total', 'must be a non-negative integer', body.total);
  }
  return {
    objects,
    nextAfter: after,
    ...(typeof body.total === 'number' ? { total: body.total } : {}),
  };
}

/** Validates a v4 batch association read: object id → associated ids. */
export function parseAssociations(response: unknown, page: string): Map<string, string[]> {
  if (response === null || typeof response !== 'object')
    throw malformed(page, 'the body', 'is not an object', response);
  const results = (response as { results?: unknown }).results;
  if (!Array.isArray(results))
    throw malformed(page, 'results', 'is missing or not an array', results);
  const out = new Map<string, string[]>();
  results.forEach((raw: unknown, i) => {
    // The SDK renames the wire field `from` to `_from` (a reserved word in its generator).
    const r = raw as { from?: { id?: unknown }; _from?: { id?: unknown }; to?: unknown } | null;
    const from = r?._from?.id ?? r?.from?.id;
    if (typeof from !== 'string' && typeof from !== 'number')
      throw malformed(page, `results[${i}].from.id`, 'is missing', from);
    if (!Array.isArray(r?.to))
      throw malformed(page, `results[${i}].to`, 'is missing or not an array', r?.to);
    const ids = (r.to as { toObjectId?: unknown }[]).map((t, j) => {
      if (typeof t?.toObjectId !== 'string' && typeof t?.toObjectId !== 'number') {
        throw malformed(page, `results[${i}].to[${j}].toObjectId`, 'is missing', t?.toObjectId);
      }
      return String(t.toObjectId);
    });
    out.set(String(from), [...(out.get(String(from)) ?? []), ...ids]);
  });
  return out;
}
