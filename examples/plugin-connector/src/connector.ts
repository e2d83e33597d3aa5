/**
 * The `http-json` connector: reads records from any paginated JSON API. It uses only the
 * public API of `@sluice/core` — exactly what a third-party plugin gets from npm.
 */
import {
  FatalError,
  defineConnector,
  isRecord,
  type CheckResult,
  type ConnectorInstance,
  type DiscoveredStream,
  type JsonValue,
  type Page,
  type PluginContext,
  type ReadRequest,
  type SluiceRecord,
} from '@sluice/core';
import { createAddressPolicy, createGuardedConnector } from '@sluice/core/net';
import { Agent, buildConnector } from 'undici';
import { httpJsonConfigSchema, type HttpJsonConfig } from './config.js';
import { atPath, fetchJson } from './fetch-page.js';

/**
 * Where the next request starts. `page`/`offset`/`cursor` hold the value of the paging
 * parameter for the next request; `{ complete: true }` marks a finished read, after which the
 * next run starts again from the first page.
 */
type Position =
  { page: number } | { offset: number } | { cursor: string } | { start: true } | { complete: true };

function parseState(config: HttpJsonConfig, raw: JsonValue | undefined): Position {
  if (raw === undefined || raw === null) return { start: true };
  const problem = (field: string) =>
    new FatalError(
      `http-json: the saved checkpoint is invalid (state.${field}); reset the pipeline's state`,
      {
        details: { field: `state.${field}` },
      },
    );
  if (!isRecord(raw)) throw problem('');
  if (raw.complete === true) return { start: true };
  const style = config.pagination.style;
  if (style === 'page') {
    if (typeof raw.page !== 'number' || !Number.isInteger(raw.page)) throw problem('page');
    return { page: raw.page };
  }
  if (style === 'offset') {
    if (typeof raw.offset !== 'number' || !Number.isInteger(raw.offset) || raw.offset < 0)
      throw problem('offset');
    return { offset: raw.offset };
  }
  if (style === 'cursor') {
    if (typeof raw.cursor !== 'string' || raw.cursor === '') throw problem('cursor');
    return { cursor: raw.cursor };
  }
  return { start: true };
}

function requestUrl(config: HttpJsonConfig, position: Position): URL {
  const url = new URL(config.url);
  for (const [key, value] of Object.entries(config.query)) url.searchParams.set(key, value);
  const p = config.pagination;
  if (p.style === 'page') {
    url.searchParams.set(p.pageParam, String('page' in position ? position.page : p.firstPage));
    if (p.sizeParam) url.searchParams.set(p.sizeParam, String(p.pageSize));
  } else if (p.style === 'offset') {
    url.searchParams.set(p.offsetParam, String('offset' in position ? position.offset : 0));
    url.searchParams.set(p.limitParam, String(p.pageSize));
  } else if (p.style === 'cursor') {
    if ('cursor' in position) url.searchParams.set(p.cursorParam, position.cursor);
    if (p.sizeParam) url.searchParams.set(p.sizeParam, String(p.pageSize));
  }
  return url;
}

function recordsOf(config: HttpJsonConfig, body: unknown, page: string): SluiceRecord[] {
  const found = atPath(body, config.recordsPath);
  const where =
    config.recordsPath === '' ? 'the response body' : `recordsPath "${config.recordsPath}"`;
  if (!Array.isArray(found)) {
    throw new FatalError(
      `${page}: ${where} is ${found === undefined ? 'missing' : `not an array (${typeof found})`}`,
      {
        details: { page, field: config.recordsPath || '(body)' },
      },
    );
  }
  return found.map((item: unknown, i) => {
    if (!isRecord(item)) {
      throw new FatalError(`${page}: ${where}[${i}] is not a JSON object`, {
        details: { page, field: `${config.recordsPath || '(body)'}[${i}]` },
      });
    }
    return item;
  });
}

