/**
 * The catalog of every `SLUICE_ERR_*` code Sluice raises or answers with: the code, the HTTP
 * status where it has one, whether retrying can help, the message template, and a cause and fix
 * for operators. Throwers take their code (and status) from here, never from a string literal,
 * and docs/troubleshooting.md's list of error codes is generated from it
 * (`npm run docs:generate`), so the page and the wire cannot drift apart.
 *
 * @packageDocumentation
 */

/** Where an error comes from: it groups the codes on the troubleshooting page. */
export type ErrorArea = 'plugin' | 'store' | 'api' | 'webhook';

/**
 * One code of the catalog.
 *
 * @example
 * ```ts
 * const entry: ErrorDefinition = errorCatalog.notFound;
 * entry.code;   // "SLUICE_ERR_NOT_FOUND"
 * entry.status; // 404
 * ```
 */
export interface ErrorDefinition<Code extends `SLUICE_ERR_${string}` = `SLUICE_ERR_${string}`> {
  /** The stable code, on the wire and in logs. */
  readonly code: Code;
  /** The HTTP status the REST API answers with, when the error reaches it; absent for errors that never do. */
  readonly status?: number;
  /**
   * Whether trying again unchanged can succeed: the engine retries (with backoff) the operation
   * or the records that failed, an API client may repeat the request (after `Retry-After`).
   */
  readonly retryable: boolean;
  /** The message's shape: `{name}` marks a part filled in per occurrence (see {@link formatErrorMessage}). */
  readonly message: string;
  /** What usually causes it, for the troubleshooting page (one paragraph). */
  readonly cause: string;
  /** What to do about it, for the troubleshooting page (one paragraph). */
  readonly fix: string;
  readonly area: ErrorArea;
  /** For `webhook` errors: the scheduler's rejection reason the code is made from. */
  readonly reason?: string;
}

/**
 * Every error code, by a camel-case name (`errorCatalog.notFound`), in the order of the
 * troubleshooting page.
 *
 * @example
 * ```ts
 * import { errorCatalog } from '@sluice/core';
 * throw Object.assign(new Error('the pipeline does not exist'), { code: errorCatalog.notFound.code });
 * ```
 */
