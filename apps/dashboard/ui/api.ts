// The one way the dashboard talks to the server: the REST API (docs/api.md) with the API key as
// `Authorization: Bearer`, never in a URL, never a cookie.
import { useEffect, useRef, useState } from 'preact/hooks';

/** How often views refresh while they are shown. */
export const POLL_MS = 2000;

/** What an API key may do, from `GET /api/v1/key`. */
export interface KeyInfo {
  name: string;
  scopes: ('read' | 'run' | 'admin')[];
}

export interface Run {
  id: string;
  pipeline: string;
  trigger: string;
  status: string;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  counts: Record<string, unknown>;
  /** Counts by route, destination and expectation; `null` while running and on older runs. */
  breakdown: RunBreakdown | null;
  error: Record<string, unknown> | null;
  attempt: number;
  params: Record<string, unknown> | null;
}

/** A run's counts by route, destination and expectation (`GET /api/v1/runs/{id}`). */
export interface RunBreakdown {
  routes: Record<string, { matched: number }>;
  destinations: Record<string, { delivered: number; failed: number; deadLettered: number }>;
  expectations?: Record<string, Record<string, { checked: number; violations: number }>>;
  /** Per destination and expectation (`destinations.<name>.expect`). */
  destinationExpectations?: Record<string, Record<string, { checked: number; violations: number }>>;
}

/** An API failure, with the API's own message and code. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Calls the API with `key`; JSON in and out; throws {@link ApiFailure} for a non-2xx answer. */
export async function api<T>(
  key: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<T> {
  const response = await fetch(path, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${key}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { message?: string; code?: string } } | undefined)?.error;
    throw new ApiFailure(response.status, error?.message ?? response.statusText, error?.code);
  }
  return body as T;
}

/** A failure as the user reads it: a refused scope says which scope the action needs. */
export function describeFailure(error: unknown, scope?: string): string {
  if (error instanceof ApiFailure && error.status === 403)
    return `Refused (403): this API key may not do that${scope ? ` (it needs the ${scope} scope)` : ''}. ${error.message}`;
  if (error instanceof ApiFailure) return `${error.message} (${error.status})`;
  return (error as Error).message;
}

/** Whether the key holds `scope` (implied scopes are listed by the API). */
export const can = (key: KeyInfo, scope: 'read' | 'run' | 'admin') => key.scopes.includes(scope);

/**
 * Calls `load` now and every {@link POLL_MS} while `active` (default true); returns its latest
 * result or error and a `reload` that polls at once.
 */
export function usePoll<T>(
  load: () => Promise<T>,
  deps: unknown[],
  active: (data: T | undefined) => boolean = () => true,
): { data?: T; error?: string; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  const [tick, setTick] = useState(0);
  const activeRef = useRef(active);
  activeRef.current = active;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let latest: T | undefined;
    const step = async () => {
      try {
        latest = await load();
        if (!stopped) setState({ data: latest });
      } catch (error) {
        if (!stopped) setState((s) => ({ ...s, error: describeFailure(error) }));
      }
      if (!stopped && activeRef.current(latest)) timer = setTimeout(step, POLL_MS);
    };
    void step();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** A date and time in the reader's locale (and a given IANA time zone when there is one). */
export function formatTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return '—';
  // dateStyle/timeStyle cannot be combined with timeZoneName: spell the fields out.
  return new Intl.DateTimeFormat(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    ...(timeZone ? { timeZone, timeZoneName: 'short' } : {}),
  }).format(new Date(iso));
}

/** `#/path?x=1` helpers: views are chosen by the location hash, which never carries the key. */
export const hashPath = (hash: string) => hash.replace(/^#/, '').split('?')[0] || '/';

/** The query of the location hash (`#/dead-letters?pipeline=x`). */
export const hashQuery = (hash: string) => new URLSearchParams(hash.split('?')[1] ?? '');

/** A page of a list answer. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A stored dead letter, as `GET /api/v1/dead-letters` lists it. */
export interface DeadLetter {
  id: string;
  status: 'pending' | 'replayed' | 'discarded';
  pipeline: string;
  runId: string;
  route: string;
  destination: string;
  record: Record<string, unknown>;
  error: { message?: string; code?: string } & Record<string, unknown>;
  attempts: number;
  failedAt: string;
}
