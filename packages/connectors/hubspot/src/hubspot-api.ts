/**
 * The connector's only door to HubSpot: the official SDK behind the shared rate limiter, with
 * bounded waiting on short 429s, prompt aborts, response validation and error mapping.
 */
import { Client } from '@hubspot/api-client';
import { FatalError, retryWithBackoff, type Clock, type Logger } from '@sluice/core';
import {
  createAddressPolicy,
  createGuardedHttpAgent,
  createGuardedHttpsAgent,
  type AddressPolicy,
} from '@sluice/core/net';
import type { HubSpotConfig } from './config.js';
import { isShortRateLimit, retryAfterOf, toSluiceError, type CallDescription } from './errors.js';
import { rateLimiterFor, type SharedRateLimiter } from './rate-limit.js';
import { parseAssociations, parsePage, type CrmPage } from './response.js';

/** One filter of a search request. */
export interface SearchFilter {
  propertyName: string;
  operator: 'EQ' | 'GT' | 'GTE' | 'LT' | 'LTE';
  value: string;
}

/** A search request as the connector builds it. */
export interface SearchQuery {
  filters: SearchFilter[];
  sort: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' };
  limit: number;
}

/** A property definition from the properties API. */
export interface PropertyDefinition {
  name: string;
  type: string;
  label: string;
  description: string;
}

/** The HubSpot calls the connector makes. */
export interface HubSpotApi {
  list(
    after: string | undefined,
    properties: readonly string[],
    signal: AbortSignal,
  ): Promise<CrmPage>;
  search(query: SearchQuery, properties: readonly string[], signal: AbortSignal): Promise<CrmPage>;
  properties(signal: AbortSignal): Promise<PropertyDefinition[]>;
  associations(
    ids: readonly string[],
    toObjectType: string,
    signal: AbortSignal,
  ): Promise<Map<string, string[]>>;
}

/** The guarded agent matching the base URL's protocol (the SDK takes one agent for every call). */
function guardedAgentFor(basePath: string, policy: AddressPolicy) {
  return new URL(basePath).protocol === 'http:'
    ? createGuardedHttpAgent(policy, { keepAlive: true })
    : createGuardedHttpsAgent(policy, { keepAlive: true });
}

/**
 * Creates the SDK client and the calls on top of it.
 *
 * @example
 * ```ts
 * const api = createHubSpotApi(config, { clock: systemClock, logger });
 * const page = await api.list(undefined, ['email'], signal);
 * ```
 */
export function createHubSpotApi(
  config: HubSpotConfig,
  deps: { clock: Clock; logger: Logger; modifiedProperty: string },
): HubSpotApi {
  // No SDK retries and no SDK limiter: the shared limiter below paces requests and the
  // connector decides which failures to wait out.
  const basePath = config.basePath.replace(/\/+$/, '');
  const client = new Client({
    accessToken: config.accessToken,
    basePath,
    numberOfApiCallRetries: 0,
    // Every call goes through the outgoing-connection guard: the agent checks each DNS answer
    // (and a literal basePath host) against the ssrf policy. The SDK sends through node:http(s)
    // when given an agent, which follows no redirects.
    httpAgent: guardedAgentFor(basePath, createAddressPolicy(config.ssrf)),
  });
  const limits = config.rateLimit;
  const limiter: SharedRateLimiter = rateLimiterFor(
    config.accessToken,
    { requests: limits.requests, intervalMs: limits.intervalMs },
    limits.searchRequestsPerSecond,
    deps.clock,
  );
  const objectType = config.object;

  // Short 429s (secondly / ten-secondly) are waited out here with core's retry helper; every
  // other failure, the daily limit included, is mapped and handed up to the engine.
  const shortRateLimitRetry = {
    maxAttempts: limits.maxRetries + 1,
    initialDelayMs: limits.retryDelayMs,
    maxDelayMs: limits.intervalMs,
    multiplier: 2,
  };

  function call<T>(
    description: CallDescription,
    kind: 'general' | 'search',
    signal: AbortSignal,
    send: () => Promise<T>,
  ): Promise<T> {
    const bucket = kind === 'search' ? limiter.search : limiter.general;
    return retryWithBackoff(
      async () => {
        if (kind === 'search') await limiter.search.take(signal);
        await limiter.general.take(signal);
        return send();
      },
      {
        ...shortRateLimitRetry,
        clock: deps.clock,
        signal,
        mapError: (error) => toSluiceError(error, description),
        shouldRetry: (_mapped, error) => isShortRateLimit(error),
        retryAfterMs: (_mapped, error) => retryAfterOf(error),
        // Pausing the shared bucket makes every pipeline on this token back off, not just this one;
        // the next try's take() waits for it.
        wait: async (delayMs) => bucket.pause(delayMs),
        onRetry: (_error, attempt, delayMs) =>
          deps.logger.warn(
            { call: description.what, attempt, delayMs },
            'HubSpot rate limit hit; waiting before retrying',
          ),
      },
    );
  }

  return {
    async list(after, properties, signal) {
      const what = `list ${objectType}${after ? ` (after=${after})` : ' (first page)'}`;
      const response = await call({ what, objectType }, 'general', signal, () =>
        client.crm.objects.basicApi.getPage(
          objectType,
          config.pageSize,
          after,
          [...properties],
          undefined,
          undefined,
          false,
        ),
      );
      return parsePage(response, what, deps.modifiedProperty);
    },

    async search(query, properties, signal) {
      const what = `search ${objectType} (${query.filters.map((f) => `${f.propertyName} ${f.operator} ${f.value}`).join(', ')})`;
      const response = await call({ what, objectType }, 'search', signal, () =>
        client.crm.objects.searchApi.doSearch(objectType, {
          filterGroups: [{ filters: query.filters }],
          // The SDK types `sorts` as strings but sends the array as-is; HubSpot documents the object form.
          sorts: [query.sort] as unknown as string[],
          properties: [...properties],
          limit: query.limit,
        } as Parameters<typeof client.crm.objects.searchApi.doSearch>[1]),
      );
      return parsePage(response, what, deps.modifiedProperty);
    },

    async properties(signal) {
      const what = `read the ${objectType} property definitions`;
      const response = await call({ what, objectType }, 'general', signal, () =>
        client.crm.properties.coreApi.getAll(objectType, false),
      );
      const results = (response as { results?: unknown }).results;
      if (!Array.isArray(results)) {
        throw new FatalError(
          `HubSpot returned a malformed response for ${what}: results is missing or not an array`,
          {
            details: { page: what, field: 'results' },
          },
        );
      }
      return results.map(
        (p: { name?: unknown; type?: unknown; label?: unknown; description?: unknown }, i) => {
          if (typeof p?.name !== 'string' || typeof p.type !== 'string') {
            throw new FatalError(
              `HubSpot returned a malformed response for ${what}: results[${i}].name and results[${i}].type must be strings`,
              { details: { page: what, field: `results[${i}]` } },
            );
          }
          return {
            name: p.name,
            type: p.type,
            label: typeof p.label === 'string' ? p.label : p.name,
            description: typeof p.description === 'string' ? p.description : '',
          };
        },
      );
    },

    async associations(ids, toObjectType, signal) {
      const what = `read ${objectType} → ${toObjectType} associations of ${ids.length} object(s) (first id ${ids[0]})`;
      const response = await call({ what, objectType }, 'general', signal, () =>
        client.crm.associations.v4.batchApi.getPage(objectType, toObjectType, {
          inputs: ids.map((id) => ({ id })),
        }),
      );
      return parseAssociations(response, what);
    },
  };
}
