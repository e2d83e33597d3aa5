/**
 * Which network addresses a plugin may connect to. By default only public unicast addresses are
 * reachable: loopback, private, link-local (incl. the cloud metadata address 169.254.169.254),
 * CGNAT, multicast, unspecified, reserved and their IPv6 equivalents are refused, and so is every
 * IPv6 form that carries a blocked IPv4 address inside it (IPv4-mapped `::ffff:127.0.0.1`,
 * IPv4-compatible `::127.0.0.1`, IPv4-translated, NAT64 `64:ff9b::7f00:1`, 6to4 `2002:7f00:1::`)
 * plus the forms whose embedded target cannot be known (Teredo, local-use NAT64). An allow-list
 * entry (a CIDR, an address or a host name) lets a target through; loopback only by an entry that
 * names it explicitly.
 *
 * @packageDocumentation
 */
import ipaddr from 'ipaddr.js';
import { ErrorCodes, FatalError } from '../errors.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Thrown when a connection would reach a blocked address. A {@link FatalError} with its own code
 * (`SLUICE_ERR_BLOCKED_ADDRESS`): never retried, the target is wrong, not down.
 *
 * @example
 * ```ts
 * try { policy.assertAllowed('localhost', '127.0.0.1'); }
 * catch (err) { if (err instanceof BlockedAddressError) console.log(err.range); } // "loopback"
 * ```
 */
export class BlockedAddressError extends FatalError {
  override readonly code = ErrorCodes.blockedAddress;
  override readonly name: string = 'BlockedAddressError';
  /** How the blocked IPv4 address was carried inside an IPv6 address, when it was. */
  readonly via: string | undefined;
  /** The config key named in the message, when one was given. */
  readonly field: string | undefined;

  constructor(
    /** The host as configured (a name or an address literal). */
    readonly host: string,
    /** The address the host resolved to (the literal itself for address hosts). */
    readonly address: string,
    /** Name of the blocked range: `loopback`, `private`, `linkLocal`, `teredo`, ... */
    readonly range: string,
    options: {
      /** The config key the target came from (`url`, `apiUrl`, `smtp.host`): prefixes the message. */
      field?: string;
      /** How the blocked IPv4 address was carried, e.g. `IPv4-compatible IPv6 address ::7f00:1`. */
      via?: string;
      cause?: unknown;
    } = {},
  ) {
    const target = host === address ? address : `${host} (${address})`;
    const via = options.via === undefined ? '' : ` (${options.via})`;
    const hint =
      range === 'loopback' || range === 'unspecified'
        ? 'to permit it, add the address (e.g. 127.0.0.1 or ::1) or a CIDR to ssrf.allow'
        : 'to permit it, add the host or a CIDR to ssrf.allow';
    super(
      `${options.field === undefined ? '' : `${options.field}: `}refusing to connect to ${target}: ` +
        `${range} addresses are blocked${via} (SSRF protection); ${hint}`,
      {
        cause: options.cause,
        details: {
          host,
          address,
          range,
          ...(options.field === undefined ? {} : { field: options.field }),
        },
      },
    );
    this.via = options.via;
    this.field = options.field;
  }

  /**
   * The same refusal with the config key that held the target in front of the message, so the
   * user knows which option to fix.
   *
   * @example
   * ```ts
   * throw blocked.forField('apiUrl'); // "apiUrl: refusing to connect to 169.254.169.254: linkLocal ..."
   * ```
   */
  forField(field: string): BlockedAddressError {
    if (this.field === field) return this;
    return new BlockedAddressError(this.host, this.address, this.range, {
      field,
      ...(this.via === undefined ? {} : { via: this.via }),
      cause: this,
    });
  }
}

/**
 * Finds a {@link BlockedAddressError} inside whatever an SDK threw: the error itself, its
 * `cause` chain, the `errors` of an `AggregateError` (Happy Eyeballs connects), or the
 * `original` / `originalError` an SDK wraps the network error in.
 *
 * @example
 * ```ts
 * catch (err) { const blocked = findBlockedAddressError(err); if (blocked) throw blocked.forField('apiUrl'); }
 * ```
 */