export const errorCatalog = {
  // Plugins and the engine: the error family of ./errors.ts.
  retryable: {
    code: 'SLUICE_ERR_RETRYABLE',
    status: 503,
    retryable: true,
    message: '{message}',
    area: 'plugin',
    cause:
      'A transient failure reported by a connector or a destination (`RetryableError`): a timeout, a rate limit (HTTP 429), a server error of the remote side, a connection that was reset. Through the API (a check, a dry run) it is answered 503, with `Retry-After` when the remote side asked to wait.',
    fix: "Nothing, usually: the engine retries with exponential backoff and full jitter, waiting at least what the remote side asked for. When the retries run out the records go to the route's `onError` (dead letters by default). If it persists, read the `cause` in the log line: credentials that expire, a remote quota, a network path that drops connections.",
  },
  fatal: {
    code: 'SLUICE_ERR_FATAL',
    status: 422,
    retryable: false,
    message: '{message}',
    area: 'plugin',
    cause:
      'A failure retrying cannot fix (`FatalError`): credentials rejected, a missing permission, an unknown table or column, an invalid query. The message says what the remote side refused; the run or the records fail at once, without retries.',
    fix: 'Fix what the message names (the token, the scope, the table) in the configuration or on the remote side, then start the run again or replay its dead letters.',
  },
  partialBatch: {
    code: 'SLUICE_ERR_PARTIAL_BATCH',
    status: 422,
    retryable: true,
    message: '{count} record(s) of the batch failed: {failures}',
    area: 'plugin',
    cause:
      'A destination wrote some records of a batch and refused others (`PartialBatchError`), for example rows that violate a constraint. The message lists up to three failed records by index with their reasons.',
    fix: 'Only the failed records are retried, and each of them only when its own error is not fatal; the rest go to the dead letters. Fix the data or the mapping (a column type, a `from` path), then replay the dead letters.',
  },
  config: {
    code: 'SLUICE_ERR_CONFIG',
    status: 400,
    retryable: false,
    message: 'Invalid configuration:\n  {path}: {problem}',
    area: 'plugin',
    cause:
      'The configuration (a file, a plugin section, an API body) is invalid. Every problem is listed with the path of its key, all at once; through the API each is one entry of `error.details`.',
    fix: 'Correct each key the message names; `sluice validate sluice.yaml` prints the same messages without starting anything. See [reading a configuration error](#reading-a-configuration-error).',
  },
  aborted: {
    code: 'SLUICE_ERR_ABORTED',
    retryable: false,
    message: 'the run was aborted',
    area: 'plugin',
    cause:
      'The run was cancelled through its signal: `POST /api/v1/runs/{id}/cancel`, its `timeoutMs` elapsed, or the server shut down. The last committed checkpoint is intact.',
    fix: 'Nothing is lost: a run cancelled by a shutdown is re-queued, the next run reads from the last checkpoint. A run that keeps hitting its timeout needs a larger `timeoutMs` or a smaller read.',
  },
  invalidRecord: {
    code: 'SLUICE_ERR_INVALID_RECORD',
    retryable: false,
    message:
      'connector "{connector}" page {page}, record #{index}: not a plain JSON object ({type}); a connector must yield records as plain objects',
    area: 'plugin',
    cause:
      'A connector yielded a value that is not a plain JSON object (an array, a string, `null`, a class instance). It is dead-lettered as it is, never written to a destination.',
    fix: 'Fix the connector (a third-party plugin, usually), or the query of the source, so that every record is an object.',
  },
  blockedAddress: {
    code: 'SLUICE_ERR_BLOCKED_ADDRESS',
    status: 422,
    retryable: false,
    message:
      '{field}: refusing to connect to {host} ({address}): {range} addresses are blocked (SSRF protection); {hint}',
    area: 'plugin',
    cause:
      'A plugin would connect to a loopback, private, link-local or otherwise internal address, in any spelling, checked after DNS resolution and on every redirect. It is never retried: the target is wrong, not down.',
    fix: 'Allow exactly that service on that plugin with `ssrf.allow`; see [a plugin refuses an address](#a-plugin-refuses-an-address-sluice-err-blocked-address).',
  },

  // The embedded store (PGlite data folder).
  dataDirLocked: {
    code: 'SLUICE_ERR_DATA_DIR_LOCKED',
    retryable: false,
    message: 'PGlite data folder {dataDir} is in use by {owner}: one process owns a data folder. …',
    area: 'store',
    cause:
      "Another process (a running `sluice serve`, a CLI command, `scripts/backup.sh`) owns the embedded store's data folder; the command stops before it touches the folder, with exit code 1.",
    fix: 'Stop the owner the message names, or give this process its own `--data-dir`, or use PostgreSQL (`store.url`) to share a store; see [the embedded store fails to open](#the-embedded-store-fails-to-open-sluice-err-data-dir-locked).',
  },
  dataDirLockLost: {
    code: 'SLUICE_ERR_DATA_DIR_LOCK_LOST',
    retryable: false,
    message: 'lost the ownership lock of PGlite data folder {dataDir} ({detail}); …',
    area: 'store',
    cause:
      "The owner's lock file was removed or replaced by another process; the store closed itself rather than write next to another owner.",
    fix: 'Find who touched the folder (a second server, a cleanup job, a restore), then restart one process.',
  },

  // The REST API.
  badRequest: {
    code: 'SLUICE_ERR_BAD_REQUEST',
    status: 400,
    retryable: false,
    message: '{path}: {problem}',
    area: 'api',
    cause:
      "The request does not match the endpoint's schema (a missing or mistyped field, an invalid cursor, a query parameter out of range); `error.details` names each field. A path parameter over the length limit is answered 414 with this code.",
    fix: "Correct the fields named in `error.details`; the [REST API](./api.md) page describes each endpoint's body and parameters.",
  },
  invalidJson: {
    code: 'SLUICE_ERR_INVALID_JSON',
    status: 400,
    retryable: false,
    message: 'the request body is not valid JSON: {problem}',
    area: 'api',
    cause:
      'The body is not valid JSON, is empty with a JSON content type, or nests deeper than the server accepts.',
    fix: 'Send one JSON document with `Content-Type: application/json`; check the quoting of the shell command that builds it.',
  },
  forbiddenKey: {
    code: 'SLUICE_ERR_FORBIDDEN_KEY',
    status: 400,
    retryable: false,
    message: '{path}: {problem}',
    area: 'api',
    cause:
      'The body holds a `__proto__` key or `constructor.prototype`, refused by the JSON parser against prototype poisoning.',
    fix: 'Rename the key; no configuration of Sluice uses these names.',
  },
  secretReference: {
    code: 'SLUICE_ERR_SECRET_REFERENCE',
    status: 400,
    retryable: false,
    message: '{path}: the secret reference {reference} is not accepted: {why}',
    area: 'api',
    cause:
      'A request body holds a secret reference (`${env:..}`, `${file:..}`) it may not use: only an admin key may send them, only to secrets the configuration file already uses, and never in a check or a dry run.',
    fix: 'Use a reference the configuration file already uses, with an admin key, or add the secret to the file first; write `$${` for a literal `${`.',
  },
  unauthorized: {
    code: 'SLUICE_ERR_UNAUTHORIZED',
    status: 401,
    retryable: false,
    message: 'an API key is required: send "Authorization: Bearer <key>"',
    area: 'api',
    cause: 'The request has no API key, or one that is not in `server.apiKeys`.',
    fix: 'Send `Authorization: Bearer <key>` with a key of `server.apiKeys`; after changing the keys, reload or restart the server.',
  },
  forbidden: {
    code: 'SLUICE_ERR_FORBIDDEN',
    status: 403,
    retryable: false,
    message: 'the API key "{key}" lacks the "{scope}" scope',
    area: 'api',
    cause: "The API key is valid but lacks the endpoint's scope (`read`, `run`, `write`, `admin`).",
    fix: "Use a key with that scope, or add the scope to the key's `scopes` in `server.apiKeys`.",
  },
  notFound: {
    code: 'SLUICE_ERR_NOT_FOUND',
    status: 404,
    retryable: false,
    message: '{what} does not exist',
    area: 'api',
    cause:
      'The pipeline, run, dead letter or route named in the URL does not exist (or no longer does).',
    fix: 'Check the name or id; `GET /api/v1/pipelines` and `GET /api/v1/runs` list what exists.',
  },
  conflict: {
    code: 'SLUICE_ERR_CONFLICT',
    status: 409,
    retryable: false,
    message: '{problem}',
    area: 'api',
    cause:
      'The request conflicts with the current state: a dead letter that is no longer pending, a pipeline that no longer exists, an entity that already exists.',
    fix: 'Read the current state (the message says what it is) and decide again; another client may have acted first.',
  },
  preconditionFailed: {
    code: 'SLUICE_ERR_PRECONDITION_FAILED',
    status: 412,
    retryable: false,
    message: 'If-Match {given} does not match the current version {current}',
    area: 'api',
    cause:
      'The `If-Match` header names a version of the entity that is no longer the current one: someone changed it since you read it.',
    fix: 'Read the entity again (its `ETag`), reapply your change and send it with the new version.',
  },
  bodyTooLarge: {
    code: 'SLUICE_ERR_BODY_TOO_LARGE',
    status: 413,
    retryable: false,
    message: 'request body is larger than the server accepts',
    area: 'api',
    cause: "The request body exceeds the API's body limit.",
    fix: 'Send less per request (fewer records in a dry run, one entity at a time).',
  },
  unsupportedMediaType: {
    code: 'SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE',
    status: 415,
    retryable: false,
    message: 'unsupported content type: send application/json',
    area: 'api',
    cause: 'The request body has a content type other than JSON.',
    fix: 'Send `Content-Type: application/json`.',
  },
  rateLimited: {
    code: 'SLUICE_ERR_RATE_LIMITED',
    status: 429,
    retryable: true,
    message: 'rate limit of {max} requests per minute exceeded; retry in {seconds} s',
    area: 'api',
    cause:
      'More than `server.rateLimit.perMinute` requests a minute: API requests per key or address, or webhook deliveries per pipeline (new ones) and per sender address (ones that start no run).',
    fix: 'Wait for `Retry-After` seconds; raise `server.rateLimit.perMinute` if the traffic is expected.',
  },
  backlogFull: {
    code: 'SLUICE_ERR_BACKLOG_FULL',
    status: 429,
    retryable: true,
    message:
      'pipeline "{pipeline}" has {queued} queued runs, its bound is {max} (maxQueuedRuns); retry in {seconds} s',
    area: 'api',
    cause:
      "The pipeline's runs are triggered faster than they execute: its runs in status `queued` reached `maxQueuedRuns` (the pipeline's, else `scheduler.maxQueuedRuns`, default 1000). Webhook deliveries and API triggers are refused, never accepted and dropped; nothing of the refused request was stored, so a sender's retry is a fresh delivery.",
    fix: 'Retry after `Retry-After` seconds (webhook senders do so by themselves). If the rate is expected, make runs faster or allow them to overlap (`concurrency.allowOverlap`), add workers, deliver webhooks with `payload: records` in fewer runs, or raise `maxQueuedRuns`.',
  },
  internal: {
    code: 'SLUICE_ERR_INTERNAL',
    status: 500,
    retryable: true,
    message: 'internal error; see the server log',
    area: 'api',
    cause:
      'An unexpected failure inside the server; the answer says nothing more, on purpose. The server log has the error, at level `error`, with the request.',
    fix: 'Read the log line of that request; retrying may work if it was transient. Report it with the log line (it is redacted) when it is not.',
  },

  // Webhook triggers: one code per rejection reason of the scheduler's verification.
  webhookNotFound: {
    code: 'SLUICE_ERR_WEBHOOK_NOT_FOUND',
    status: 404,
    retryable: false,
    message: 'pipeline "{pipeline}" has no webhook trigger',
    area: 'webhook',
    reason: 'not-found',
    cause:
      'The pipeline in `/webhooks/<pipeline>` does not exist or has no `webhook` trigger; answered before the body is read.',
    fix: "Check the URL the sender uses and the pipeline's `webhook` section.",
  },
  webhookMissingHeader: {
    code: 'SLUICE_ERR_WEBHOOK_MISSING_HEADER',
    status: 400,
    retryable: false,
    message: 'missing {header} header',
    area: 'webhook',
    reason: 'missing-header',
    cause:
      'A signature header of the scheme in `webhook.verify` is missing: the sender does not use that scheme.',
    fix: "Set `webhook.verify` to the sender's scheme (Standard Webhooks, HubSpot v3, Slack).",
  },
  webhookInvalidHeader: {
    code: 'SLUICE_ERR_WEBHOOK_INVALID_HEADER',
    status: 401,
    retryable: false,
    message: '{header}: {problem}',
    area: 'webhook',
    reason: 'invalid-header',
    cause:
      'A signature header is not in its one canonical form (a timestamp with leading zeros, a sign, a fraction or an exponent, or above `Number.MAX_SAFE_INTEGER`), or was sent more than once.',
    fix: 'Real senders never do this: look for a proxy that rewrites or duplicates headers, or someone replaying captured requests.',
  },
  webhookInvalidSecret: {
    code: 'SLUICE_ERR_WEBHOOK_INVALID_SECRET',
    status: 401,
    retryable: false,
    message: 'the secret {problem}',
    area: 'webhook',
    reason: 'invalid-secret',
    cause:
      'The configured `webhook.secret` cannot be used by the scheme (for Standard Webhooks: not a valid `whsec_` base64 secret).',
    fix: "Copy the sender's secret again, whole (with its `whsec_` prefix).",
  },
  webhookStaleTimestamp: {
    code: 'SLUICE_ERR_WEBHOOK_STALE_TIMESTAMP',
    status: 401,
    retryable: false,
    message: 'the signed timestamp is outside the tolerance of {seconds} s',
    area: 'webhook',
    reason: 'stale-timestamp',
    cause:
      'The signed timestamp is older than `webhook.toleranceSeconds` (default 300 s) or in the future; usually a clock is off.',
    fix: "Run NTP on the server and check the sender's clock; a queue that holds deliveries longer than the tolerance needs a larger `toleranceSeconds`.",
  },
  webhookBadSignature: {
    code: 'SLUICE_ERR_WEBHOOK_BAD_SIGNATURE',
    status: 401,
    retryable: false,
    message: 'no signature matched',
    area: 'webhook',
    reason: 'bad-signature',
    cause:
      "The signature does not match: the secret differs from the sender's, or a proxy rewrote the body (the signature covers the raw bytes; HubSpot v3 also the full URL).",
    fix: "Use the sender's secret (HubSpot: the client secret; Slack: the signing secret; Standard Webhooks: `whsec_...`), and let proxies pass the body, `Host` and scheme unchanged.",
  },
  webhookTooLarge: {
    code: 'SLUICE_ERR_WEBHOOK_TOO_LARGE',
    status: 413,
    retryable: false,
    message:
      'the body exceeds the limit of {maxBytes} bytes of pipeline "{pipeline}" (webhook.maxBytes)',
    area: 'webhook',
    reason: 'too-large',
    cause:
      "The body exceeds the pipeline's `webhook.maxBytes` (default 1 MiB); a Content-Length over it is refused before the body is read.",
    fix: 'Raise `webhook.maxBytes`, or let the sender send ids and read the objects with the connector.',
  },
  webhookInvalidPayload: {
    code: 'SLUICE_ERR_WEBHOOK_INVALID_PAYLOAD',
    status: 400,
    retryable: false,
    message: '{problem}',
    area: 'webhook',
    reason: 'invalid-payload',
    cause:
      'The signed body is not valid JSON (or form data), nests too deeply, or (with `payload: records`) holds no list of objects.',
    fix: "Compare the sender's payload with the pipeline's `webhook.payload` setting.",
  },
  webhookMissingSecret: {
    code: 'SLUICE_ERR_WEBHOOK_MISSING_SECRET',
    status: 500,
    retryable: false,
    message: 'the webhook secret is empty',
    area: 'webhook',
    reason: 'missing-secret',
    cause: '`webhook.secret` resolved to nothing, so no delivery can be verified.',
    fix: 'Set the secret the reference names; see [a secret does not resolve](#a-secret-does-not-resolve).',
  },
  webhookUnknownScheme: {
    code: 'SLUICE_ERR_WEBHOOK_UNKNOWN_SCHEME',
    status: 500,
    retryable: false,
    message: 'unknown webhook scheme "{scheme}"',
    area: 'webhook',
    reason: 'unknown-scheme',
    cause:
      '`webhook.verify` names a scheme this server does not know (a configuration written for a newer Sluice).',
    fix: 'Use one of the schemes of the [configuration reference](./configuration.md), or upgrade the server.',
  },
} as const satisfies Record<string, ErrorDefinition>;

