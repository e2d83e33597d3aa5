/**
 * The SSRF guard lives inside the socket connector, not in front of the request: the address
 * that DNS returned is checked and then used for the very same `connect()` call, so a host that
 * resolves to a public address at check time and to 127.0.0.1 a moment later (DNS rebinding)
 * cannot slip through (no time-of-check/time-of-use gap). Every redirect hop opens its
 * connections through the same connector, so every hop is checked too.
 *
 * @packageDocumentation
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { BlockedAddressError, type AddressPolicy } from './address-policy.js';

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
        const range = policy.blockedRange(hostname, entry.address);
        if (range === undefined) allowed.push(entry);
        else firstBlocked ??= new BlockedAddressError(hostname, entry.address, range);
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

/** Options of {@link createGuardedConnector}. */
export interface GuardedConnectorOptions {
  /** Time allowed to establish the TCP (and TLS) connection, in ms. */
  connectTimeoutMs: number;
  /** DNS resolution, replaceable in tests. */
  resolveAll?: ResolveAll;
}

/**
 * An undici connector that refuses blocked addresses: IP-literal hosts are checked directly
 * (Node skips `lookup` for them), names are checked inside the lookup that feeds `connect()`.
 *
 * @example
 * ```ts
 * const agent = new Agent({ connect: createGuardedConnector(createAddressPolicy(), { connectTimeoutMs: 5000 }) });
 * ```
 */
export function createGuardedConnector(
  policy: AddressPolicy,
  options: GuardedConnectorOptions,
): buildConnector.connector {
  const base = buildConnector({
    timeout: options.connectTimeoutMs,
    lookup: createGuardedLookup(policy, options.resolveAll),
  });
  return (connectOptions, callback) => {
    const host = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host) !== 0) {
      const range = policy.blockedRange(host, host);
      if (range !== undefined) {
        const error = new BlockedAddressError(host, host, range);
        process.nextTick(() => callback(error, null));
        return;
      }
    }
    base(connectOptions, callback);
  };
}
