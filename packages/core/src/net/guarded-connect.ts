/**
 * The one low-level mechanism behind every outgoing connection a plugin opens from config: a
 * guarded `lookup` (Node's `net.LookupFunction`). The address DNS returned is checked against the
 * policy and then used by the very same `connect()` call, so a host that resolves to a public
 * address at check time and to 127.0.0.1 a moment later (DNS rebinding) cannot slip through: there
 * is no time-of-check/time-of-use gap. Literal addresses, which `connect()` never resolves, are
 * checked before the socket is opened. The helpers below hand that lookup to each kind of client:
 * an undici connector, `http.Agent` / `https.Agent`, or a plain TCP socket.
 *
 * @packageDocumentation
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import {
  Agent as HttpAgent,
  type AgentOptions as HttpAgentOptions,
  type ClientRequestArgs,
} from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import { connect as netConnect, type LookupFunction, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BlockedAddressError, parseAddressLiteral, type AddressPolicy } from './address-policy.js';

/** Resolves every address of a host, the shape of `dns.lookup(host, { all: true }, cb)`. */
export type ResolveAll = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

const systemResolveAll: ResolveAll = (hostname, options, callback) =>
  dnsLookup(hostname, options, callback);

/**
 * Wraps DNS resolution so only addresses the policy allows come back. Blocked addresses are
 * filtered out; when none is left the lookup fails with {@link BlockedAddressError}.
 *
 * @example
 * ```ts
 * const lookup = createGuardedLookup(createAddressPolicy());
 * net.connect({ host: 'example.com', port: 80, lookup });
 * ```
 */
export function createGuardedLookup(
  policy: AddressPolicy,
  resolveAll: ResolveAll = systemResolveAll,
): LookupFunction {
  return (hostname, options, callback) => {
    resolveAll(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const allowed: LookupAddress[] = [];
      let firstBlocked: BlockedAddressError | undefined;
      for (const entry of addresses) {
        const blocked = policy.check(hostname, entry.address);
        if (blocked === undefined) allowed.push(entry);
        else firstBlocked ??= blocked;
      }
      if (allowed.length === 0) {
        const error =
          firstBlocked ??
          Object.assign(new Error(`no address found for ${hostname}`), { code: 'ENOTFOUND' });
        return callback(error as NodeJS.ErrnoException, '', 0);
      }
      if (options.all) {
        (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      } else {
        callback(null, allowed[0]!.address, allowed[0]!.family);
      }
    });
  };
}

/**
 * Checks a host that is an address literal (`127.0.0.1`, `[::127.0.0.1]`, and the inet_aton forms
 * `2130706433`, `0x7f.1`, `127.1`); `connect()` skips `lookup` for literals, so this runs before
 * every socket is opened. Host names return `undefined`: the guarded lookup judges what they
 * resolve to.
 *
 * @example
 * ```ts
 * checkLiteralHost(policy, '[::ffff:169.254.169.254]'); // BlockedAddressError (linkLocal)
 * checkLiteralHost(policy, 'hooks.example.com');        // undefined
 * ```
 */
export function checkLiteralHost(
  policy: AddressPolicy,
  host: string,
): BlockedAddressError | undefined {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (parseAddressLiteral(bare) === undefined) return undefined;
  return policy.check(bare, bare);
}

/**
 * Resolves `host` through the guard and returns the allowed addresses, or rejects with
 * {@link BlockedAddressError} (or the DNS error). For connection checks that send nothing, and for
 * clients that must be handed an address instead of a lookup.
 *
 * @example
 * ```ts
 * const [first] = await resolveAllowed(policy, 'smtp.example.com'); // { address, family }
 * ```
 */
export function resolveAllowed(
  policy: AddressPolicy,
  host: string,
  resolveAll?: ResolveAll,
): Promise<LookupAddress[]> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  const literal = checkLiteralHost(policy, bare);
  if (literal) return Promise.reject(literal);
  const literalAddress = parseAddressLiteral(bare);
  if (literalAddress) return Promise.resolve([literalAddress]);
  const lookup = createGuardedLookup(policy, resolveAll);
  return new Promise((resolve, reject) => {
    lookup(bare, { all: true }, (err, addresses) => {
      if (err) reject(err);
      else resolve(addresses as unknown as LookupAddress[]);
    });
  });
}

