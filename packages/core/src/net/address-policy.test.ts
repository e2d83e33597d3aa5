import { describe, expect, it } from 'vitest';
import { ErrorCodes, FatalError, isRetryable } from '../errors.js';
import {
  BlockedAddressError,
  allowEntryProblem,
  classifyAddress,
  createAddressPolicy,
  findBlockedAddressError,
} from './address-policy.js';

describe('address policy: every address form is judged by what it reaches', () => {
  const policy = createAddressPolicy();

  // [address as a client may see it, blocked range, how an embedded IPv4 address was carried]
  it.each([
    // IPv4 ranges
    ['127.0.0.1', 'loopback', undefined],
    ['127.255.0.9', 'loopback', undefined],
    ['10.1.2.3', 'private', undefined],
    ['172.16.0.1', 'private', undefined],
    ['192.168.1.1', 'private', undefined],
    ['169.254.169.254', 'linkLocal', undefined],
    ['100.64.0.1', 'carrierGradeNat', undefined],
    ['0.0.0.0', 'unspecified', undefined],
    ['0.1.2.3', 'unspecified', undefined],
    ['224.0.0.1', 'multicast', undefined],
    ['255.255.255.255', 'broadcast', undefined],
    ['192.0.2.1', 'reserved', undefined],
    ['240.0.0.1', 'reserved', undefined],
    // inet_aton literals (decimal, hex, octal, short): what getaddrinfo and URL parsing make of them
    ['2130706433', 'loopback', undefined],
    ['0x7f.1', 'loopback', undefined],
    ['0x7f000001', 'loopback', undefined],
    ['0177.0.0.1', 'loopback', undefined],
    ['127.1', 'loopback', undefined],
    ['0xa9.0xfe.0xa9.0xfe', 'linkLocal', undefined],
    ['2852039166', 'linkLocal', undefined],
    // IPv6 ranges
    ['::1', 'loopback', undefined],
    ['[::1]', 'loopback', undefined],
    ['::', 'unspecified', undefined],
    ['fe80::1', 'linkLocal', undefined],
    ['fe80::1%eth0', 'linkLocal', undefined],
    ['fc00::1', 'uniqueLocal', undefined],
    ['fd00:ec2::254', 'uniqueLocal', undefined],
    ['fec0::1', 'deprecatedSiteLocal', undefined],
    ['ff02::1', 'multicast', undefined],
    ['100::1', 'discard', undefined],
    ['2001:db8::1', 'reserved', undefined],
    // IPv4-mapped
    ['::ffff:127.0.0.1', 'loopback', /IPv4-mapped/],
    ['::ffff:7f00:1', 'loopback', /IPv4-mapped/],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback', /IPv4-mapped/],
    ['::ffff:169.254.169.254', 'linkLocal', /IPv4-mapped/],
    ['[::ffff:10.0.0.1]', 'private', /IPv4-mapped/],
    // IPv4-compatible (deprecated ::a.b.c.d): the form that slipped through before
    ['::127.0.0.1', 'loopback', /IPv4-compatible .*carrying 127\.0\.0\.1/],
    ['[::7f00:1]', 'loopback', /IPv4-compatible/],
    ['::169.254.169.254', 'linkLocal', /IPv4-compatible/],
    ['::10.0.0.1', 'private', /IPv4-compatible/],
    ['::8.8.8.8', 'ipv4Compatible', /IPv4-compatible/],
    // IPv4-translated (RFC 6145)
    ['::ffff:0:127.0.0.1', 'loopback', /IPv4-translated/],
    ['::ffff:0:8.8.8.8', 'rfc6145', /IPv4-translated/],
    // NAT64 well-known prefix carrying a blocked address; the local-use prefix whatever it carries
    ['64:ff9b::127.0.0.1', 'loopback', /NAT64/],
    ['64:ff9b::a9fe:a9fe', 'linkLocal', /NAT64/],
    ['[64:ff9b::7f00:1]', 'loopback', /NAT64/],
    ['64:ff9b:1::7f00:1', 'rfc6052', undefined],
    ['64:ff9b:1:ffff::808:808', 'rfc6052', undefined],
    // 6to4 carrying a blocked address
    ['2002:7f00:1::', 'loopback', /6to4 .*carrying 127\.0\.0\.1/],
    ['2002:a9fe:a9fe::1', 'linkLocal', /6to4/],
    ['2002:c0a8:101::1', 'private', /6to4/],
    // Teredo: always (the client address is inverted in the last 32 bits)
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'teredo', /Teredo .*carrying 8\.8\.8\.8/],
    ['2001:0:4136:e378::80ff:fffe', 'loopback', /Teredo .*carrying 127\.0\.0\.1/],
  ])('blocks %s as %s', (address, range, via) => {
    expect(policy.blockedRange('example.com', address)).toBe(range);
    const verdict = policy.verdict('example.com', address);
    if (via === undefined) expect(verdict?.via).toBeUndefined();
    else expect(verdict?.via).toMatch(via);
    const error = policy.check('example.com', address);
    expect(error).toBeInstanceOf(BlockedAddressError);
    expect(error).toMatchObject({
      code: 'SLUICE_ERR_BLOCKED_ADDRESS',
      range,
      address,
      host: 'example.com',
    });
    expect(() => policy.assertAllowed('example.com', address)).toThrow(BlockedAddressError);
  });

  it.each([
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://[::127.0.0.1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[64:ff9b::127.0.0.1]/',
    'http://[2002:7f00:1::]/',
    'http://0/',
  ])('blocks the host WHATWG URL parsing makes of %s', (url) => {
    const host = new URL(url).hostname;
    expect(policy.blockedRange(host, host), host).toMatch(/^(loopback|unspecified)$/);
  });

  it.each([
    '93.184.216.34',
    '8.8.8.8',
    '1.1.1.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:82a::200e',
    '::ffff:93.184.216.34',
    '64:ff9b::808:808', // NAT64 of a public address: how IPv6-only networks reach IPv4 hosts
    '2002:808:808::1', // 6to4 of a public address
  ])('allows public %s', (address) => {
    expect(policy.blockedRange('example.com', address)).toBeUndefined();
    expect(classifyAddress(address)).toBeUndefined();
  });

  it('refuses what is not an address at all', () => {
    expect(policy.blockedRange('x', 'not-an-address')).toBe('unparseable');
  });

  it('treats localhost names as loopback whatever they resolve to', () => {
    for (const host of ['localhost', 'LOCALHOST.', 'api.localhost', 'a.b.localhost']) {
      expect(policy.blockedRange(host, '93.184.216.34'), host).toBe('loopback');
    }
    expect(policy.blockedRange('localhost.example.com', '93.184.216.34')).toBeUndefined();
  });
});

