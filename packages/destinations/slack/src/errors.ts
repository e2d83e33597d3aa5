/**
 * Maps what `@slack/web-api` throws onto Sluice errors, and says whether the failure concerns
 * one message (the rest of the batch can still be posted) or every message (stop the batch).
 *
 * @packageDocumentation
 */
import { FatalError, RetryableError, parseRetryAfter, type SluiceError } from '@sluice/core';
import { findBlockedAddressError } from '@sluice/core/net';

/** A mapped Slack failure. */
export interface SlackFailure {
  error: SluiceError;
  /** `record`: only this message failed; `batch`: every further message would fail too. */
  scope: 'record' | 'batch';
}

/** Slack errors that go away by themselves. */
const RETRYABLE = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);
/** Errors of the token or the app: nothing posts until someone fixes the installation. */
const AUTH = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'org_login_required',
  'team_access_not_granted',
  'ekm_access_denied',
  'access_denied',
]);
/** Errors of the target channel. */
const CHANNEL = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'restricted_action',
  'cannot_reply_to_message',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
]);

interface SlackErrorShape {
  code?: unknown;
  data?: { error?: unknown };
  retryAfter?: unknown;
  statusCode?: unknown;
  headers?: Record<string, string>;
  original?: unknown;
  message?: unknown;
}

/**
 * Classifies an error thrown by a `WebClient` call. `channelFromRecord` says whether the channel
 * came from the record (then a channel error fails that record only).
 *
 * @example
 * ```ts
 * try { await client.chat.postMessage(args); }
 * catch (err) { const { error, scope } = mapSlackError(err, { channelFromRecord: false }); throw error; }
 * ```
 */
export function mapSlackError(err: unknown, options: { channelFromRecord: boolean }): SlackFailure {
  // The outgoing-connection guard refused apiUrl's address: fatal for every message, never retried.
  const blocked = findBlockedAddressError(err);
  if (blocked) return { error: blocked.forField('apiUrl'), scope: 'batch' };
  const e = (err ?? {}) as SlackErrorShape;
  switch (e.code) {
    case 'slack_webapi_rate_limited_error': {
      const seconds = typeof e.retryAfter === 'number' ? e.retryAfter : undefined;
      return {
        error: new RetryableError(`Slack rate limited the call; retry after ${seconds ?? '?'} s`, {
          cause: err,
          ...(seconds === undefined ? {} : { retryAfterMs: seconds * 1000 }),
          details: { slackError: 'ratelimited' },
        }),
        scope: 'batch',
      };
    }
    case 'slack_webapi_platform_error': {
      const code = typeof e.data?.error === 'string' ? e.data.error : 'unknown_error';
      const details = { slackError: code };
      if (RETRYABLE.has(code))
        return {
          error: new RetryableError(`Slack answered ${code}`, { cause: err, details }),
          scope: 'batch',
        };
      if (AUTH.has(code)) {
        return {
          error: new FatalError(
            `Slack refused the token: ${code} (check the token, its scopes and the app installation)`,
            { cause: err, details },
          ),
          scope: 'batch',
        };
      }
      if (CHANNEL.has(code)) {
        const hint = code === 'not_in_channel' ? ' (invite the app to the channel)' : '';
        return {
          error: new FatalError(`Slack refused the channel: ${code}${hint}`, {
            cause: err,
            details,
          }),
          scope: options.channelFromRecord ? 'record' : 'batch',
        };
      }
      return {
        error: new FatalError(`Slack refused the message: ${code}`, { cause: err, details }),
        scope: 'record',
      };
    }
    case 'slack_webapi_http_error': {
      const status = typeof e.statusCode === 'number' ? e.statusCode : 0;
      const details = { httpStatus: status };
      if (status === 429 || status >= 500 || status === 408) {
        const retryAfterMs = parseRetryAfter(e.headers?.['retry-after']);
        return {
          error: new RetryableError(`Slack answered HTTP ${status}`, {
            cause: err,
            details,
            ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          }),
          scope: 'batch',
        };
      }
      return {
        error: new FatalError(`Slack answered HTTP ${status}`, { cause: err, details }),
        scope: 'batch',
      };
    }
    default: {
      // Request errors (refused connections, resets, timeouts) and anything unexpected: transient.
      const original = e.original instanceof Error ? e.original : err;
      const message = original instanceof Error ? original.message : String(original);
      return {
        error: new RetryableError(`Slack could not be reached: ${message}`, { cause: err }),
        scope: 'batch',
      };
    }
  }
}