/** A name of {@link errorCatalog}: `notFound`, `dataDirLocked`, ... */
export type ErrorName = keyof typeof errorCatalog;

/** One of the catalog's codes, `SLUICE_ERR_*`. */
export type CatalogErrorCode = (typeof errorCatalog)[ErrorName]['code'];

/** The catalog's entries, in its order. */
export const errorDefinitions: readonly ErrorDefinition[] = Object.freeze(
  Object.values(errorCatalog),
);

/** The webhook rejection reasons the catalog has a code for (the scheduler's `WebhookRejection` and `not-found`). */
export type WebhookRejectionReason = Extract<
  (typeof errorCatalog)[ErrorName],
  { reason: string }
>['reason'];

const codes: ReadonlySet<string> = new Set(errorDefinitions.map((entry) => entry.code));

/**
 * Tells whether `value` is a code of the catalog.
 *
 * @example
 * ```ts
 * isCatalogCode('SLUICE_ERR_DATA_DIR_LOCKED'); // true
 * isCatalogCode('ENOENT');                     // false
 * ```
 */
export function isCatalogCode(value: unknown): value is CatalogErrorCode {
  return typeof value === 'string' && codes.has(value);
}

const byReason: ReadonlyMap<string, ErrorDefinition> = new Map(
  errorDefinitions
    .filter((entry) => entry.reason !== undefined)
    .map((entry) => [entry.reason!, entry]),
);

/**
 * The catalog entry of a webhook rejection reason (`bad-signature` -> `SLUICE_ERR_WEBHOOK_BAD_SIGNATURE`).
 * A reason the catalog does not know is a programming error: it throws, naming the reason.
 *
 * @example
 * ```ts
 * webhookRejectionError('stale-timestamp').code; // "SLUICE_ERR_WEBHOOK_STALE_TIMESTAMP"
 * ```
 */
export function webhookRejectionError(reason: string): ErrorDefinition {
  const entry = byReason.get(reason);
  if (!entry)
    throw new Error(
      `the error catalog has no code for the webhook rejection reason ${JSON.stringify(reason)}`,
    );
  return entry;
}

/**
 * Fills a message template: each `{name}` is replaced by `values[name]`; a name without a value
 * stays as written, so a missing value shows instead of vanishing.
 *
 * @example
 * ```ts
 * formatErrorMessage(errorCatalog.notFound, { what: 'pipeline "daily"' }); // 'pipeline "daily" does not exist'
 * ```
 */
export function formatErrorMessage(
  entry: Pick<ErrorDefinition, 'message'>,
  values: Readonly<Record<string, string | number>>,
): string {
  return entry.message.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(values, name) ? String(values[name]) : whole,
  );
}