export function findBlockedAddressError(error: unknown): BlockedAddressError | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && seen.size < 32) {
    const current = queue.shift();
    if (current === null || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    if (current instanceof BlockedAddressError) return current;
    const shape = current as {
      cause?: unknown;
      errors?: unknown;
      original?: unknown;
      originalError?: unknown;
    };
    queue.push(shape.cause, shape.original, shape.originalError);
    if (Array.isArray(shape.errors)) queue.push(...(shape.errors as unknown[]));
  }
  return undefined;
}

/** Why an address is refused: the range and, for IPv6 forms carrying an IPv4 address, how. */
export interface AddressVerdict {
  /** Name of the blocked range (`loopback`, `private`, `linkLocal`, `teredo`, ...). */
  range: string;
  /** How a blocked IPv4 address was carried, e.g. `IPv4-compatible IPv6 address ::7f00:1`. */
  via?: string;
}

/** Decides per connection whether a resolved address may be used. */
export interface AddressPolicy {
  /** `undefined` when allowed, else the name of the blocked range (`loopback`, `private`, ...). */
  blockedRange(host: string, address: string): string | undefined;
  /** Like {@link AddressPolicy.blockedRange}, with how an embedded IPv4 address was carried. */
  verdict(host: string, address: string): AddressVerdict | undefined;
  /** Throws {@link BlockedAddressError} when `address` (resolved from `host`) is blocked. */
  assertAllowed(host: string, address: string): void;
  /** The error for a blocked address, or `undefined` when it is allowed. */
  check(host: string, address: string): BlockedAddressError | undefined;
}

/**
 * Options of {@link createAddressPolicy}: the shape of every plugin's `ssrf` config option.
 *
 * @example
 * ```ts
 * const options: AddressPolicyOptions = { allow: ['10.20.0.0/16', 'hooks.internal', '127.0.0.1'] };
 * ```
 */
export interface AddressPolicyOptions {
  /** `false` turns the protection off entirely (every address is allowed). Default `true`. */
  enabled?: boolean;
  /**
   * Exceptions: CIDRs (`10.0.0.0/8`, `fd00::/8`), single addresses (`127.0.0.1`), host names
   * (`hooks.internal`) or host-name suffixes (`*.internal`). Host names never open loopback
   * (that would let a DNS record point an allowed name at this machine); only an address or
   * CIDR entry covering it, or the name `localhost` itself, does.
   */
  allow?: readonly string[];
}

const HOST_NAME =
  /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i;

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
    return ipaddr.isValidCIDR(stripBrackets(entry))
      ? undefined
      : `"${entry}" is not a valid CIDR (e.g. 10.0.0.0/8 or fd00::/8)`;
  }
  if (ipaddr.isValid(stripBrackets(entry))) return undefined;
  return HOST_NAME.test(entry)
    ? undefined
    : `"${entry}" is not a CIDR, an IP address or a host name`;
}

function stripBrackets(text: string): string {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}

const DOTTED_TAIL = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Rewrites an IPv6 literal's dotted IPv4 tail as two hex groups (`::127.0.0.1` -> `::7f00:1`), as
 * inet_pton and URL parsing read it. ipaddr.js 2.x parses `::a.b.c.d` as the IPv4-*mapped*
 * `::ffff:a.b.c.d`, which is a different address.
 */
