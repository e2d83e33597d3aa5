import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  FatalError,
  PluginRegistry,
  RetryableError,
  createPluginContext,
  parseConfig,
  type Page,
} from '@sluice/core';
import { testConnector } from '@sluice/testing';
import { startItemsServer, type ItemsServer } from './__fixtures__/server.js';
import httpJsonPlugin, { httpJsonConfigSchema, httpJsonConnector } from './index.js';

let server: ItemsServer;
beforeAll(async () => {
  server = await startItemsServer(230);
});
afterAll(() => server.close());

const headers = { 'x-api-key': 'secret' };
/** The fixture API listens on loopback, which Sluice's guard blocks unless opted in explicitly. */
const ssrf = { allow: ['127.0.0.1'] };
const styles = {
  page: () => ({
    url: `${server.url}/pages`,
    headers,
    ssrf,
    recordsPath: 'data.items',
    pagination: { style: 'page', sizeParam: 'per_page', pageSize: 40 },
  }),
  offset: () => ({
    url: `${server.url}/offsets`,
    headers,
    ssrf,
    pagination: { style: 'offset', pageSize: 50 },
  }),
  cursor: () => ({
    url: `${server.url}/cursors`,
    headers,
    ssrf,
    recordsPath: 'results',
    pagination: {
      style: 'cursor',
      cursorParam: 'after',
      nextCursorPath: 'meta.next',
      sizeParam: 'size',
      pageSize: 60,
    },
  }),
};

const notObjects = {
  page: '{"data":{"items":[1]}}',
  offset: '[1]',
  cursor: '{"results":[1],"meta":{"next":null}}',
};

for (const [style, config] of Object.entries(styles)) {
  testConnector({
    name: `http-json (${style} paging)`,
    definition: httpJsonConnector,
    config,
    key: (record) => String(record.id),
    expectedCount: 230,
    errors: [
      { name: 'HTTP 503', inject: () => server.fail(503), expected: 'retryable' },
      { name: 'HTTP 429', inject: () => server.fail(429), expected: 'retryable' },
      { name: 'HTTP 403', inject: () => server.fail(403), expected: 'fatal' },
      {
        name: 'records that are not objects',
        inject: () => server.fail(200, notObjects[style as keyof typeof styles], 1),
        expected: 'fatal',
      },
    ],
    badCredentials: () => ({ ...config(), headers: { 'x-api-key': 'wrong' } }),
  });
}

describe('http-json plugin', () => {
  it('resolves by package name and reads end to end through a PluginRegistry', async () => {
    const loaded = (await import('sluice-plugin-http-json')) as { default: typeof httpJsonPlugin };
    expect(loaded.default).toMatchObject({
      type: 'plugin',
      name: 'sluice-plugin-http-json',
      sluice: '^1',
    });
    const registry = new PluginRegistry().register(loaded.default);
    expect(registry.kinds('connector')).toEqual(['http-json']);
    const connector = await registry.createConnector(
      'http-json',
      styles.cursor(),
      createPluginContext(),
      ['sources', 'shop'],
    );
    const pages: Page[] = [];
    for await (const page of connector.read({}, new AbortController().signal)) pages.push(page);
    expect(pages.flatMap((p) => p.records)).toEqual(server.items);
    expect(pages.at(-1)!.state).toEqual({ complete: true });
    // A finished read starts over on the next run.
    const again: Page[] = [];
    for await (const page of connector.read(
      { state: { complete: true } },
      new AbortController().signal,
    ))
      again.push(page);
    expect(again.flatMap((p) => p.records)).toHaveLength(230);
  });

  it('reports bad config through the registry with paths', async () => {
    const registry = new PluginRegistry().register(httpJsonPlugin);
    const error = await registry
      .createConnector(
        'http-json',
        { url: 'ftp://x', pagination: { style: 'cursor' } },
        createPluginContext(),
        ['sources', 'shop'],
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.path).sort()).toEqual([
      'sources.shop.pagination.nextCursorPath',
      'sources.shop.url',
    ]);
  });

  it('names the records path and the page when a response has the wrong shape', async () => {
    const connector = await httpJsonConnector.create(
      parseConfig(httpJsonConfigSchema, styles.page()),
      createPluginContext(),
    );
    server.fail(200, '{"data":{"rows":[]}}', 1);
    const read = async () => {
      for await (const _ of connector.read({}, new AbortController().signal));
    };
    const error = (await read().catch((e: unknown) => e)) as FatalError;
    expect(error).toBeInstanceOf(FatalError);
    expect(error.message).toMatch(
      /page 1 \(\/pages\?page=1&per_page=40\): recordsPath "data.items" is missing/,
    );
    server.fail(200, 'not json', 1);
    expect(await read().catch((e: unknown) => e)).toBeInstanceOf(RetryableError);
  });

  it('rejects a checkpoint of the wrong shape and discovers fields with types', async () => {
    const connector = await httpJsonConnector.create(
      parseConfig(httpJsonConfigSchema, styles.offset()),
      createPluginContext(),
    );
    const bad = async () => {
      for await (const _ of connector.read(
        { state: { offset: 'ten' } },
        new AbortController().signal,
      ));
    };
    expect(((await bad().catch((e: unknown) => e)) as Error).message).toContain('state.offset');
    const [stream] = await connector.discover!();
    expect(stream!.fields).toEqual(
      expect.arrayContaining([
        { name: 'id', type: 'number', nullable: false },
        { name: 'tags', type: 'array', nullable: false },
        { name: 'note', type: 'string', nullable: true },
      ]),
    );
  });
});

describe('http-json: outgoing-connection guard', () => {
  it('refuses an internal url without opt-in (coded error, no request reaches the API) and reads with it', async () => {
    const before = server.requests.length;
    for (const host of ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]', '2130706433']) {
      const url = `http://${host}:${new URL(server.url).port}/cursors`;
      const connector = await httpJsonConnector.create(
        parseConfig(httpJsonConfigSchema, { url, pagination: { style: 'none' } }),
        createPluginContext(),
      );
      const error = await (async () => {
        for await (const _ of connector.read({}, new AbortController().signal));
      })().catch((e: unknown) => e);
      expect(error, host).toBeInstanceOf(FatalError);
      expect(error, host).toMatchObject({
        code: 'SLUICE_ERR_BLOCKED_ADDRESS',
        message: expect.stringMatching(/^url: refusing to connect to .*loopback/),
      });
      expect(await connector.check!(), host).toMatchObject({
        ok: false,
        message: expect.stringMatching(/refusing to connect/),
      });
      await connector.close?.();
    }
    expect(server.requests.length).toBe(before);
    const allowed = await httpJsonConnector.create(
      parseConfig(httpJsonConfigSchema, styles.cursor()),
      createPluginContext(),
    );
    const pages: Page[] = [];
    for await (const page of allowed.read({}, new AbortController().signal)) pages.push(page);
    expect(pages.flatMap((p) => p.records)).toHaveLength(230);
    await allowed.close?.();
  });
});
