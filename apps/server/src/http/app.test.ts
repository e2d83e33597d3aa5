import SwaggerParser from '@apidevtools/swagger-parser';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ConfigError, FatalError, RetryableError, createRedactor } from '@sluice/core';
import { createHttpApp } from './app.js';
import { hashApiKey, loadApiKeys } from './auth.js';
import { addRoute } from './route.js';
import { notFound } from './errors.js';

let app: FastifyInstance;
const keys = loadApiKeys([
  { name: 'reader', key: 'read-key-123', scopes: ['read'] },
  { name: 'runner', keyHash: hashApiKey('run-key-456'), scopes: ['run'] },
  { name: 'admin', key: 'admin-key-789', scopes: ['admin'] },
]);
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  const created = await createHttpApp({
    logger: false,
    version: '0.0.0-test',
    bodyLimitBytes: 1024,
    authEnabled: true,
    keys: () => keys,
    rateLimitPerMinute: 1000,
    redact: createRedactor(['super-secret-value']),
  });
  app = created.app;
  const items = new Map<string, { name: string; size: number }>();
  addRoute(app, created.routes, {
    method: 'GET',
    url: '/api/v1/items',
    scope: 'read',
    summary: 'List items',
    tags: ['items'],
    query: v.strictObject({
      limit: v.optional(
        v.pipe(v.string(), v.toNumber(), v.integer(), v.minValue(1), v.maxValue(100)),
        '50',
      ),
    }),
    responses: {
      200: {
        description: 'items',
        schema: v.object({ items: v.array(v.object({ name: v.string() })) }),
      },
    },
    handler: ({ query }) => ({ items: [...items.values()].slice(0, query.limit) }),
  });
  addRoute(app, created.routes, {
    method: 'PUT',
    url: '/api/v1/items/:name',
    scope: 'admin',
    summary: 'Create or replace an item',
    tags: ['items'],
    params: v.object({ name: v.pipe(v.string(), v.regex(/^[a-z]+$/, 'lower-case letters only')) }),
    body: v.strictObject({ size: v.pipe(v.number(), v.minValue(0)) }),
    responses: { 200: { description: 'the item' }, 400: { description: 'invalid' } },
    handler: ({ params, body }) => {
      const item = { name: params.name, size: body.size };
      items.set(params.name, item);
      return item;
    },
  });
  addRoute(app, created.routes, {
    method: 'POST',
    url: '/api/v1/fail/:kind',
    scope: 'run',
    summary: 'Fail on purpose',
    tags: ['test'],
    params: v.object({ kind: v.string() }),
    responses: { 204: { description: 'never' } },
    handler: ({ params }) => {
      if (params.kind === 'missing') throw notFound('item "x"');
      if (params.kind === 'config') throw new ConfigError([{ path: 'x', message: 'bad' }]);
      if (params.kind === 'busy') throw new RetryableError('busy', { retryAfterMs: 2500 });
      if (params.kind === 'fatal') throw new FatalError('cannot: super-secret-value');
      throw new Error('internal detail super-secret-value');
    },
  });
  addRoute(app, created.routes, {
    method: 'GET',
    url: '/open',
    scope: 'public',
    summary: 'Public',
    tags: ['ops'],
    responses: { 200: { description: 'ok' } },
    handler: () => ({ ok: true }),
  });
  await app.ready();
});
afterAll(() => app.close());