describe('address policy: allow-list', () => {
  it('lets allow-listed CIDRs, addresses, hosts and host suffixes through, nothing else', () => {
    const allowing = createAddressPolicy({
      allow: [
        '10.0.0.0/8',
        '127.0.0.1',
        'hooks.internal',
        '*.svc.cluster.local',
        'fd00::/8',
        '::ffff:192.168.0.0/112',
      ],
    });
    expect(allowing.blockedRange('x', '10.9.9.9')).toBeUndefined();
    expect(allowing.blockedRange('x', '::ffff:10.9.9.9')).toBeUndefined();
    expect(allowing.blockedRange('x', '127.0.0.1')).toBeUndefined();
    expect(allowing.blockedRange('x', '127.0.0.2')).toBe('loopback');
    expect(allowing.blockedRange('HOOKS.internal.', '192.168.1.1')).toBeUndefined();
    expect(allowing.blockedRange('a.b.svc.cluster.local', '172.16.0.1')).toBeUndefined();
    expect(allowing.blockedRange('svc.cluster.local.evil.com', '172.16.0.1')).toBe('private');
    expect(allowing.blockedRange('x', 'fd12::1')).toBeUndefined();
    expect(allowing.blockedRange('x', '192.168.3.4')).toBeUndefined();
    expect(allowing.blockedRange('x', '169.254.169.254')).toBe('linkLocal');
    expect(allowing.blockedRange('x', '[::ffff:169.254.169.254]')).toBe('linkLocal');
  });

  it('opens loopback only by explicit opt-in: an address or CIDR covering it, or localhost itself', () => {
    const byName = createAddressPolicy({ allow: ['hooks.internal', '*.corp.example'] });
    // An allowed name that DNS points at this machine stays blocked (its ports are the server's own).
    expect(byName.blockedRange('hooks.internal', '127.0.0.1')).toBe('loopback');
    expect(byName.blockedRange('a.corp.example', '::1')).toBe('loopback');
    expect(byName.blockedRange('a.corp.example', '0.0.0.0')).toBe('unspecified');
    expect(byName.blockedRange('hooks.internal', '10.1.1.1')).toBeUndefined();

    expect(
      createAddressPolicy({ allow: ['127.0.0.1'] }).blockedRange('localhost', '127.0.0.1'),
    ).toBeUndefined();
    expect(
      createAddressPolicy({ allow: ['127.0.0.0/8'] }).blockedRange('x', '127.9.9.9'),
    ).toBeUndefined();
    expect(
      createAddressPolicy({ allow: ['::1'] }).blockedRange('localhost', '::1'),
    ).toBeUndefined();
    expect(createAddressPolicy({ allow: ['::1'] }).blockedRange('localhost', '127.0.0.1')).toBe(
      'loopback',
    );
    expect(
      createAddressPolicy({ allow: ['localhost'] }).blockedRange('localhost', '127.0.0.1'),
    ).toBeUndefined();
    expect(
      createAddressPolicy({ allow: ['*.localhost'] }).blockedRange('api.localhost', '::1'),
    ).toBeUndefined();
    // The default policy and a policy with unrelated entries keep loopback closed.
    expect(createAddressPolicy().blockedRange('x', '127.0.0.1')).toBe('loopback');
    expect(createAddressPolicy({ allow: ['10.0.0.0/8'] }).blockedRange('x', '127.0.0.1')).toBe(
      'loopback',
    );
  });

  it('can be switched off explicitly', () => {
    expect(createAddressPolicy({ enabled: false }).blockedRange('x', '127.0.0.1')).toBeUndefined();
  });

  it('validates allow-list entries', () => {
    expect(allowEntryProblem('10.0.0.0/8')).toBeUndefined();
    expect(allowEntryProblem('::1')).toBeUndefined();
    expect(allowEntryProblem('[::1]')).toBeUndefined();
    expect(allowEntryProblem('*.example.com')).toBeUndefined();
    expect(allowEntryProblem('10.0.0.0/33')).toMatch(/CIDR/);
    expect(allowEntryProblem('bad host!')).toMatch(/not a CIDR/);
    expect(() => createAddressPolicy({ allow: ['nope/1'] })).toThrow(TypeError);
  });
});

