/**
 * Config of the `http-json` connector: where the API is, how it pages, and where the records
 * and the next cursor sit in each response.
 */
import { ssrfOption } from '@sluice/core/net';
import * as v from 'valibot';

const dotPath = v.pipe(
  v.string(),
  v.regex(
    /^(?:[A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*)?$/,
    'must be a dot path like "data.items" (or "" for the body itself)',
  ),
);
const param = v.pipe(v.string(), v.nonEmpty('must name a query parameter'));
const pageSize = v.optional(
  v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)),
  100,
);

/** `?page=1&per_page=100`, `?page=2&...` until a short or empty page. */
const pageStyle = v.object({
  style: v.literal('page'),
  pageParam: v.optional(param, 'page'),
  sizeParam: v.optional(param),
  pageSize,
  firstPage: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 1),
});
/** `?offset=0&limit=100`, `?offset=100&...` until a short or empty page. */
const offsetStyle = v.object({
  style: v.literal('offset'),
  offsetParam: v.optional(param, 'offset'),
  limitParam: v.optional(param, 'limit'),
  pageSize,
});
/** `?cursor=<value of nextCursorPath in the previous response>` until the cursor is empty. */
const cursorStyle = v.object({
  style: v.literal('cursor'),
  cursorParam: v.optional(param, 'cursor'),
  nextCursorPath: dotPath,
  sizeParam: v.optional(param),
  pageSize,
});
/** One request, one page. */
const noPaging = v.object({ style: v.literal('none') });

/**
 * Config schema of the `http-json` connector.
 *
 * @example
 * ```ts
 * import * as v from 'valibot';
 * v.parse(httpJsonConfigSchema, {
 *   url: 'https://api.example.com/v1/orders',
 *   recordsPath: 'data',
 *   pagination: { style: 'cursor', nextCursorPath: 'meta.next_cursor' },
 *   headers: { authorization: 'Bearer ...' },
 * });
 * ```
 */
export const httpJsonConfigSchema = v.object({
  url: v.pipe(
    v.string(),
    v.url('must be an absolute http(s) URL'),
    v.check((u) => /^https?:\/\//i.test(u), 'must use http or https'),
  ),
  /** Headers sent with every request (put secrets here through secret references). */
  headers: v.optional(v.record(v.string(), v.string()), {}),
  /** Fixed query parameters added to every request. */
  query: v.optional(v.record(v.string(), v.string()), {}),
  /** Dot path of the records array in each response; "" when the body is the array. */
  recordsPath: v.optional(dotPath, ''),
  pagination: v.optional(v.variant('style', [pageStyle, offsetStyle, cursorStyle, noPaging]), {
    style: 'none',
  }),
  /** Per-request timeout. */
  timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100)), 30_000),
  /** Stops after this many pages (a safety net against APIs that never stop). */
  maxPages: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 100_000),
  /** Sluice's outgoing-connection guard: internal addresses in `url` are refused unless listed here. */
  ssrf: ssrfOption,
});

/**
 * The validated config of the `http-json` connector.
 *
 * @example
 * ```ts
 * const config: HttpJsonConfig = v.parse(httpJsonConfigSchema, { url: 'https://api.example.com/items' });
 * ```
 */
export type HttpJsonConfig = v.InferOutput<typeof httpJsonConfigSchema>;