/** The position after a page, or `undefined` when that was the last page. */
function nextPosition(
  config: HttpJsonConfig,
  position: Position,
  body: unknown,
  count: number,
  page: string,
): Position | undefined {
  const p = config.pagination;
  if (p.style === 'none') return undefined;
  if (p.style === 'page') {
    if (count < p.pageSize) return undefined;
    return { page: ('page' in position ? position.page : p.firstPage) + 1 };
  }
  if (p.style === 'offset') {
    if (count < p.pageSize) return undefined;
    return { offset: ('offset' in position ? position.offset : 0) + count };
  }
  const next = atPath(body, p.nextCursorPath);
  if (next === undefined || next === null || next === '') return undefined;
  if (typeof next !== 'string' && typeof next !== 'number') {
    throw new FatalError(
      `${page}: nextCursorPath "${p.nextCursorPath}" must be a string or number, got ${typeof next}`,
      {
        details: { page, field: p.nextCursorPath },
      },
    );
  }
  if ('cursor' in position && String(next) === position.cursor) {
    throw new FatalError(
      `${page}: nextCursorPath "${p.nextCursorPath}" repeats the current cursor; stopping to avoid a loop`,
      {
        details: { page, field: p.nextCursorPath },
      },
    );
  }
  return { cursor: String(next) };
}

/**
 * Creates a live `http-json` connector from a validated config.
 *
 * @example
 * ```ts
 * const source = createHttpJsonConnector(config, createPluginContext());
 * for await (const page of source.read({}, signal)) console.log(page.records.length);
 * ```
 */
export function createHttpJsonConnector(
  config: HttpJsonConfig,
  ctx: PluginContext,
): ConnectorInstance {
  const logger = ctx.logger.child({ connector: 'http-json' });
  // Every request goes through Sluice's outgoing-connection guard (@sluice/core/net): DNS answers
  // and literal hosts are checked against the ssrf policy on each connection and redirect.
  const dispatcher = new Agent({
    connect: createGuardedConnector(createAddressPolicy(config.ssrf), buildConnector, {
      connectTimeoutMs: config.timeoutMs,
    }),
  });

  async function fetchPage(position: Position, index: number, signal: AbortSignal) {
    const url = requestUrl(config, position);
    const page = `page ${index + 1} (${url.pathname}${url.search})`;
    const body = await fetchJson(url, {
      headers: config.headers,
      timeoutMs: config.timeoutMs,
      signal,
      page,
      dispatcher,
    });
    return { body, page, records: recordsOf(config, body, page) };
  }

  async function* read(request: ReadRequest, runSignal: AbortSignal): AsyncGenerator<Page> {
    const signal = AbortSignal.any([runSignal, ctx.signal]);
    let position = parseState(config, request.state);
    for (let index = 0; index < config.maxPages; index++) {
      signal.throwIfAborted();
      const { body, page, records } = await fetchPage(position, index, signal);
      const next = nextPosition(config, position, body, records.length, page);
      logger.debug({ page, records: records.length }, 'page read');
      yield { records, state: next === undefined ? { complete: true } : (next as JsonValue) };
      signal.throwIfAborted();
      if (next === undefined) return;
      position = next;
    }
    throw new FatalError(
      `http-json: stopped after maxPages (${config.maxPages}) pages; raise maxPages if the API really is that long`,
    );
  }

  async function check(): Promise<CheckResult> {
    try {
      const { records } = await fetchPage(
        { start: true },
        0,
        AbortSignal.any([ctx.signal, AbortSignal.timeout(config.timeoutMs)]),
      );
      return {
        ok: true,
        message: `${config.url} answered with ${records.length} record(s) on the first page`,
      };
    } catch (error) {
      return { ok: false, message: `${config.url}: ${(error as Error).message}` };
    }
  }

  async function discover(): Promise<DiscoveredStream[]> {
    const { records } = await fetchPage({ start: true }, 0, ctx.signal);
    const fields = new Map<string, Set<string>>();
    for (const record of records.slice(0, 100)) {
      for (const [name, value] of Object.entries(record)) {
        const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
        (fields.get(name) ?? fields.set(name, new Set()).get(name)!).add(type);
      }
    }
    return [
      {
        name: new URL(config.url).pathname,
        fields: [...fields].map(([name, types]) => ({
          name,
          type: [...types].filter((t) => t !== 'null').join('|') || 'null',
          nullable: types.has('null'),
        })),
      },
    ];
  }

  return { read, check, discover, close: () => dispatcher.close() };
}

/**
 * The `http-json` connector kind.
 *
 * @example
 * ```ts
 * const registry = new PluginRegistry().register(definePlugin({ name: 'x', sluice: '^1', connectors: [httpJsonConnector] }));
 * ```
 */
export const httpJsonConnector = defineConnector({
  kind: 'http-json',
  version: '0.1.0',
  // A generic paged HTTP API: nothing says a page holds the same items when read again.
  rereads: 'may-differ',
  description: 'Reads records from a paginated HTTP JSON API (page, offset or cursor paging).',
  configSchema: httpJsonConfigSchema,
  create: (config, ctx) => createHttpJsonConnector(config, ctx),
});