describe('BlockedAddressError', () => {
  const policy = createAddressPolicy();

  it('is a coded, never retried FatalError that says what to do', () => {
    const error = policy.check('metadata.google.internal', '169.254.169.254')!;
    expect(error).toBeInstanceOf(FatalError);
    expect(error.code).toBe(ErrorCodes.blockedAddress);
    expect(isRetryable(error)).toBe(false);
    expect(error.message).toMatch(
      /metadata\.google\.internal \(169\.254\.169\.254\).*linkLocal.*ssrf\.allow/,
    );
    expect(error.toJSON()).toMatchObject({
      code: 'SLUICE_ERR_BLOCKED_ADDRESS',
      details: { host: 'metadata.google.internal', address: '169.254.169.254', range: 'linkLocal' },
    });
  });

  it('names the config key that held the target, and the IPv6 form that carried the address', () => {
    const error = policy.check('::127.0.0.1', '::127.0.0.1')!.forField('apiUrl');
    expect(error.message).toMatch(
      /^apiUrl: refusing to connect to ::127\.0\.0\.1: loopback addresses are blocked \(IPv4-compatible IPv6 address ::7f00:1 carrying 127\.0\.0\.1\)/,
    );
    expect(error.details).toMatchObject({ field: 'apiUrl', range: 'loopback' });
    expect(error.forField('apiUrl')).toBe(error);
  });

  it('is found inside whatever an SDK wraps it in', () => {
    const blocked = policy.check('x', '10.0.0.1')!;
    expect(findBlockedAddressError(blocked)).toBe(blocked);
    expect(findBlockedAddressError(new Error('fetch failed', { cause: blocked }))).toBe(blocked);
    expect(findBlockedAddressError(new AggregateError([new Error('a'), blocked]))).toBe(blocked);
    expect(
      findBlockedAddressError(
        Object.assign(new Error('slack'), { original: new Error('x', { cause: blocked }) }),
      ),
    ).toBe(blocked);
    expect(
      findBlockedAddressError(Object.assign(new Error('gaxios'), { originalError: blocked })),
    ).toBe(blocked);
    expect(findBlockedAddressError(new Error('ECONNREFUSED'))).toBeUndefined();
    const loop: { cause?: unknown } = {};
    loop.cause = loop;
    expect(findBlockedAddressError(loop)).toBeUndefined();
  });
});
