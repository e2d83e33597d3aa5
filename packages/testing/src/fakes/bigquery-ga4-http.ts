/**
 * HTTP plumbing shared by the two Google fakes (BigQuery and GA4): a loopback server, JSON
 * bodies, Google's error envelope, a request log and a queue of injected faults. Kept apart from
 * the fakes so each fake file only describes its API.
 *
 * @packageDocumentation
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A failure the fake should produce instead of (or before) a normal answer.
 *
 * - `rateLimit`: the API's "slow down" answer (BigQuery: 403 `rateLimitExceeded`; GA4: 429
 *   `RESOURCE_EXHAUSTED` about concurrent requests).
 * - `quota`: quota exhausted (BigQuery: 403 `quotaExceeded`; GA4: 429 `RESOURCE_EXHAUSTED` about
 *   property tokens per hour).
 * - `tooManyRequests`: a bare HTTP 429 (with `Retry-After` when `retryAfterSeconds` is set).
 * - `serverError` / `unavailable`: HTTP 500 / 503.
 * - `unauthenticated` / `permissionDenied`: HTTP 401 / 403.
 * - `badRequest`: HTTP 400 `INVALID_ARGUMENT` / `invalidQuery`.
 * - `slow`: waits `delayMs`, then answers normally.
 * - `malformed`: HTTP 200 whose JSON breaks the API's shape (wrong types, missing fields).
 * - `invalidJson`: HTTP 200 whose body is not JSON.
 *
 * @example
 * ```ts
 * fake.inject({ kind: 'rateLimit', times: 2 });            // the next two calls fail
 * fake.inject({ kind: 'slow', delayMs: 500, operation: 'getQueryResults' });
 * ```
 */
export interface FakeFault {
  kind:
    | 'rateLimit'
    | 'quota'
    | 'tooManyRequests'
    | 'serverError'
    | 'unavailable'
    | 'unauthenticated'
    | 'permissionDenied'
    | 'badRequest'
    | 'slow'
    | 'malformed'
    | 'invalidJson';
  /** How many matching requests the fault applies to (default 1; `Infinity` until removed). */
  times?: number;
  /** Only requests of this operation (e.g. `query`, `getQueryResults`, `runReport`); default all. */
  operation?: string;
  /** For `slow` (and as an extra delay before any other fault): milliseconds to wait. */
  delayMs?: number;
  /** Adds a `Retry-After` header (seconds) to the error response. */
  retryAfterSeconds?: number;
  /** Overrides the error message. */
  message?: string;
}

/** Handle of an injected fault. */
export interface FakeFaultHandle {
  /** Stops the fault from applying to further requests. */
  remove(): void;
  /** How many requests the fault has been applied to so far. */
  readonly applied: number;
}

/** One request as the fake received it. */
export interface FakeRequestLogEntry {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body, or `undefined` for bodies-less requests. */
  body: unknown;
  /** The API operation the fake recognised (`query`, `runReport`, ...), or `unknown`. */
  operation: string;
  headers: Record<string, string | string[] | undefined>;
  /** HTTP status the fake answered with. */
  status: number;
}

interface QueuedFault {
  fault: FakeFault;
  remaining: number;
  applied: number;
}

/**
 * A FIFO of injected faults; the first fault matching a request's operation applies.
 *
 * @example
 * ```ts
 * const faults = new FaultQueue();
 * faults.add({ kind: 'serverError' });
 * faults.take('query'); // { kind: 'serverError' }
 * ```
 */
export class FaultQueue {
  readonly #queue: QueuedFault[] = [];

  add(fault: FakeFault): FakeFaultHandle {
    const entry: QueuedFault = { fault, remaining: fault.times ?? 1, applied: 0 };
    this.#queue.push(entry);
    return {
      remove: () => {
        const i = this.#queue.indexOf(entry);
        if (i >= 0) this.#queue.splice(i, 1);
      },
      get applied() {
        return entry.applied;
      },
    };
  }

  take(operation: string): FakeFault | undefined {
    const entry = this.#queue.find(
      (e) =>
        e.remaining > 0 && (e.fault.operation === undefined || e.fault.operation === operation),
    );
    if (!entry) return undefined;
    entry.remaining -= 1;
    entry.applied += 1;
    if (entry.remaining <= 0) this.#queue.splice(this.#queue.indexOf(entry), 1);
    return entry.fault;
  }

  clear(): void {
    this.#queue.length = 0;
  }
}

/** The `{ error: { code, message, status, errors, details } }` envelope Google APIs answer with. */
export function googleError(
  code: number,
  status: string,
  message: string,
  reason?: string,
  domain = 'global',
): { error: Record<string, unknown> } {
  return {
    error: {
      code,
      message,
      status,
      ...(reason === undefined ? {} : { errors: [{ message, domain, reason }] }),
    },
  };
}

/** Sends a JSON body (pre-serialised strings are sent as they are). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Reads and parses a JSON request body; `undefined` when empty. Throws on invalid JSON. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return undefined;
  const text = Buffer.concat(chunks).toString('utf8');
  return text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
}

/** A running loopback HTTP server. */
export interface LoopbackServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Starts an HTTP server on 127.0.0.1 with an ephemeral port. */
export async function startLoopbackServer(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<LoopbackServer> {
  const server = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        sendJson(
          res,
          500,
          googleError(500, 'INTERNAL', `fake server error: ${String(err)}`, 'internalError'),
        );
      } else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Waits `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The bearer token of a request, or `undefined`. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return match?.[1];
}

/**
 * A small deterministic pseudo-random generator (mulberry32 over a 32-bit hash of the inputs),
 * so the fakes can produce the same large data set on every run without storing it.
 */
export function hash32(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const text = String(part);
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0x2f;
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche (from mulberry32) so close inputs give unrelated outputs.
  let t = (h + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** `hash32` scaled to [0, 1). */
export function random01(...parts: (string | number)[]): number {
  return hash32(...parts) / 4294967296;
}
