import type { Socket } from 'node:net';
import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';

/**
 * The address a request's anonymous budget is charged to: an IPv4 address as is, an IPv6
 * address by its /64 (what one subscriber usually gets, so rotating addresses inside it does not
 * buy a fresh budget), an IPv4-mapped IPv6 address as the IPv4 address.
 *
 * @example
 * ```ts
 * clientAddress(request); // "203.0.113.7" or "2001:db8:1:2::"
 * ```
 */
export function clientAddress(request: FastifyRequest): string {
  return normalizeIP(request.ip);
}

/** True when a request announces a body (a Content-Length above 0, or a chunked one). */
export function hasPendingBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (
    request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
  );
}

/** How long a connection refused before its body arrived stays half-open, discarding the rest. */
export const LINGER_MS = 2000;

/**
 * Makes every response sent before its request body was received close the connection, so the
 * unread body is never drained for keep-alive, and close it gently: Node destroys the socket as
 * soon as the response is flushed, and with body bytes still unread the kernel answers with a
 * reset that can reach a client still uploading before it read the response (it then sees
 * EPIPE instead of the 401/404/413). Instead the socket sends its FIN after the response and
 * is destroyed after {@link LINGER_MS} at most (a "lingering close", as nginx does it); bytes
 * arriving meanwhile are discarded, never buffered.
 *
 * @example
 * ```ts
 * closeUnreadBodies(app); // once, before routes are registered
 * ```
 */
export function closeUnreadBodies(app: FastifyInstance, lingerMs = LINGER_MS): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (!hasPendingBody(request) || request.raw.complete) return payload;
    void reply.header('connection', 'close');
    const socket = request.raw.socket as Socket & { destroySoon?: () => void };
    // Node's http server calls destroySoon() once a `Connection: close` response is flushed.
    socket.destroySoon = () => {
      if (socket.writable) socket.end();
      const timer = setTimeout(() => socket.destroy(), lingerMs);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    };
    return payload;
  });
}

/**
 * Fixed-window counters by key, for budgets `@fastify/rate-limit` cannot express (counting a
 * request only once its outcome is known). Bounded: past `maxKeys` keys, the oldest window is
 * forgotten first, so a client cycling through keys costs memory it cannot grow.
 *
 * @example
 * ```ts
 * const failures = new WindowCounters({ windowMs: 60_000 });
 * if (failures.retryAfterMs(key, 30) > 0) throw tooMany();
 * failures.add(key);
 * ```
 */
export class WindowCounters {
  // Only set() moves a key in the eviction order (reads peek), so the oldest window goes first.
  private readonly windows: LRUCache<string, { start: number; count: number }>;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: { windowMs?: number; maxKeys?: number; now?: () => number } = {}) {
    this.windowMs = options.windowMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.windows = new LRUCache({ max: options.maxKeys ?? 10_000 });
  }

  /** How many events `key` has in its current window. */
  count(key: string): number {
    return this.current(key)?.count ?? 0;
  }

  /** Milliseconds until `key` is under `max` again; 0 when it already is. */
  retryAfterMs(key: string, max: number): number {
    const window = this.current(key);
    if (!window || window.count < max) return 0;
    return Math.max(1, window.start + this.windowMs - this.now());
  }

  /** Counts one event of `key`. */
  add(key: string): void {
    const window = this.current(key);
    if (window) {
      window.count++;
      return;
    }
    this.windows.set(key, { start: this.now(), count: 1 });
  }

  /** Takes back one event of `key` counted in its current window (none when it has none). */
  remove(key: string): void {
    const window = this.current(key);
    if (window && window.count > 0) window.count--;
  }

  private current(key: string): { start: number; count: number } | undefined {
    const window = this.windows.peek(key);
    if (!window) return undefined;
    if (window.start + this.windowMs <= this.now()) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }
}
