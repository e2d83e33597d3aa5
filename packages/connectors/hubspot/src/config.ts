/**
 * The configuration of the HubSpot connector: a valibot schema that validates a source's
 * config section, types it, and produces its JSON Schema for docs and editors.
 */
import { ssrfOption } from '@sluice/core/net';
import * as v from 'valibot';

const objectTypeName = v.pipe(
  v.string(),
  v.description(
    "A CRM object type: `contacts`, `companies`, `deals`, `tickets`, or a custom object's type id such as `2-1234567` or `p_pets`.",
  ),
  v.regex(
    /^(?:[a-z][a-z0-9_]*|\d+-\d+|p_[a-z0-9_]+)$/,
    'must be a HubSpot object type: contacts, companies, deals, tickets, or a custom object type id like "2-1234567" / "p_pets"',
  ),
);

/**
 * Config schema of the `hubspot` connector.
 *
 * @example
 * ```ts
 * import * as v from 'valibot';
 * const config = v.parse(hubspotConfigSchema, {
 *   accessToken: 'pat-na1-...',
 *   object: 'contacts',
 *   properties: ['email', 'firstname'],
 *   associations: ['companies'],
 * });
 * ```
 */
export const hubspotConfigSchema = v.object({
  /** Private app or OAuth access token. Pass it as a secret reference (`${env:HUBSPOT_TOKEN}`). */
  accessToken: v.pipe(
    v.string(),
    v.description(
      'Private app or OAuth access token, as a secret reference such as `${env:HUBSPOT_TOKEN}`.',
    ),
    v.trim(),
    v.nonEmpty('the HubSpot access token is required'),
  ),
  /** API base URL; only changed for tests and proxies. */
  basePath: v.optional(
    v.pipe(
      v.string(),
      v.url('must be an absolute URL like https://api.hubapi.com'),
      v.description('HubSpot API base URL; changed only for tests and proxies.'),
    ),
    'https://api.hubapi.com',
  ),
  /** Outgoing-connection guard for `basePath`: internal addresses are refused unless allowed. */
  ssrf: ssrfOption,
  /** The CRM object type to read. */
  object: v.pipe(
    objectTypeName,
    v.description(
      'The CRM object type to read: `contacts`, `companies`, `deals`, `tickets`, or a custom object type id.',
    ),
  ),
  /** Properties to read; every property of the object type when omitted. */
  properties: v.optional(
    v.pipe(
      v.array(v.pipe(v.string(), v.nonEmpty())),
      v.minLength(1),
      v.description('Properties to read. Absent: every property of the object type.'),
      v.metadata({ examples: [['email', 'firstname', 'lastname']] }),
    ),
  ),
  /** Object types whose associated ids are added to each record under `associations`. */
  associations: v.optional(
    v.pipe(
      v.array(objectTypeName),
      v.description(
        'Object types whose associated record ids are added to each record under `associations`.',
      ),
      v.metadata({ examples: [['companies']] }),
    ),
    [],
  ),
  /**
   * Where the first run starts: without it the first run lists every object (full read);
   * with it the first run searches objects modified since this date (ISO 8601).
   */
  startDate: v.optional(
    v.pipe(
      v.string(),
      v.check(
        (s) => !Number.isNaN(Date.parse(s)),
        'must be an ISO 8601 date or date-time, e.g. 2026-01-01',
      ),
      v.description(
        'ISO 8601 date: the first run reads only objects modified since then. Absent: the first run reads every object.',
      ),
      v.metadata({ examples: ['2026-01-01'] }),
    ),
  ),
  /** Records per list request (HubSpot allows at most 100). */
  pageSize: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1),
      v.maxValue(100),
      v.description('Records per list request (HubSpot allows at most 100).'),
    ),
    100,
  ),
  /** Records per search request (HubSpot allows at most 200). */
  searchPageSize: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1),
      v.maxValue(200),
      v.description(
        'Records per search request, used by incremental runs (HubSpot allows at most 200).',
      ),
    ),
    200,
  ),
  /**
   * Client-side rate limiting, shared by every connector using the same access token in this
   * process. Set the values to your HubSpot plan's limits (the defaults fit every plan).
   */
  rateLimit: v.optional(
    v.pipe(
      v.object({
        /** Requests per interval (HubSpot's TEN_SECONDLY_ROLLING policy: 100 to 190 by plan). */
        requests: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(1),
            v.description(
              "Requests per interval (HubSpot's ten-secondly limit: 100 to 190 by plan).",
            ),
          ),
          100,
        ),
        /** Length of the rolling interval in milliseconds. */
        intervalMs: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(100),
            v.description('Length of the rolling interval in milliseconds.'),
          ),
          10_000,
        ),
        /** Search requests per second (HubSpot allows 5 per account). */
        searchRequestsPerSecond: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(1),
            v.description('Search requests per second (HubSpot allows 5 per account).'),
          ),
          4,
        ),
        /** How many times a secondly/ten-secondly 429 is waited out inside the connector. */
        maxRetries: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(0),
            v.maxValue(10),
            v.description(
              'How many times a rate-limit response (429) is waited out inside the connector.',
            ),
          ),
          3,
        ),
        /** Ceiling of the first wait after a 429 (core's backoff: full jitter, doubling, capped at `intervalMs`). */
        retryDelayMs: v.optional(
          v.pipe(
            v.number(),
            v.integer(),
            v.minValue(0),
            v.description(
              'Ceiling of the first wait after a 429 (full jitter); doubles on each retry, capped at `intervalMs`; a longer Retry-After is honoured.',
            ),
          ),
          1_000,
        ),
      }),
      v.description(
        'Client-side rate limit, shared by every connector using the same access token in this process. The defaults fit every HubSpot plan.',
      ),
    ),
    {},
  ),
});

/**
 * The validated config of the `hubspot` connector.
 *
 * @example
 * ```ts
 * const config: HubSpotConfig = v.parse(hubspotConfigSchema, { accessToken, object: 'deals' });
 * ```
 */
export type HubSpotConfig = v.InferOutput<typeof hubspotConfigSchema>;
