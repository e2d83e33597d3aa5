import { describe, expect, it } from 'vitest';
import { BlockedAddressError, allowEntryProblem, createAddressPolicy } from './address-policy.js';
import { createGuardedLookup, type ResolveAll } from './guarded-connector.js';

describe('address policy', () => {
  const policy = createAddressPolicy();

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'linkLocal'],
    ['[::ffff:10.0.0.1]', 'private'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['2002:7f00:1::', '6to4'],
  ])('blocks %s (%s)', (address, range) => {
    expect(policy.blockedRange('example.com', address)).toBe(range);
    expect(() => policy.assertAllowed('example.com', address)).toThrow(BlockedAddressError);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.216.34'])(
    'allows public %s',
    (address) => {
      expect(policy.blockedRange('example.com', address)).toBeUndefined();
    },
  );

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
  });

  it('can be switched off explicitly', () => {
    expect(createAddressPolicy({ enabled: false }).blockedRange('x', '127.0.0.1')).toBeUndefined();
  });

  it('validates allow-list entries', () => {
    expect(allowEntryProblem('10.0.0.0/8')).toBeUndefined();
    expect(allowEntryProblem('::1')).toBeUndefined();
    expect(allowEntryProblem('*.example.com')).toBeUndefined();
    expect(allowEntryProblem('10.0.0.0/33')).toMatch(/CIDR/);
    expect(allowEntryProblem('bad host!')).toMatch(/not a CIDR/);
    expect(() => createAddressPolicy({ allow: ['nope/1'] })).toThrow(TypeError);
  });

  it('says what to do in the error', () => {
    expect(() => policy.assertAllowed('metadata.google.internal', '169.254.169.254')).toThrow(
      /metadata\.google\.internal \(169\.254\.169\.254\).*linkLocal.*ssrf\.allow/,
    );
  });
});

describe('guarded DNS lookup (the checked address is the connected one)', () => {
  const fakeResolver =
    (addresses: { address: string; family: number }[]): ResolveAll =>
    (_host, _options, callback) =>
      callback(null, addresses);

  const lookupAll = (resolve: ResolveAll, all: boolean) =>
    new Promise<{ err: Error | null; result: unknown }>((done) => {
      const lookup = createGuardedLookup(createAddressPolicy(), resolve);
      lookup('rebind.example', { all }, (err, address, family) =>
        done({ err, result: all ? address : { address, family } }),
      );
    });

  it('fails when every resolved address is blocked (DNS pointing at the metadata service)', async () => {
    const { err } = await lookupAll(
      fakeResolver([{ address: '169.254.169.254', family: 4 }]),
      true,
    );
    expect(err).toBeInstanceOf(BlockedAddressError);
    expect((err as BlockedAddressError).host).toBe('rebind.example');
  });

  it('drops blocked addresses and hands only allowed ones to connect()', async () => {
    const resolve = fakeResolver([
      { address: '127.0.0.1', family: 4 },
      { address: '93.184.216.34', family: 4 },
      { address: '::ffff:10.0.0.1', family: 6 },
    ]);
    expect((await lookupAll(resolve, true)).result).toEqual([
      { address: '93.184.216.34', family: 4 },
    ]);
    expect((await lookupAll(resolve, false)).result).toEqual({
      address: '93.184.216.34',
      family: 4,
    });
  });

  it('passes DNS errors through', async () => {
    const failing: ResolveAll = (_h, _o, callback) =>
      callback(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), []);
    const { err } = await lookupAll(failing, true);
    expect((err as NodeJS.ErrnoException).code).toBe('ENOTFOUND');
  });
});
