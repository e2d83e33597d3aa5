/**
 * A wire-compatible fake of the HubSpot CRM v3 HTTP API for tests and benchmarks, driven
 * through the official `@hubspot/api-client`:
 *
 * ```ts
 * new Client({ accessToken: fake.token, basePath: fake.url, numberOfApiCallRetries: 0 })
 * ```
 *
 * It serves object lists (`GET /crm/v3/objects/{type}`), search (`POST .../search` with
 * filterGroups, one sort, `after` offsets and HTTP 400 past 10,000 results), single objects,
 * the properties API, v4 batch association reads, and `X-HubSpot-RateLimit-*` headers. Tests
 * mutate the data between runs, inject 429/401/5xx/slow/malformed responses, optionally
 * enforce a real rolling rate limit, and read back every request with its timestamp.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import {
  OBJECT_SCOPES,
  OBJECT_TYPE_IDS,
  defaultProperties,
  generateObjects,
  modifiedProperty,
  propertyDefinitions,
  type HubSpotFakeObject,
  type HubSpotSeedSizes,
} from './hubspot-data.js';
import { SearchValidationError, parseSearchRequest, runSearch } from './hubspot-search.js';

export {
  HUBSPOT_FAKE_CUSTOM_TYPE,
  modifiedProperty,
  type HubSpotFakeObject,
} from './hubspot-data.js';
export { SEARCH_RESULT_CAP } from './hubspot-search.js';

/**
 * Options of {@link startHubSpotFake}.
 *
 * @example
 * ```ts
 * const options: HubSpotFakeOptions = { seed: 7, sizes: { contacts: 2_000 }, rateLimit: { max: 100 } };
 * ```
 */
export interface HubSpotFakeOptions {
  /** Seed of the generated data set (default 42). Same seed, same data. */
  seed?: number;
  /** Object counts (default 25,000 contacts, 200 companies, 300 deals, 150 tickets, 120 custom). */
  sizes?: Partial<HubSpotSeedSizes>;
  /** Valid access tokens and their scopes (default: `fake.token` with every read scope). */
  tokens?: Record<string, string[]>;
  /**
   * Enforces a rolling request limit per token like HubSpot's `TEN_SECONDLY_ROLLING` policy:
   * the request that would exceed `max` within `intervalMs` gets a 429.
   */
  rateLimit?: { max: number; intervalMs?: number };
  /** Requests per token per fake "day"; past it every request gets a 429 with policy `DAILY`. */
  dailyLimit?: number;
}

/**
 * A failure or delay to apply to upcoming matching requests.
 *
 * @example
 * ```ts
 * const restore = fake.inject({ status: 429, policyName: 'TEN_SECONDLY_ROLLING', times: 2 });
 * ```
 */
export interface HubSpotFault {
  /** HTTP status to answer with (omit with `delayMs` alone for a slow but successful response). */
  status?: 401 | 403 | 429 | 500 | 502 | 503 | 504 | 200;
  /** For 429: the rate-limit policy in the body (default `TEN_SECONDLY_ROLLING`). */
  policyName?: 'TEN_SECONDLY_ROLLING' | 'DAILY' | 'SECONDLY';
  /** Raw response body to send instead of the standard one (malformed-response tests). */
  body?: string;
  /** Waits this long before answering. */
  delayMs?: number;
  /** Number of matching requests to affect (default 1; `Infinity` until cleared). */
  times?: number;
  /** Only requests for which this returns true are affected. */
  match?: (request: HubSpotFakeRequest) => boolean;
}

/**
 * One request the fake received.
 *
 * @example
 * ```ts
 * const searches = fake.requests.filter((r: HubSpotFakeRequest) => r.path.endsWith('/search'));
 * ```
 */
export interface HubSpotFakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  token: string | undefined;
  /** Arrival time (epoch ms). */
  at: number;
  status: number;
}

/**
 * A running fake.
 *
 * @example
 * ```ts
 * const fake: HubSpotFake = await startHubSpotFake();
 * const ids = fake.touch('contacts', 10, { sameMillisecond: 3 });
 * ```
 */
