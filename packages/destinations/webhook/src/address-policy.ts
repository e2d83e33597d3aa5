/**
 * Which network addresses the webhook destination may connect to. By default only public
 * unicast addresses are reachable: loopback, private, link-local (incl. the cloud metadata
 * address 169.254.169.254), CGNAT, multicast, unspecified, reserved and their IPv6 equivalents
 * (unique-local, IPv4-mapped, NAT64, 6to4, Teredo, ...) are refused, unless an allow-list entry
 * (a CIDR, an address or a host name) lets them through.
 *
 * @packageDocumentation
 */
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Thrown when a connection would reach a blocked address. Never retried: the target is wrong,
 * not down.
 *
 * @example
 * ```ts
 * try { policy.assertAllowed('localhost', '127.0.0.1'); }
 * catch (err) { if (err instanceof BlockedAddressError) console.log(err.range); } // "loopback"
 * ```
 */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';
  readonly code = 'SLUICE_ERR_WEBHOOK_BLOCKED_ADDRESS';

  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(
      `refusing to connect to ${host === address ? address : `${host} (${address})`}: ` +
        `${range} addresses are blocked (SSRF protection); add the host or a CIDR to ssrf.allow to permit it`,
    );
  }
}

/** Decides per connection whether a resolved address may be used. */
export interface AddressPolicy {
  /** `undefined` when allowed, else the name of the blocked range (`loopback`, `private`, ...). */
  blockedRange(host: string, address: string): string | undefined;
  /** Throws {@link BlockedAddressError} when `address` (resolved from `host`) is blocked. */
  assertAllowed(host: string, address: string): void;
}

/** Options of {@link createAddressPolicy}. */
export interface AddressPolicyOptions {
  /** `false` turns the protection off entirely (every address is allowed). Default `true`. */
  enabled?: boolean;
  /**
   * Exceptions: CIDRs (`10.0.0.0/8`, `fd00::/8`), single addresses (`127.0.0.1`), host names
   * (`hooks.internal`) or host-name suffixes (`*.internal`).
   */
  allow?: readonly string[];
}

/**
 * Parses one allow-list entry; returns an error message when it is neither a CIDR, an address
 * nor a host name. Used by the config schema so a typo is a ConfigError, not a silent deny.
 *
 * @example
 * ```ts
 * allowEntryProblem('10.0.0.0/8');  // undefined
 * allowEntryProblem('10.0.0.0/99'); // "…"
 * ```
 */
export function allowEntryProblem(entry: string): string | undefined {
  if (entry.includes('/')) {
    return ipaddr.isValidCIDR(entry)
      ? undefined
      : `"${entry}" is not a valid CIDR (e.g. 10.0.0.0/8 or fd00::/8)`;
  }
  if (ipaddr.isValid(stripBrackets(entry))) return undefined;
  return /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i.test(
    entry,
  )
    ? undefined
    : `"${entry}" is not a CIDR, an IP address or a host name`;
}

/**
 * Normalises an address: IPv4-mapped IPv6 (`::ffff:127.0.0.1`) becomes the IPv4 it carries, so
 * it meets the IPv4 rules instead of slipping through as "IPv6".
 */
function parseAddress(address: string): Address | undefined {
  const text = stripBrackets(address).replace(/%.*$/, '');
  if (!ipaddr.isValid(text)) return undefined;
  const parsed = ipaddr.parse(text);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed;
}

function stripBrackets(text: string): string {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}

/**
 * Builds the address policy from config.
 *
 * @example
 * ```ts
 * const policy = createAddressPolicy({ allow: ['127.0.0.1/32'] });
 * policy.blockedRange('localhost', '127.0.0.1'); // undefined (allowed)
 * policy.blockedRange('x', '10.1.2.3');          // "private"
 * ```
 */
export function createAddressPolicy(options: AddressPolicyOptions = {}): AddressPolicy {
  const enabled = options.enabled ?? true;
  const cidrs: [Address, number][] = [];
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of options.allow ?? []) {
    const problem = allowEntryProblem(entry);
    if (problem) throw new TypeError(problem);
    if (entry.includes('/')) {
      const [addr, bits] = ipaddr.parseCIDR(entry);
      cidrs.push(
        isMappedBase(addr) && bits >= 96
          ? [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96]
          : [addr, bits],
      );
    } else if (ipaddr.isValid(stripBrackets(entry))) {
      const addr = parseAddress(entry)!;
      cidrs.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
    } else if (entry.startsWith('*.')) {
      suffixes.push(entry.slice(1).toLowerCase().replace(/\.$/, ''));
    } else {
      hosts.add(entry.toLowerCase().replace(/\.$/, ''));
    }
  }

  const hostAllowed = (host: string) => {
    const name = stripBrackets(host).toLowerCase().replace(/\.$/, '');
    return hosts.has(name) || suffixes.some((suffix) => name.endsWith(suffix));
  };

  const blockedRange = (host: string, address: string): string | undefined => {
    if (!enabled) return undefined;
    const parsed = parseAddress(address);
    if (parsed === undefined) return 'unparseable';
    if (hostAllowed(host)) return undefined;
    for (const [base, bits] of cidrs) {
      if (base.kind() === parsed.kind() && parsed.match(base, bits)) return undefined;
    }
    const range = parsed.range();
    return range === 'unicast' ? undefined : range;
  };

  return {
    blockedRange,
    assertAllowed(host, address) {
      const range = blockedRange(host, address);
      if (range !== undefined) throw new BlockedAddressError(host, address, range);
    },
  };
}

function isMappedBase(addr: Address): boolean {
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress();
}