describe('http app', () => {
  it('requires a key, checks scopes, and lets admin do everything', async () => {
    expect((await app.inject({ url: '/api/v1/items' })).statusCode).toBe(401);
    const wrong = await app.inject({ url: '/api/v1/items', headers: bearer('nope') });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('SLUICE_ERR_UNAUTHORIZED');
    expect(wrong.headers['www-authenticate']).toBe('Bearer');
    expect(
      (await app.inject({ url: '/api/v1/items', headers: bearer('read-key-123') })).statusCode,
    ).toBe(200);
    expect(
      (await app.inject({ url: '/api/v1/items', headers: { 'x-api-key': 'run-key-456' } }))
        .statusCode,
    ).toBe(200);
    const forbidden = await app.inject({
      method: 'PUT',
      url: '/api/v1/items/abc',
      headers: bearer('run-key-456'),
      payload: { size: 1 },
    });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.message).toBe('the API key "runner" lacks the "admin" scope');
    const ok = await app.inject({
      method: 'PUT',
      url: '/api/v1/items/abc',
      headers: bearer('admin-key-789'),
      payload: { size: 1 },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ name: 'abc', size: 1 });
    expect((await app.inject({ url: '/open' })).json()).toEqual({ ok: true });
  });

  it('validates params, query and body with paths', async () => {
    const res = await app.inject({
      method: 'PUT',
      url: '/api/v1/items/ABC',
      headers: bearer('admin-key-789'),
      payload: { size: -1, extra: 1 },
    });
    expect(res.statusCode).toBe(400);
    const details = res.json().error.details as { path: string }[];
    expect(details.map((d) => d.path)).toEqual(['params.name']);
    const body = await app.inject({
      method: 'PUT',
      url: '/api/v1/items/abc',
      headers: bearer('admin-key-789'),
      payload: { size: -1, extra: 1 },
    });
    expect(body.json().error.details.map((d: { path: string }) => d.path)).toEqual([
      'body.size',
      'body.extra',
    ]);
    const query = await app.inject({
      url: '/api/v1/items?limit=0&bogus=1',
      headers: bearer('read-key-123'),
    });
    expect(query.statusCode).toBe(400);
    expect(query.json().error.details.map((d: { path: string }) => d.path)).toEqual([
      'query.limit',
      'query.bogus',
    ]);
  });

  it('answers malformed requests with clear 4xx', async () => {
    const admin = bearer('admin-key-789');
    const badJson = await app.inject({
      method: 'PUT',
      url: '/api/v1/items/abc',
      headers: { ...admin, 'content-type': 'application/json' },
      payload: '{"size":',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.code).toBe('SLUICE_ERR_INVALID_JSON');
    const wrongType = await app.inject({
      method: 'PUT',
      url: '/api/v1/items/abc',
      headers: { ...admin, 'content-type': 'text/xml' },
      payload: '<a/>',
    });
    expect(wrongType.statusCode).toBe(415);
    expect(wrongType.json().error.code).toBe('SLUICE_ERR_UNSUPPORTED_MEDIA_TYPE');
    const tooBig = await app.inject({
      method: 'PUT',
      url: '/api/v1/items/abc',
      headers: admin,
      payload: { size: 1, pad: 'x'.repeat(2000) },
    });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().error.code).toBe('SLUICE_ERR_BODY_TOO_LARGE');
    const missingBody = await app.inject({
      method: 'PUT',
      url: '/api/v1/items/abc',
      headers: admin,
    });
    expect(missingBody.statusCode).toBe(400);
    const nowhere = await app.inject({ url: '/api/v1/nowhere', headers: admin });
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.json()).toEqual({
      error: { code: 'SLUICE_ERR_NOT_FOUND', message: 'no route GET /api/v1/nowhere', details: [] },
    });
  });

  it('maps the error family to statuses and never leaks secrets or internals', async () => {
    const run = bearer('run-key-456');
    const post = (kind: string) =>
      app.inject({ method: 'POST', url: `/api/v1/fail/${kind}`, headers: run });
    expect((await post('missing')).statusCode).toBe(404);
    const config = await post('config');
    expect(config.statusCode).toBe(400);
    expect(config.json().error.message).toBe('x: bad');
    const busy = await post('busy');
    expect(busy.statusCode).toBe(503);
    expect(busy.headers['retry-after']).toBe('3');
    const fatal = await post('fatal');
    expect(fatal.statusCode).toBe(422);
    expect(fatal.body).not.toContain('super-secret-value');
    expect(fatal.json().error.message).toBe('cannot: [redacted]');
    const internal = await post('boom');
    expect(internal.statusCode).toBe(500);
    expect(internal.json().error).toEqual({
      code: 'SLUICE_ERR_INTERNAL',
      message: 'internal error; see the server log',
      details: [],
    });
  });

  it('serves a valid OpenAPI 3.1 document covering every route', async () => {
    const res = await app.inject({ url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    await SwaggerParser.validate(structuredClone(doc));
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/api/v1/fail/{kind}',
      '/api/v1/items',
      '/api/v1/items/{name}',
      '/open',
    ]);
    expect(
      doc.paths['/api/v1/items/{name}'].put.requestBody.content['application/json'].schema
        .properties.size.type,
    ).toBe('number');
    expect(doc.paths['/open'].get.security).toEqual([]);
    const docs = await app.inject({ url: '/api/v1/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
  });
});