export interface HubSpotFake {
  /** Base URL to pass as `basePath`, e.g. `http://127.0.0.1:43121`. */
  readonly url: string;
  /** A token with every read scope. */
  readonly token: string;
  /** Every request received, in arrival order. */
  readonly requests: HubSpotFakeRequest[];
  /** The stored objects of a type, in id order (mutable: tests may edit them directly). */
  objects(objectType: string): HubSpotFakeObject[];
  /**
   * Updates `count` objects (chosen deterministically, spread across the id range) with a new
   * modification time of "now" (strictly after every earlier mutation). `sameMillisecond`
   * puts that many of them (default 0) in one shared millisecond. Returns the changed ids.
   */
  touch(
    objectType: string,
    count: number,
    options?: { sameMillisecond?: number; ids?: string[] },
  ): string[];
  /** Sets the modification time of the given objects to exactly `modifiedAt` (epoch ms). */
  setModified(objectType: string, ids: readonly string[], modifiedAt: number): void;
  /** Adds `count` new objects modified now; returns their ids. */
  create(objectType: string, count: number): string[];
  /** Queues a fault; returns a function that removes it. */
  inject(fault: HubSpotFault): () => void;
  /** Removes every queued fault. */
  clearFaults(): void;
  /** The largest number of requests (of `token`, default any) in any window of `windowMs`. */
  maxRequestsInWindow(windowMs?: number, token?: string): number;
  /** Forgets the request log (and the rate-limit history). */
  resetRequests(): void;
  /** Adds or replaces a token and its scopes. */
  setToken(token: string, scopes: string[]): void;
  close(): Promise<void>;
}

const ALL_SCOPES = [
  ...Object.values(OBJECT_SCOPES),
  'crm.schemas.contacts.read',
  'crm.schemas.companies.read',
  'crm.schemas.deals.read',
  'crm.schemas.custom.read',
];

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly payload: Record<string, unknown>,
  ) {
    super(String(payload.message));
  }
}

const errorBody = (message: string, category: string, extra: Record<string, unknown> = {}) => ({
  status: 'error',
  message,
  correlationId: randomUUID(),
  category,
  ...extra,
});

/** The 429 bodies HubSpot sends, by policy. */
function rateLimitBody(policyName: string): Record<string, unknown> {
  const message =
    policyName === 'DAILY'
      ? 'You have reached your daily limit.'
      : policyName === 'SECONDLY'
        ? 'You have reached your secondly limit.'
        : 'You have reached your ten_secondly_rolling limit.';
  return {
    ...errorBody(message, 'RATE_LIMITS'),
    errorType: 'RATE_LIMIT',
    policyName,
    groupName: 'fake-app',
  };
}

function toWire(object: HubSpotFakeObject, properties: string[] | undefined, objectType: string) {
  const names = properties && properties.length > 0 ? properties : defaultProperties(objectType);
  const wanted = new Set([...names, 'hs_object_id', modifiedProperty(objectType)]);
  const selected: Record<string, string | null> = {};
  for (const name of wanted) {
    if (name in object.properties) selected[name] = object.properties[name] ?? null;
  }
  return {
    id: object.id,
    properties: selected,
    createdAt: new Date(object.createdAt).toISOString(),
    updatedAt: new Date(object.updatedAt).toISOString(),
    archived: object.archived,
  };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, errorBody('Invalid input JSON on line 1', 'VALIDATION_ERROR'));
  }
}

/**
 * Starts the fake on an ephemeral loopback port.
 *
 * @example
 * ```ts
 * import { Client } from '@hubspot/api-client';
 * const fake = await startHubSpotFake({ sizes: { contacts: 1000 } });
 * const client = new Client({ accessToken: fake.token, basePath: fake.url, numberOfApiCallRetries: 0 });
 * const page = await client.crm.objects.basicApi.getPage('contacts', 100);
 * fake.inject({ status: 429, policyName: 'TEN_SECONDLY_ROLLING', times: 2 });
 * const changed = fake.touch('contacts', 10, { sameMillisecond: 3 });
 * await fake.close();
 * ```
 */