function normaliseDottedTail(text: string): string {
  const match = DOTTED_TAIL.exec(text);
  if (!match) return text;
  const octets = match.slice(2, 6).map(Number);
  if (octets.some((octet) => octet > 255)) return text;
  const [a, b, c, d] = octets as [number, number, number, number];
  return `${match[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/** Parses an address literal (brackets and an IPv6 zone id allowed); `undefined` when it is none. */
function parseAddress(address: string): Address | undefined {
  const text = normaliseDottedTail(stripBrackets(address).replace(/%.*$/, ''));
  // ipaddr.js also reads the inet_aton forms ("127.1", "0x7f.1", "2130706433") the way URL
  // parsing and getaddrinfo do, so a literal in any of those forms is judged by what it reaches.
  if (!ipaddr.isValid(text)) return undefined;
  return ipaddr.parse(text);
}

/**
 * The canonical form of an address literal (`0x7f.1` -> `127.0.0.1`, `[::127.0.0.1]` ->
 * `::7f00:1`), or `undefined` for a host name. Internal to `@sluice/core/net`.
 */
export function parseAddressLiteral(host: string): { address: string; family: 4 | 6 } | undefined {
  const parsed = parseAddress(host);
  if (parsed === undefined) return undefined;
  return { address: parsed.toString(), family: parsed.kind() === 'ipv4' ? 4 : 6 };
}

function v4FromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** An IPv6 address that carries an IPv4 address, and how. */
interface Embedding {
  v4: ipaddr.IPv4;
  form: string;
  /** The form itself is refused whatever it carries (deprecated or not routable to a known target). */
  alwaysBlocked: boolean;
}

/**
 * The IPv4 address carried by an IPv6 transition form. IPv4-mapped is handled by the caller (it
 * *is* the IPv4 address to the socket layer).
 */
function embeddedV4(address: ipaddr.IPv6): Embedding | undefined {
  const w = address.parts;
  const zeros = (from: number, to: number) => w.slice(from, to).every((part) => part === 0);
  // ::a.b.c.d (RFC 4291 "IPv4-compatible", deprecated); :: and ::1 are unspecified / loopback.
  if (zeros(0, 6) && !(w[6] === 0 && (w[7] === 0 || w[7] === 1))) {
    return {
      v4: v4FromWords(w[6]!, w[7]!),
      form: 'IPv4-compatible IPv6 address',
      alwaysBlocked: true,
    };
  }
  // ::ffff:0:a.b.c.d (RFC 6145 "IPv4-translated").
  if (zeros(0, 4) && w[4] === 0xffff && w[5] === 0) {
    return {
      v4: v4FromWords(w[6]!, w[7]!),
      form: 'IPv4-translated IPv6 address',
      alwaysBlocked: true,
    };
  }
  // 64:ff9b::a.b.c.d (RFC 6052 well-known NAT64 prefix): DNS64 maps public IPv4 hosts here.
  if (w[0] === 0x64 && w[1] === 0xff9b && zeros(2, 6)) {
    return { v4: v4FromWords(w[6]!, w[7]!), form: 'NAT64 IPv6 address', alwaysBlocked: false };
  }
  // 2002:aabb:ccdd::/48 (RFC 3056 6to4): the site's IPv4 address follows the prefix.
  if (w[0] === 0x2002) {
    return { v4: v4FromWords(w[1]!, w[2]!), form: '6to4 IPv6 address', alwaysBlocked: false };
  }
  // 2001:0::/32 (RFC 4380 Teredo): the client's IPv4 address, inverted, in the last 32 bits.
  if (w[0] === 0x2001 && w[1] === 0) {
    return {
      v4: v4FromWords(~w[6]! & 0xffff, ~w[7]! & 0xffff),
      form: 'Teredo IPv6 address',
      alwaysBlocked: true,
    };
  }
  return undefined;
}

/** Ranges of IPv6 forms refused whatever they carry, by the name reported when the carried IPv4 is public. */
const FORM_RANGE: Record<string, string> = {
  'IPv4-compatible IPv6 address': 'ipv4Compatible',
  'IPv4-translated IPv6 address': 'rfc6145',
  'Teredo IPv6 address': 'teredo',
};

/**
 * Classifies an address with no allow-list: `undefined` for a public unicast address, else why
 * it is refused. Every IPv6 form that carries an IPv4 address is judged by that IPv4 address too.
 *
 * @example
 * ```ts
 * classifyAddress('8.8.8.8');          // undefined
 * classifyAddress('::127.0.0.1');      // { range: 'loopback', via: 'IPv4-compatible IPv6 address ::7f00:1' }
 * classifyAddress('64:ff9b::a9fe:a9fe'); // { range: 'linkLocal', via: 'NAT64 IPv6 address 64:ff9b::a9fe:a9fe' }
 * ```
 */
export function classifyAddress(address: string): AddressVerdict | undefined {
  const parsed = parseAddress(address);
  if (parsed === undefined) return { range: 'unparseable' };
  return classifyParsed(parsed);
}

function classifyParsed(parsed: Address): AddressVerdict | undefined {
  if (parsed.kind() === 'ipv4') {
    const range = parsed.range();
    return range === 'unicast' ? undefined : { range };
  }
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) {
    const inner = classifyParsed(v6.toIPv4Address());
    return inner === undefined
      ? undefined
      : { range: inner.range, via: `IPv4-mapped IPv6 address ${v6.toString()}` };
  }
  const embedding = embeddedV4(v6);
  if (embedding) {
    const inner = classifyParsed(embedding.v4);
    const via = `${embedding.form} ${v6.toString()} carrying ${embedding.v4.toString()}`;
    if (inner !== undefined) return { range: inner.range, via };
    if (embedding.alwaysBlocked) return { range: FORM_RANGE[embedding.form]!, via };
    return undefined;
  }
  const range = v6.range();
  // rfc6052 here is the local-use NAT64 prefix 64:ff9b:1::/48, whose embedding depends on a
  // prefix length only the operator knows: refuse it rather than guess.
  return range === 'unicast' ? undefined : { range };
}

/** `localhost` and `*.localhost` always mean this machine (RFC 6761), whatever DNS says. */
function isLocalhostName(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost');
}

function normaliseHost(host: string): string {
  return stripBrackets(host).toLowerCase().replace(/\.$/, '');
}

/**
 * Builds the address policy from config (the `ssrf` option of a plugin).
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
    const bare = stripBrackets(entry);
    if (bare.includes('/')) {
      const [base, length] = bare.split('/') as [string, string];
      const [addr, bits] = ipaddr.parseCIDR(`${normaliseDottedTail(base)}/${length}`);
      const mapped =
        addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96;
      cidrs.push(mapped ? [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96] : [addr, bits]);
    } else if (ipaddr.isValid(bare)) {
      const addr = toComparable(parseAddress(bare)!);
      cidrs.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
    } else if (entry.startsWith('*.')) {
      suffixes.push(normaliseHost(entry.slice(1)));
    } else {
      hosts.add(normaliseHost(entry));
    }
  }

  const hostEntryFor = (host: string): string | undefined => {
    const name = normaliseHost(host);
    if (hosts.has(name)) return name;
    return suffixes.find((suffix) => name.endsWith(suffix));
  };
  const cidrAllows = (address: Address) =>
    cidrs.some(([base, bits]) => base.kind() === address.kind() && address.match(base, bits));

  const verdict = (host: string, address: string): AddressVerdict | undefined => {
    if (!enabled) return undefined;
    const parsed = parseAddress(address);
    if (parsed === undefined) return { range: 'unparseable' };
    const comparable = toComparable(parsed);
    if (cidrAllows(comparable)) return undefined;
    const name = normaliseHost(host);
    const found =
      classifyParsed(parsed) ?? (isLocalhostName(name) ? { range: 'loopback' } : undefined);
    if (found === undefined) return undefined;
    const entry = hostEntryFor(host);
    if (entry === undefined) return found;
    // A host-name entry opens internal ranges for that name, but never this machine, unless the
    // entry is a localhost name itself: "allow: [hooks.internal]" must not become a way to reach
    // the server's own ports through a DNS record.
    const thisMachine = found.range === 'loopback' || found.range === 'unspecified';
    if (thisMachine && !isLocalhostName(entry.replace(/^\./, ''))) return found;
    return undefined;
  };

  const check = (host: string, address: string): BlockedAddressError | undefined => {
    const found = verdict(host, address);
    if (found === undefined) return undefined;
    return new BlockedAddressError(
      host,
      address,
      found.range,
      found.via === undefined ? {} : { via: found.via },
    );
  };

  return {
    verdict,
    blockedRange: (host, address) => verdict(host, address)?.range,
    check,
    assertAllowed(host, address) {
      const error = check(host, address);
      if (error) throw error;
    },
  };
}

/** IPv4-mapped addresses are compared as the IPv4 address they carry (that is what they reach). */
function toComparable(address: Address): Address {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address;
}
