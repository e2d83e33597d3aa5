import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer, type LookupFunction, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockedAddressError, createAddressPolicy } from './address-policy.js';
import {
  checkLiteralHost,
  connectGuardedSocket,
  createGuardedAgents,
  createGuardedConnector,
  createGuardedHttpAgent,
  createGuardedHttpsAgent,
  createGuardedLookup,
  preflightUrl,
  resolveAllowed,
  type ResolveAll,
} from './guarded-connect.js';

/** A loopback HTTP/1.1 listener that counts every TCP connection it accepts. */
let server: Server;
let port = 0;
let accepted = 0;
beforeAll(async () => {
  server = createServer((socket) => {
    accepted++;
    socket.once('data', () =>
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'),
    );
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '::', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const fakeResolver =
  (addresses: { address: string; family: number }[]): ResolveAll =>
  (_host, _options, callback) =>
    callback(null, addresses);

function request(get: typeof httpGet, url: string, agent: object): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: agent as never }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
    });
    req.on('error', reject);
  });
}

async function acceptedDuring(action: () => Promise<unknown>): Promise<number> {
  const before = accepted;
  await action().catch(() => undefined);
  // Give a connection that did get through the time to be accepted.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return accepted - before;
}

describe('guarded DNS lookup (the checked address is the connected one)', () => {
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
    expect(err).toMatchObject({
      host: 'rebind.example',
      range: 'linkLocal',
      code: 'SLUICE_ERR_BLOCKED_ADDRESS',
    });
  });

  it('drops blocked addresses (every IPv6 form) and hands only allowed ones to connect()', async () => {
    const resolve = fakeResolver([
      { address: '127.0.0.1', family: 4 },
      { address: '::7f00:1', family: 6 },
      { address: '64:ff9b::a9fe:a9fe', family: 6 },
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

  it('resolves with the system resolver: localhost is loopback, refused without opt-in', async () => {
    await expect(resolveAllowed(createAddressPolicy(), 'localhost')).rejects.toMatchObject({
      range: 'loopback',
    });
    await expect(
      resolveAllowed(createAddressPolicy({ allow: ['localhost'] }), 'localhost'),
    ).resolves.not.toHaveLength(0);
    await expect(resolveAllowed(createAddressPolicy(), '0x7f.1')).rejects.toBeInstanceOf(
      BlockedAddressError,
    );
    await expect(
      resolveAllowed(createAddressPolicy({ allow: ['127.0.0.1'] }), '0x7f.1'),
    ).resolves.toEqual([{ address: '127.0.0.1', family: 4 }]);
  });
});

describe('literal hosts (connect() skips lookup for them)', () => {
  const policy = createAddressPolicy();
  it.each([
    '127.0.0.1',
    '[::1]',
    '[::127.0.0.1]',
    '[::7f00:1]',
    '::ffff:127.0.0.1',
    '2130706433',
    '0x7f.1',
    '127.1',
    '[64:ff9b::7f00:1]',
    '[2002:a9fe:a9fe::]',
    '0.0.0.0',
  ])('refuses %s before any socket is opened', (host) => {
    expect(checkLiteralHost(policy, host)).toBeInstanceOf(BlockedAddressError);
  });
  it('leaves host names to the lookup', () => {
    expect(checkLiteralHost(policy, 'hooks.example.com')).toBeUndefined();
    expect(checkLiteralHost(policy, '93.184.216.34')).toBeUndefined();
  });
});

describe('guarded http(s) agents against a listening loopback server', () => {
  it.each([
    ['the address', () => `http://127.0.0.1:${port}/`],
    ['IPv4-mapped IPv6', () => `http://[::ffff:127.0.0.1]:${port}/`],
    ['IPv6 loopback', () => `http://[::1]:${port}/`],
    ['localhost', () => `http://localhost:${port}/`],
    [
      'decimal IPv4 (legacy url.parse keeps it, getaddrinfo reads it)',
      () => `http://2130706433:${port}/`,
    ],
  ])('refuses loopback by %s: the server accepts no connection', async (_form, url) => {
    const agent = createGuardedHttpAgent(createAddressPolicy());
    let error: unknown;
    const count = await acceptedDuring(() =>
      request(httpGet, url(), agent).catch((err: unknown) => (error = err)),
    );
    expect(count).toBe(0);
    expect(error).toBeInstanceOf(BlockedAddressError);
    expect(error).toMatchObject({ code: 'SLUICE_ERR_BLOCKED_ADDRESS' });
    agent.destroy();
  });

  it('refuses a legacy-parsed host string the WHATWG parser would have rewritten', async () => {
    const agent = createGuardedHttpAgent(createAddressPolicy());
    let error: unknown;
    const count = await acceptedDuring(
      () =>
        new Promise((resolve, reject) => {
          const req = httpGet({ host: '0x7f.1', port, path: '/', agent }, resolve);
          req.on('error', (err) => reject((error = err)));
        }),
    );
    expect(count).toBe(0);
    expect(error).toMatchObject({ range: 'loopback' });
    agent.destroy();
  });

  it('connects with the explicit loopback opt-in', async () => {
    const agent = createGuardedHttpAgent(createAddressPolicy({ allow: ['127.0.0.1', '::1'] }));
    const count = await acceptedDuring(async () => {
      expect((await request(httpGet, `http://127.0.0.1:${port}/`, agent)).statusCode).toBe(200);
      expect((await request(httpGet, `http://localhost:${port}/`, agent)).statusCode).toBe(200);
    });
    expect(count).toBe(2);
    agent.destroy();
  });

  it('re-checks a name on every connection: DNS that turns to loopback later is refused (rebinding)', async () => {
    let answer = '93.184.216.34';
    const resolveAll: ResolveAll = (_h, _o, callback) =>
      callback(null, [{ address: answer, family: 4 }]);
    const seen: string[] = [];
    const lookup = createGuardedLookup(createAddressPolicy(), resolveAll);
    const probe = (): Promise<string> =>
      new Promise((resolve) =>
        lookup('rebind.example', { all: false }, (err, address) =>
          resolve(err ? (err as BlockedAddressError).range : (address as string)),
        ),
      );
    seen.push(await probe());
    answer = '127.0.0.1';
    seen.push(await probe());
    expect(seen).toEqual(['93.184.216.34', 'loopback']);
  });

  it('https agent: refuses blocked literals and names the same way', async () => {
    const agent = createGuardedHttpsAgent(createAddressPolicy());
    for (const url of [
      `https://127.0.0.1:${port}/`,
      `https://localhost:${port}/`,
      `https://[::ffff:7f00:1]:${port}/`,
    ]) {
      let error: unknown;
      const count = await acceptedDuring(() =>
        request(httpsGet, url, agent).catch((err: unknown) => (error = err)),
      );
      expect(count, url).toBe(0);
      expect(error, url).toBeInstanceOf(BlockedAddressError);
    }
    agent.destroy();
  });

  it('createGuardedAgents picks the agent by protocol', () => {
    const agents = createGuardedAgents(createAddressPolicy());
    expect(agents.for('http://x.example/')).toBe(agents.http);
    expect(agents.for('https://x.example/')).toBe(agents.https);
    agents.destroy();
  });
});

describe('guarded undici connector (structural: core does not depend on undici)', () => {
  it('checks literals before connecting and builds the connector with the guarded lookup', async () => {
    const built: { timeout?: number; lookup: LookupFunction }[] = [];
    const reached: string[] = [];
    const fakeBuild = (options: { timeout?: number; lookup: LookupFunction }) => {
      built.push(options);
      return (
        connectOptions: { hostname: string },
        callback: (error: Error | null, socket: null) => void,
      ) => {
        reached.push(connectOptions.hostname);
        callback(null, null);
      };
    };
    const connect = createGuardedConnector(createAddressPolicy(), fakeBuild, {
      connectTimeoutMs: 1234,
    });
    expect(built).toHaveLength(1);
    expect(built[0]!.timeout).toBe(1234);
    const outcome = (hostname: string) =>
      new Promise<Error | null>((resolve) =>
        connect({ hostname }, (error: Error | null) => resolve(error)),
      );
    expect(await outcome('[::127.0.0.1]')).toBeInstanceOf(BlockedAddressError);
    expect(await outcome('127.0.0.1')).toBeInstanceOf(BlockedAddressError);
    expect(await outcome('hooks.example.com')).toBeNull();
    expect(reached).toEqual(['hooks.example.com']);
    const viaLookup = await new Promise<Error | null>((resolve) =>
      built[0]!.lookup('localhost', { all: true }, (err) => resolve(err)),
    );
    expect(viaLookup).toBeInstanceOf(BlockedAddressError);
  });
});

describe('connectGuardedSocket (clients that take a connected socket: nodemailer)', () => {
  it('refuses loopback without opt-in; no connection reaches the server', async () => {
    for (const host of ['127.0.0.1', 'localhost', '::ffff:127.0.0.1', '2130706433']) {
      let error: unknown;
      const count = await acceptedDuring(() =>
        connectGuardedSocket(createAddressPolicy(), { host, port, timeoutMs: 2000 }).catch(
          (err: unknown) => (error = err),
        ),
      );
      expect(count, host).toBe(0);
      expect(error, host).toBeInstanceOf(BlockedAddressError);
    }
  });

  it('connects with the opt-in, and gives up at the timeout', async () => {
    const count = await acceptedDuring(async () => {
      const socket = await connectGuardedSocket(createAddressPolicy({ allow: ['127.0.0.1'] }), {
        host: '127.0.0.1',
        port,
        timeoutMs: 2000,
      });
      expect(socket.remotePort).toBe(port);
      socket.destroy();
    });
    expect(count).toBe(1);
    const slow: ResolveAll = () => undefined; // never answers
    await expect(
      connectGuardedSocket(createAddressPolicy(), {
        host: 'slow.example',
        port,
        timeoutMs: 50,
        resolveAll: slow,
      }),
    ).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });
});

describe('preflightUrl (SDKs that take no lookup or agent)', () => {
  it('throws the field-prefixed blocked error, passes allowed hosts and leaves DNS failures to the SDK', async () => {
    const policy = createAddressPolicy();
    await expect(
      preflightUrl(policy, 'http://[::ffff:169.254.169.254]:9050/', 'apiEndpoint'),
    ).rejects.toMatchObject({
      code: 'SLUICE_ERR_BLOCKED_ADDRESS',
      message: expect.stringMatching(/^apiEndpoint: refusing to connect/),
    });
    await expect(
      preflightUrl(
        policy,
        'http://emulator.example/',
        'apiEndpoint',
        fakeResolver([{ address: '10.0.0.9', family: 4 }]),
      ),
    ).rejects.toMatchObject({ range: 'private' });
    await expect(
      preflightUrl(
        policy,
        'https://bigquery.example/',
        'apiEndpoint',
        fakeResolver([{ address: '142.250.185.74', family: 4 }]),
      ),
    ).resolves.toBeUndefined();
    const failing: ResolveAll = (_h, _o, callback) =>
      callback(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }), []);
    await expect(
      preflightUrl(policy, 'https://nowhere.example/', 'apiEndpoint', failing),
    ).resolves.toBeUndefined();
  });
});