export async function startHubSpotFake(options: HubSpotFakeOptions = {}): Promise<HubSpotFake> {
  const sizes: HubSpotSeedSizes = {
    contacts: 25_000,
    companies: 200,
    deals: 300,
    tickets: 150,
    custom: 120,
    ...options.sizes,
  };
  const store = generateObjects(options.seed ?? 42, sizes);
  const byId = new Map<string, Map<string, HubSpotFakeObject>>();
  const index = (type: string) => {
    let m = byId.get(type);
    if (!m) {
      m = new Map((store.get(type) ?? []).map((o) => [o.id, o]));
      byId.set(type, m);
    }
    return m;
  };
  const token = `pat-na1-${randomUUID()}`;
  const tokens = new Map<string, string[]>(
    Object.entries(options.tokens ?? { [token]: ALL_SCOPES }),
  );
  if (!options.tokens) tokens.set(token, ALL_SCOPES);
  const requests: HubSpotFakeRequest[] = [];
  let faults: (HubSpotFault & { remaining: number })[] = [];
  let lastMutation = 0;
  const rateInterval = options.rateLimit?.intervalMs ?? 10_000;

  // Mutation times are strictly increasing and, for a batch of `n`, start `n` ms in the past,
  // so a reader that stops at "now" sees every mutation made before it started.
  const mutationTimes = (n: number) => {
    const first = Math.max(Date.now() - n, lastMutation + 1);
    lastMutation = first + n - 1;
    return (i: number) => first + i;
  };

  const resolveType = (raw: string): string => {
    const type = OBJECT_TYPE_IDS[raw] ?? raw;
    if (!store.has(type)) {
      throw new HttpError(
        400,
        errorBody(`Unable to infer object type from: ${raw}`, 'VALIDATION_ERROR', {
          subCategory: 'ObjectTypeIdError',
        }),
      );
    }
    return type;
  };

  const requireScope = (scopes: string[], scope: string) => {
    if (!scopes.includes(scope)) {
      throw new HttpError(
        403,
        errorBody(
          "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
          'MISSING_SCOPES',
          {
            errors: [
              {
                message: 'One or more of the following scopes are required.',
                context: { requiredGranularScopes: [scope] },
              },
            ],
          },
        ),
      );
    }
  };

  function rateHeaders(tokenValue: string | undefined, now: number): Record<string, string> {
    const mine = requests.filter((r) => r.token === tokenValue);
    const inWindow = mine.filter((r) => r.at > now - rateInterval && r.status !== 429).length;
    const max = options.rateLimit?.max ?? 190;
    const daily = options.dailyLimit ?? 1_000_000;
    return {
      'x-hubspot-ratelimit-max': String(max),
      'x-hubspot-ratelimit-remaining': String(Math.max(0, max - inWindow)),
      'x-hubspot-ratelimit-interval-milliseconds': String(rateInterval),
      'x-hubspot-ratelimit-daily': String(daily),
      'x-hubspot-ratelimit-daily-remaining': String(Math.max(0, daily - mine.length)),
    };
  }

  function route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: unknown,
    scopes: string[],
  ): unknown {
    const parts = path.split('/').filter(Boolean);
    // /crm/v3/properties/{objectType}
    if (
      method === 'GET' &&
      parts[0] === 'crm' &&
      parts[1] === 'v3' &&
      parts[2] === 'properties' &&
      parts.length === 4
    ) {
      const type = resolveType(parts[3]!);
      requireScope(scopes, OBJECT_SCOPES[type]!);
      return { results: propertyDefinitions(type) };
    }
    // /crm/v4/associations/{from}/{to}/batch/read
    if (
      method === 'POST' &&
      parts[1] === 'v4' &&
      parts[2] === 'associations' &&
      parts[5] === 'batch' &&
      parts[6] === 'read'
    ) {
      const from = resolveType(parts[3]!);
      const to = resolveType(parts[4]!);
      requireScope(scopes, OBJECT_SCOPES[from]!);
      const inputs = (body as { inputs?: { id?: unknown }[] } | undefined)?.inputs;
      if (!Array.isArray(inputs))
        throw new HttpError(400, errorBody('inputs is required', 'VALIDATION_ERROR'));
      if (inputs.length > 1000)
        throw new HttpError(400, errorBody('Batch size is limited to 1000', 'VALIDATION_ERROR'));
      const results = [];
      for (const input of inputs) {
        const object = index(from).get(String(input?.id));
        const ids = object?.associations[to] ?? [];
        if (ids.length === 0) continue;
        results.push({
          from: { id: String(input.id) },
          to: ids.map((id) => ({
            toObjectId: Number(id),
            associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 1, label: null }],
          })),
        });
      }
      const now = new Date().toISOString();
      return { status: 'COMPLETE', results, startedAt: now, completedAt: now };
    }
    if (parts[0] !== 'crm' || parts[1] !== 'v3' || parts[2] !== 'objects' || parts.length < 4) {
      throw new HttpError(404, errorBody(`No route for ${method} ${path}`, 'OBJECT_NOT_FOUND'));
    }
    const type = resolveType(parts[3]!);
    requireScope(scopes, OBJECT_SCOPES[type]!);
    const all = store.get(type)!;

    if (method === 'POST' && parts[4] === 'search' && parts.length === 5) {
      let request;
      try {
        request = parseSearchRequest(body);
      } catch (err) {
        if (err instanceof SearchValidationError) {
          throw new HttpError(400, errorBody(err.message, 'VALIDATION_ERROR'));
        }
        throw err;
      }
      const { total, slice } = runSearch(all, request);
      const next = request.offset + slice.length;
      return {
        total,
        results: slice.map((o) => toWire(o, request.properties, type)),
        ...(next < total ? { paging: { next: { after: String(next) } } } : {}),
      };
    }

    const propertyNames = query
      .getAll('properties')
      .flatMap((p) => p.split(','))
      .filter(Boolean);
    const associationTypes = query
      .getAll('associations')
      .flatMap((p) => p.split(','))
      .filter(Boolean)
      .map(resolveType);
    const withAssociations = (o: HubSpotFakeObject) => {
      const wire: Record<string, unknown> = toWire(o, propertyNames, type);
      const associations: Record<string, unknown> = {};
      for (const target of associationTypes) {
        const ids = o.associations[target] ?? [];
        if (ids.length > 0) {
          associations[target] = {
            results: ids.map((id) => ({
              id,
              type: `${type.replace(/s$/, '')}_to_${target.replace(/s$/, '')}`,
            })),
          };
        }
      }
      if (Object.keys(associations).length > 0) wire.associations = associations;
      return wire;
    };

    if (method === 'GET' && parts.length === 5) {
      const object = index(type).get(parts[4]!);
      if (!object || object.archived)
        throw new HttpError(404, errorBody('Object not found', 'OBJECT_NOT_FOUND'));
      return withAssociations(object);
    }
    if (method === 'GET' && parts.length === 4) {
      const limit = query.has('limit') ? Number(query.get('limit')) : 10;
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
        throw new HttpError(400, errorBody('limit must be between 1 and 100', 'VALIDATION_ERROR'));
      }
      const after = query.get('after');
      const archived = query.get('archived') === 'true';
      let start = 0;
      if (after) {
        const afterId = Number(after);
        if (!Number.isFinite(afterId))
          throw new HttpError(400, errorBody('Invalid after token', 'VALIDATION_ERROR'));
        // Objects are kept in id order: binary search for the first id above `after`.
        let lo = 0;
        let hi = all.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (Number(all[mid]!.id) <= afterId) lo = mid + 1;
          else hi = mid;
        }
        start = lo;
      }
      const results = [];
      let i = start;
      for (; i < all.length && results.length < limit; i++) {
        if (all[i]!.archived === archived) results.push(withAssociations(all[i]!));
      }
      while (i < all.length && all[i]!.archived !== archived) i++;
      const last = results.at(-1) as { id: string } | undefined;
      return {
        results,
        ...(i < all.length && last
          ? {
              paging: {
                next: { after: last.id, link: `/crm/v3/objects/${type}?after=${last.id}` },
              },
            }
          : {}),
      };
    }
    throw new HttpError(404, errorBody(`No route for ${method} ${path}`, 'OBJECT_NOT_FOUND'));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://fake');
    const auth = req.headers.authorization;
    const tokenValue = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const entry: HubSpotFakeRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      body: undefined,
      token: tokenValue,
      at,
      status: 0,
    };
    requests.push(entry);
    let status = 200;
    let payload: unknown;
    let raw: string | undefined;
    try {
      entry.body = await readBody(req);
      const fault = faults.find((f) => f.remaining > 0 && (!f.match || f.match(entry)));
      if (fault) {
        fault.remaining -= 1;
        faults = faults.filter((f) => f.remaining > 0);
        if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      }
      const scopes = tokenValue === undefined ? undefined : tokens.get(tokenValue);
      if (fault?.status && fault.status !== 200) {
        status = fault.status;
        raw = fault.body;
        payload =
          fault.status === 429
            ? rateLimitBody(fault.policyName ?? 'TEN_SECONDLY_ROLLING')
            : fault.status === 401
              ? errorBody(
                  'The OAuth token used to make this call expired.',
                  'EXPIRED_AUTHENTICATION',
                )
              : fault.status === 403
                ? errorBody(
                    "This app hasn't been granted all required scopes to make this call.",
                    'MISSING_SCOPES',
                  )
                : errorBody('internal error', 'INTERNAL_ERROR');
      } else if (!scopes) {
        status = 401;
        payload = errorBody(
          'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
          'INVALID_AUTHENTICATION',
        );
      } else if (
        options.dailyLimit !== undefined &&
        requests.filter((r) => r.token === tokenValue && r.status !== 429).length >
          options.dailyLimit
      ) {
        status = 429;
        payload = rateLimitBody('DAILY');
      } else if (
        options.rateLimit &&
        requests.filter(
          (r) =>
            r.token === tokenValue && r !== entry && r.status !== 429 && r.at > at - rateInterval,
        ).length >= options.rateLimit.max
      ) {
        status = 429;
        payload = rateLimitBody('TEN_SECONDLY_ROLLING');
      } else {
        payload = route(entry.method, url.pathname, url.searchParams, entry.body, scopes);
        raw = fault?.status === 200 ? fault.body : undefined;
      }
    } catch (err) {
      if (err instanceof HttpError) {
        status = err.status;
        payload = err.payload;
      } else {
        status = 500;
        payload = errorBody(err instanceof Error ? err.message : String(err), 'INTERNAL_ERROR');
      }
    }
    entry.status = status;
    const text = raw ?? JSON.stringify(payload);
    res.writeHead(status, {
      'content-type': 'application/json;charset=utf-8',
      'content-length': Buffer.byteLength(text),
      ...rateHeaders(tokenValue, at),
    });
    res.end(text);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const objectsOf = (type: string) => {
    const list = store.get(OBJECT_TYPE_IDS[type] ?? type);
    if (!list) throw new Error(`HubSpot fake: unknown object type "${type}"`);
    return list;
  };
  const setModifiedAt = (type: string, object: HubSpotFakeObject, ms: number) => {
    object.updatedAt = ms;
    object.properties[modifiedProperty(type)] = new Date(ms).toISOString();
  };

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    objects: objectsOf,
    touch(type, count, touchOptions = {}) {
      const list = objectsOf(type);
      const resolved = OBJECT_TYPE_IDS[type] ?? type;
      const chosen =
        touchOptions.ids?.map((id) => {
          const o = index(resolved).get(id);
          if (!o) throw new Error(`HubSpot fake: no ${type} with id ${id}`);
          return o;
        }) ??
        Array.from(
          { length: Math.min(count, list.length) },
          (_, i) => list[Math.floor(((i + 0.5) * list.length) / Math.min(count, list.length))]!,
        );
      const same = Math.min(touchOptions.sameMillisecond ?? 0, chosen.length);
      const time = mutationTimes(chosen.length - Math.max(0, same - 1));
      chosen.forEach((o, i) => {
        setModifiedAt(resolved, o, time(Math.max(0, i - Math.max(0, same - 1))));
        if (resolved === 'contacts') o.properties.hs_lead_status = 'IN_PROGRESS';
      });
      return chosen.map((o) => o.id);
    },
    setModified(type, ids, modifiedAt) {
      const resolved = OBJECT_TYPE_IDS[type] ?? type;
      for (const id of ids) {
        const o = index(resolved).get(id);
        if (!o) throw new Error(`HubSpot fake: no ${type} with id ${id}`);
        setModifiedAt(resolved, o, modifiedAt);
      }
    },
    create(type, count) {
      const list = objectsOf(type);
      const resolved = OBJECT_TYPE_IDS[type] ?? type;
      const ids: string[] = [];
      let nextId = list.length === 0 ? 1 : Number(list.at(-1)!.id) + 1;
      const time = mutationTimes(count);
      for (let i = 0; i < count; i++, nextId++) {
        const ms = time(i);
        const id = String(nextId);
        const object: HubSpotFakeObject = {
          id,
          properties: {
            [resolved === 'contacts' ? 'email' : 'name']: `new-${id}`,
            [resolved === 'contacts' || resolved === 'companies' || resolved === 'deals'
              ? 'createdate'
              : 'hs_createdate']: new Date(ms).toISOString(),
            [modifiedProperty(resolved)]: new Date(ms).toISOString(),
            hs_object_id: id,
          },
          createdAt: ms,
          updatedAt: ms,
          archived: false,
          associations: {},
        };
        list.push(object);
        index(resolved).set(id, object);
        ids.push(id);
      }
      return ids;
    },
    inject(fault) {
      const queued = { ...fault, remaining: fault.times ?? 1 };
      faults.push(queued);
      return () => {
        faults = faults.filter((f) => f !== queued);
      };
    },
    clearFaults() {
      faults = [];
    },
    maxRequestsInWindow(windowMs = 10_000, tokenValue) {
      const times = requests
        .filter((r) => tokenValue === undefined || r.token === tokenValue)
        .map((r) => r.at);
      let max = 0;
      let start = 0;
      for (let end = 0; end < times.length; end++) {
        while (times[end]! - times[start]! >= windowMs) start++;
        max = Math.max(max, end - start + 1);
      }
      return max;
    },
    resetRequests() {
      requests.length = 0;
    },
    setToken(value, scopes) {
      tokens.set(value, scopes);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
