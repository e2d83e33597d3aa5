/**
 * One HTTP request of the connector, with the outcome mapped to Sluice's error family:
 * 408/429/5xx and network failures are retryable (passing `Retry-After` through), other
 * statuses are fatal with a message that says what to fix.
 */
import { FatalError, RetryableError, parseRetryAfter } from '@sluice/core';
import { findBlockedAddressError } from '@sluice/core/net';
import { fetch, type Dispatcher } from 'undici';

/** Fetches `url` and parses the JSON body. `page` names the page in every error message. */
export async function fetchJson(
  url: URL,
  init: {
    headers: Record<string, string>;
    timeoutMs: number;
    signal: AbortSignal;
    page: string;
    dispatcher: Dispatcher;
  },
): Promise<unknown> {
  const signal = AbortSignal.any([init.signal, AbortSignal.timeout(init.timeoutMs)]);
  let response: Awaited<ReturnType<typeof fetch>>;
  try {
    // The dispatcher opens every connection (redirects included) through Sluice's guard.
    response = await fetch(url, {
      headers: { accept: 'application/json', ...init.headers },
      signal,
      dispatcher: init.dispatcher,
    });
  } catch (error) {
    if (init.signal.aborted) throw init.signal.reason;
    // An internal address: a FatalError coded SLUICE_ERR_BLOCKED_ADDRESS, never retried.
    const blocked = findBlockedAddressError(error);
    if (blocked) throw blocked.forField('url');
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    throw new RetryableError(
      `${init.page}: ${timedOut ? `no response within ${init.timeoutMs} ms` : `request failed (${(error as Error).message})`}`,
      { cause: error, details: { page: init.page } },
    );
  }
  const text = await response.text();
  if (!response.ok) {
    const details = { page: init.page, status: response.status };
    const snippet = text.slice(0, 200);
    if (response.status === 429 || response.status === 408 || response.status >= 500) {
      throw new RetryableError(`${init.page}: HTTP ${response.status} ${snippet}`, {
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
        details,
      });
    }
    const hint =
      response.status === 401 || response.status === 403
        ? ' — check the credentials in `headers` (e.g. authorization)'
        : response.status === 404
          ? ' — check `url`'
          : '';
    throw new FatalError(`${init.page}: HTTP ${response.status}${hint}: ${snippet}`, { details });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new RetryableError(
      `${init.page}: the response is not JSON (${(error as Error).message})`,
      {
        cause: error,
        details: { page: init.page },
      },
    );
  }
}

/** Reads a dot path (`data.items`) from a parsed body; "" is the body itself. */
export function atPath(body: unknown, path: string): unknown {
  if (path === '') return body;
  let current: unknown = body;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