/**
 * For SDKs that open their own connections and take neither a lookup nor an agent (the Google
 * Cloud clients): resolves the URL's host through the guard right before each call and throws
 * the {@link BlockedAddressError} (prefixed with `field`) when it is blocked. DNS failures are
 * left to the SDK to report. Weaker than the lookup-based helpers: the SDK resolves the name
 * again, so a DNS answer that changes between this check and its lookup (rebinding) is not
 * caught; a literal or a name that simply points inside is.
 *
 * @example
 * ```ts
 * await preflightUrl(policy, config.apiEndpoint, 'apiEndpoint');
 * const [rows] = await bigquery.query(query);
 * ```
 */
export async function preflightUrl(
  policy: AddressPolicy,
  url: string,
  field: string,
  resolveAll?: ResolveAll,
): Promise<void> {
  const host = new URL(url).hostname;
  try {
    await resolveAllowed(policy, host, resolveAll);
  } catch (err) {
    if (err instanceof BlockedAddressError) throw err.forField(field);
  }
}

/** Options of the guarded agents: Node's agent options plus a replaceable resolver (tests). */
export interface GuardedAgentOptions {
  /** DNS resolution, replaceable in tests. */
  resolveAll?: ResolveAll;
}

type CreateConnectionCallback = (err: Error | null, stream: Duplex) => void;

/**
 * An `http.Agent` whose every connection goes through the guard: literal hosts are checked before
 * connecting, names inside the lookup that feeds `connect()`. Give it to any client that takes an
 * `agent` (prom-client's Pushgateway, the HubSpot SDK's `httpAgent`, the AWS SDK's
 * `NodeHttpHandler`).
 *
 * @example
 * ```ts
 * const agent = createGuardedHttpAgent(createAddressPolicy(config.ssrf), { keepAlive: true });
 * http.request('http://pushgateway:9091/metrics', { agent });
 * ```
 */
export function createGuardedHttpAgent(
  policy: AddressPolicy,
  options: HttpAgentOptions & GuardedAgentOptions = {},
): HttpAgent {
  const { resolveAll, ...agentOptions } = options;
  const lookup = createGuardedLookup(policy, resolveAll);
  return new (class GuardedHttpAgent extends HttpAgent {
    override createConnection(
      connectOptions: ClientRequestArgs,
      callback?: CreateConnectionCallback,
    ): Duplex | null | undefined {
      return guardedCreateConnection(policy, lookup, connectOptions, callback, (opts, cb) =>
        super.createConnection(opts, cb),
      );
    }
  })({ ...agentOptions, lookup });
}

/**
 * The `https.Agent` counterpart of {@link createGuardedHttpAgent}; TLS still verifies the
 * certificate against the configured host name (SNI and checks use the name, the socket the
 * checked address).
 *
 * @example
 * ```ts
 * const httpsAgent = createGuardedHttpsAgent(policy, { keepAlive: true });
 * ```
 */
export function createGuardedHttpsAgent(
  policy: AddressPolicy,
  options: HttpsAgentOptions & GuardedAgentOptions = {},
): HttpsAgent {
  const { resolveAll, ...agentOptions } = options;
  const lookup = createGuardedLookup(policy, resolveAll);
  return new (class GuardedHttpsAgent extends HttpsAgent {
    override createConnection(
      connectOptions: ClientRequestArgs,
      callback?: CreateConnectionCallback,
    ): Duplex | null | undefined {
      return guardedCreateConnection(policy, lookup, connectOptions, callback, (opts, cb) =>
        super.createConnection(opts, cb),
      );
    }
  })({ ...agentOptions, lookup });
}

/**
 * Both agents for clients that pick one by the URL's protocol (the AWS SDK's
 * `requestHandler: { httpAgent, httpsAgent }`), or the one for a given URL.
 *
 * @example
 * ```ts
 * const agents = createGuardedAgents(policy, { keepAlive: true });
 * new S3Client({ requestHandler: { httpAgent: agents.http, httpsAgent: agents.https } });
 * agents.for('https://api.hubapi.com'); // the https agent
 * ```
 */
export function createGuardedAgents(
  policy: AddressPolicy,
  options: HttpAgentOptions & GuardedAgentOptions = {},
): {
  http: HttpAgent;
  https: HttpsAgent;
  for(url: string | URL): HttpAgent | HttpsAgent;
  destroy(): void;
} {
  const http = createGuardedHttpAgent(policy, options);
  const https = createGuardedHttpsAgent(policy, options);
  return {
    http,
    https,
    for: (url) => (new URL(url).protocol === 'http:' ? http : https),
    destroy() {
      http.destroy();
      https.destroy();
    },
  };
}

