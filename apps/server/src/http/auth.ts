import { errorCatalog, formatErrorMessage } from '@sluice/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** What an API key may do. `admin` implies `run`, which implies `read`. */
export type Scope = 'read' | 'run' | 'admin';

/** An API key as configured: the key itself (hashed on load) or its SHA-256 hash. */
export interface ApiKeyConfig {
  name: string;
  key?: string | undefined;
  keyHash?: string | undefined;
  scopes: readonly Scope[];
}

/** A key as held in memory: only the hash. */
export interface ApiKeyEntry {
  name: string;
  hash: Buffer;
  scopes: ReadonlySet<Scope>;
}

const IMPLIED: Record<Scope, Scope[]> = {
  admin: ['admin', 'run', 'read'],
  run: ['run', 'read'],
  read: ['read'],
};

/**
 * SHA-256 of an API key, hex encoded: what `server.apiKeys[].keyHash` holds.
 *
 * @example
 * ```ts
 * hashApiKey('s3cr3t-key'); // "5e0b…"
 * ```
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Turns configured keys into hashed entries; plaintext keys are hashed and dropped.
 *
 * @example
 * ```ts
 * const keys = loadApiKeys([{ name: 'ci', key: process.env.KEY!, scopes: ['run'] }]);
 * ```
 */
export function loadApiKeys(configs: readonly ApiKeyConfig[]): ApiKeyEntry[] {
  return configs.map((c) => {
    const hex = c.keyHash ?? (c.key === undefined ? undefined : hashApiKey(c.key));
    if (!hex || !/^[0-9a-f]{64}$/i.test(hex)) {
      throw new Error(`server.apiKeys "${c.name}": give "key" or a 64-character hex "keyHash"`);
    }
    return {
      name: c.name,
      hash: Buffer.from(hex.toLowerCase(), 'hex'),
      scopes: new Set(c.scopes.flatMap((s) => IMPLIED[s])),
    };
  });
}

/** The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth))
    return auth.replace(/^bearer\s+/i, '').trim() || undefined;
  const header = request.headers['x-api-key'];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

/**
 * Finds the entry whose hash matches `key`. Every entry is compared, each in constant time, so
 * neither the position of the match nor a partial match shows in the timing.
 *
 * @example
 * ```ts
 * const entry = matchApiKey(keys, presentedKey(request));
 * ```
 */
export function matchApiKey(
  keys: readonly ApiKeyEntry[],
  key: string | undefined,
): ApiKeyEntry | undefined {
  if (key === undefined) return undefined;
  const hash = createHash('sha256').update(key, 'utf8').digest();
  let found: ApiKeyEntry | undefined;
  for (const entry of keys) if (timingSafeEqual(entry.hash, hash) && !found) found = entry;
  return found;
}

const matchedKeys = new WeakMap<FastifyRequest, ApiKeyEntry | null>();

/**
 * The configured key a request presents, looked up once per request: the rate limiter (which
 * charges valid keys to their own budget) and {@link authorize} both ask.
 *
 * @example
 * ```ts
 * const entry = requestKey(keys, request); // undefined for a missing or unknown key
 * ```
 */
export function requestKey(
  keys: readonly ApiKeyEntry[],
  request: FastifyRequest,
): ApiKeyEntry | undefined {
  const known = matchedKeys.get(request);
  if (known !== undefined) return known ?? undefined;
  const entry = matchApiKey(keys, presentedKey(request));
  matchedKeys.set(request, entry ?? null);
  return entry;
}

/**
 * Checks that a request carries a key with `scope`; throws 401/403 API errors otherwise.
 * Returns the key name (for rate limiting and audit logs). Needs only the headers: routes call
 * it before the body is read (see `addRoute`).
 */
export function authorize(
  keys: readonly ApiKeyEntry[],
  request: FastifyRequest,
  scope: Scope,
): string {
  const key = presentedKey(request);
  if (key === undefined) {
    throw new ApiError(errorCatalog.unauthorized, errorCatalog.unauthorized.message, [], {
      'www-authenticate': 'Bearer',
    });
  }
  const entry = requestKey(keys, request);
  if (!entry)
    throw new ApiError(errorCatalog.unauthorized, 'the API key is not valid', [], {
      'www-authenticate': 'Bearer',
    });
  if (!entry.scopes.has(scope)) {
    throw new ApiError(
      errorCatalog.forbidden,
      formatErrorMessage(errorCatalog.forbidden, { key: entry.name, scope }),
    );
  }
  return entry.name;
}
