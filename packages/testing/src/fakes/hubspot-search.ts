/**
 * The CRM search semantics of the HubSpot fake: request validation with HubSpot's limits,
 * filter evaluation (`filterGroups` are OR-ed, the filters of one group AND-ed), sorting and
 * offset paging with the 10,000-result cap.
 */
import type { HubSpotFakeObject } from './hubspot-data.js';

/**
 * HubSpot search never pages past this many results for one query.
 *
 * @example
 * ```ts
 * expect(changed.length).toBeGreaterThan(SEARCH_RESULT_CAP);
 * ```
 */
export const SEARCH_RESULT_CAP = 10_000;
/** Largest `limit` the search endpoint accepts. */
export const SEARCH_MAX_LIMIT = 200;

/** One filter of a search request, as HubSpot defines it. */
export interface SearchFilter {
  propertyName: string;
  operator: string;
  value?: unknown;
  highValue?: unknown;
  values?: unknown[];
}

/** A validated search request. */
export interface SearchRequest {
  filterGroups: { filters: SearchFilter[] }[];
  sorts: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' }[];
  properties: string[] | undefined;
  limit: number;
  offset: number;
}

/** A search request HubSpot would reject with HTTP 400. */
export class SearchValidationError extends Error {}

const OPERATORS = new Set([
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'BETWEEN',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN',
  'NOT_CONTAINS_TOKEN',
]);

/** Validates a raw search body with HubSpot's documented limits. */
export function parseSearchRequest(body: unknown): SearchRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SearchValidationError('Invalid input JSON: expected an object');
  }
  const raw = body as Record<string, unknown>;
  const groups = raw.filterGroups ?? [];
  if (!Array.isArray(groups)) throw new SearchValidationError('filterGroups must be an array');
  if (groups.length > 5)
    throw new SearchValidationError('Too many filter groups: the maximum is 5');
  let total = 0;
  const filterGroups = groups.map((group, g) => {
    const filters = (group as { filters?: unknown })?.filters;
    if (!Array.isArray(filters))
      throw new SearchValidationError(`filterGroups[${g}].filters must be an array`);
    if (filters.length > 6)
      throw new SearchValidationError(`filterGroups[${g}] has more than 6 filters`);
    total += filters.length;
    return {
      filters: filters.map((f, i) => {
        const filter = f as SearchFilter;
        if (typeof filter?.propertyName !== 'string' || !OPERATORS.has(filter.operator)) {
          throw new SearchValidationError(
            `filterGroups[${g}].filters[${i}]: propertyName and a known operator are required`,
          );
        }
        return filter;
      }),
    };
  });
  if (total > 18)
    throw new SearchValidationError('Too many filters: the maximum is 18 across all groups');

  const rawSorts = raw.sorts ?? [];
  if (!Array.isArray(rawSorts)) throw new SearchValidationError('sorts must be an array');
  // HubSpot applies a single sorting rule per search.
  if (rawSorts.length > 1) throw new SearchValidationError('Only one sort is supported per search');
  const sorts = rawSorts.map((s) => {
    if (typeof s === 'string') {
      return s.startsWith('-')
        ? { propertyName: s.slice(1), direction: 'DESCENDING' as const }
        : { propertyName: s, direction: 'ASCENDING' as const };
    }
    const sort = s as { propertyName?: unknown; direction?: unknown };
    if (typeof sort?.propertyName !== 'string')
      throw new SearchValidationError('sorts[0].propertyName is required');
    return {
      propertyName: sort.propertyName,
      direction: sort.direction === 'DESCENDING' ? ('DESCENDING' as const) : ('ASCENDING' as const),
    };
  });

  const limit = raw.limit === undefined ? 10 : Number(raw.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_MAX_LIMIT) {
    throw new SearchValidationError(`limit must be between 1 and ${SEARCH_MAX_LIMIT}`);
  }
  const offset =
    raw.after === undefined || raw.after === null || raw.after === '' ? 0 : Number(raw.after);
  if (!Number.isInteger(offset) || offset < 0)
    throw new SearchValidationError('after must be a non-negative integer');
  if (offset + limit > SEARCH_RESULT_CAP) {
    throw new SearchValidationError(
      `Search results are limited to ${SEARCH_RESULT_CAP} total results for any given query`,
    );
  }
  const properties = Array.isArray(raw.properties) ? raw.properties.map(String) : undefined;
  return { filterGroups, sorts, properties, limit, offset };
}

/** Orders two property values the way HubSpot does: numbers and dates numerically, text lexically. */
function comparable(value: unknown): number | string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const text = String(value);
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  return text.toLowerCase();
}

function compare(a: number | string | undefined, b: number | string | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function matches(object: HubSpotFakeObject, filter: SearchFilter): boolean {
  const raw =
    filter.propertyName === 'hs_object_id' ? object.id : object.properties[filter.propertyName];
  const has = raw !== null && raw !== undefined && raw !== '';
  const value = comparable(raw);
  const target = comparable(filter.value);
  switch (filter.operator) {
    case 'HAS_PROPERTY':
      return has;
    case 'NOT_HAS_PROPERTY':
      return !has;
    case 'EQ':
      return has && compare(value, target) === 0;
    case 'NEQ':
      return !has || compare(value, target) !== 0;
    case 'LT':
      return has && compare(value, target) < 0;
    case 'LTE':
      return has && compare(value, target) <= 0;
    case 'GT':
      return has && compare(value, target) > 0;
    case 'GTE':
      return has && compare(value, target) >= 0;
    case 'BETWEEN':
      return (
        has && compare(value, target) >= 0 && compare(value, comparable(filter.highValue)) <= 0
      );
    case 'IN':
      return has && (filter.values ?? []).some((v) => compare(value, comparable(v)) === 0);
    case 'NOT_IN':
      return !has || !(filter.values ?? []).some((v) => compare(value, comparable(v)) === 0);
    case 'CONTAINS_TOKEN':
      return (
        has &&
        String(raw)
          .toLowerCase()
          .includes(
            String(filter.value ?? '')
              .replace(/\*/g, '')
              .toLowerCase(),
          )
      );
    case 'NOT_CONTAINS_TOKEN':
      return (
        !has ||
        !String(raw)
          .toLowerCase()
          .includes(
            String(filter.value ?? '')
              .replace(/\*/g, '')
              .toLowerCase(),
          )
      );
    default:
      return false;
  }
}

/**
 * Runs a search over `objects` (already in id order): filters, sorts (ties by id, so results
 * are deterministic) and returns the total and the requested slice.
 */
export function runSearch(
  objects: readonly HubSpotFakeObject[],
  request: SearchRequest,
): { total: number; slice: HubSpotFakeObject[] } {
  const hits =
    request.filterGroups.length === 0
      ? [...objects]
      : objects.filter((o) =>
          request.filterGroups.some((g) => g.filters.every((f) => matches(o, f))),
        );
  const sort = request.sorts[0];
  if (sort) {
    const sign = sort.direction === 'DESCENDING' ? -1 : 1;
    const key = (o: HubSpotFakeObject) =>
      comparable(sort.propertyName === 'hs_object_id' ? o.id : o.properties[sort.propertyName]);
    const keyed = hits.map((o) => ({ o, k: key(o) }));
    keyed.sort((a, b) => sign * compare(a.k, b.k) || Number(a.o.id) - Number(b.o.id));
    return {
      total: keyed.length,
      slice: keyed.slice(request.offset, request.offset + request.limit).map((x) => x.o),
    };
  }
  return { total: hits.length, slice: hits.slice(request.offset, request.offset + request.limit) };
}