function guardedCreateConnection(
  policy: AddressPolicy,
  lookup: LookupFunction,
  options: ClientRequestArgs,
  callback: CreateConnectionCallback | undefined,
  connect: (
    options: ClientRequestArgs,
    callback?: CreateConnectionCallback,
  ) => Duplex | null | undefined,
): Duplex | null | undefined {
  const host = options.host ?? options.hostname ?? 'localhost';
  const blocked = options.socketPath === undefined ? checkLiteralHost(policy, host) : undefined;
  if (options.socketPath !== undefined || blocked) {
    // Returning no socket and reporting the error is how an Agent refuses a connection: the
    // request emits it as its 'error'.
    const error =
      blocked ?? new BlockedAddressError(options.socketPath!, options.socketPath!, 'unixSocket');
    if (callback) callback(error, undefined as unknown as Duplex);
    else throw error;
    return undefined;
  }
  return connect({ ...options, lookup } as ClientRequestArgs, callback);
}

/** The structural shape of an undici connector (`buildConnector.connector`): core does not depend on undici. */
export type ConnectorLike = (options: never, callback: never) => void;

/**
 * Wraps an undici connector so literal hosts are checked before connecting; names are checked by
 * the guarded lookup the connector was built with. Every redirect hop an undici `Agent` follows
 * opens its connections through the same connector, so every hop is checked.
 *
 * @example
 * ```ts
 * import { Agent, buildConnector } from 'undici';
 * const connect = createGuardedConnector(policy, buildConnector, { connectTimeoutMs: 5000 });
 * const dispatcher = new Agent({ connect });
 * ```
 */
export function createGuardedConnector<C extends ConnectorLike>(
  policy: AddressPolicy,
  buildConnector: (options: { timeout?: number; lookup: LookupFunction }) => C,
  options: { connectTimeoutMs?: number; resolveAll?: ResolveAll } = {},
): C {
  const base = buildConnector({
    ...(options.connectTimeoutMs === undefined ? {} : { timeout: options.connectTimeoutMs }),
    lookup: createGuardedLookup(policy, options.resolveAll),
  });
  // undici calls the connector with `{ hostname, host, protocol, port, servername, ... }` and a
  // node-style callback.
  const guarded = (
    connectOptions: { hostname: string },
    callback: (error: Error, socket: null) => void,
  ) => {
    const blocked = checkLiteralHost(policy, connectOptions.hostname);
    if (blocked) {
      process.nextTick(() => callback(blocked, null));
      return;
    }
    base(connectOptions as never, callback as never);
  };
  return guarded as unknown as C;
}

/** Options of {@link connectGuardedSocket}. */
export interface GuardedSocketOptions {
  host: string;
  port: number;
  /** Time allowed to establish the TCP connection. */
  timeoutMs?: number;
  signal?: AbortSignal;
  resolveAll?: ResolveAll;
}

/**
 * Opens a plain TCP socket through the guard and resolves once it is connected; for clients that
 * do their own DNS lookups but accept an already connected socket (nodemailer's `getSocket`).
 * TLS, when wanted, is negotiated by the client over this socket against the configured name.
 *
 * @example
 * ```ts
 * const socket = await connectGuardedSocket(policy, { host: 'smtp.example.com', port: 587, timeoutMs: 10_000 });
 * ```
 */
export function connectGuardedSocket(
  policy: AddressPolicy,
  options: GuardedSocketOptions,
): Promise<Socket> {
  const blocked = checkLiteralHost(policy, options.host);
  if (blocked) return Promise.reject(blocked);
  return new Promise((resolve, reject) => {
    const host = options.host.replace(/^\[(.*)\]$/, '$1');
    const socket = netConnect({
      host,
      port: options.port,
      lookup: createGuardedLookup(policy, options.resolveAll),
    });
    let timer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      socket.off('error', onError);
      socket.off('connect', onConnect);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const onError = (error: Error) => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onConnect = () => {
      cleanup();
      // The client attaches its own handlers right away; this one only keeps an error that
      // arrives after it let go of the socket from crashing the process.
      socket.on('error', () => {});
      resolve(socket);
    };
    const onAbort = () =>
      onError(
        options.signal!.reason instanceof Error ? options.signal!.reason : new Error('aborted'),
      );
    socket.once('error', onError);
    socket.once('connect', onConnect);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(
        () =>
          onError(
            Object.assign(
              new Error(
                `connecting to ${options.host}:${options.port} timed out after ${options.timeoutMs} ms`,
              ),
              { code: 'ETIMEDOUT' },
            ),
          ),
        options.timeoutMs,
      );
    }
  });
}