describe('rate limiting', () => {
  it('limits each key separately and answers 429 with Retry-After', async () => {
    const { app: limited, routes } = await createHttpApp({
      logger: false,
      version: '0',
      bodyLimitBytes: 1024,
      authEnabled: true,
      keys: () => keys,
      rateLimitPerMinute: 3,
      redact: (x) => x,
    });
    addRoute(limited, routes, {
      method: 'GET',
      url: '/x',
      scope: 'read',
      summary: 'x',
      tags: [],
      responses: { 200: { description: 'x' } },
      handler: () => ({}),
    });
    await limited.ready();
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await limited.inject({ url: '/x', headers: bearer('read-key-123') })).statusCode,
        );
      expect(statuses).toEqual([200, 200, 200, 429]);
      const limitedRes = await limited.inject({ url: '/x', headers: bearer('read-key-123') });
      expect(limitedRes.json().error.code).toBe('SLUICE_ERR_RATE_LIMITED');
      expect(Number(limitedRes.headers['retry-after'])).toBeGreaterThan(0);
      // another key has its own budget
      expect(
        (await limited.inject({ url: '/x', headers: bearer('admin-key-789') })).statusCode,
      ).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

// Regressions found by test/fuzz: a deeply nested JSON body answered 500 (the stored value
// overflowed JSON.stringify's stack), and an over-long path parameter got Fastify's own error shape.
describe('hostile requests', () => {
  it('answers deeply nested bodies and over-long path parameters with the one 4xx error body', async () => {
    const { app: hostile, routes } = await createHttpApp({
      logger: false,
      version: '0',
      bodyLimitBytes: 1 << 20,
      authEnabled: false,
      keys: () => [],
      rateLimitPerMinute: 1000,
      redact: (x) => x,
    });
    addRoute(hostile, routes, {
      method: 'POST',
      url: '/x/:name',
      scope: 'run',
      summary: 'x',
      tags: [],
      params: v.object({ name: v.string() }),
      body: v.object({ params: v.optional(v.unknown()) }),
      responses: { 200: { description: 'x' } },
      handler: ({ body }) => ({ stored: JSON.stringify(body).length }),
    });
    await hostile.ready();
    try {
      const nested = (depth: number) => `{"params":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      const ok = await hostile.inject({
        method: 'POST',
        url: '/x/a',
        headers: { 'content-type': 'application/json' },
        payload: nested(500),
      });
      expect(ok.statusCode).toBe(200);
      const deep = await hostile.inject({
        method: 'POST',
        url: '/x/a',
        headers: { 'content-type': 'application/json' },
        payload: nested(20_000),
      });
      expect(deep.statusCode).toBe(400);
      expect(deep.json().error).toEqual({
        code: 'SLUICE_ERR_INVALID_JSON',
        message: 'the request body nests deeper than 512 levels',
        details: [{ path: 'body', message: 'at most 512 levels of nesting' }],
      });
      const long = await hostile.inject({
        method: 'POST',
        url: `/x/${'n'.repeat(300)}`,
        headers: { 'content-type': 'application/json' },
        payload: '{}',
      });
      expect(long.statusCode).toBe(414);
      expect(long.json().error.code).toBe('SLUICE_ERR_BAD_REQUEST');
      expect(long.json().error.details).toEqual([]);
    } finally {
      await hostile.close();
    }
  });
});
