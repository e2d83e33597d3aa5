// The transport guards of the HTTP app, in process (test/security drives the same through the
// real server): fixed-window budgets, keys checked before the body, hostile parameters and
// bodies answered with a 400 naming the cause.
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createHttpApp } from './app.js';
import { loadApiKeys } from './auth.js';
import { WindowCounters } from './limits.js';
import { addRoute } from './route.js';

describe('WindowCounters', () => {
  it('counts per key within a window and forgets the window after it', () => {
    let now = 1_000;
    const counters = new WindowCounters({ windowMs: 60_000, now: () => now });
    counters.add('a');
    counters.add('a');
    expect(counters.count('a')).toBe(2);
    expect(counters.retryAfterMs('a', 3)).toBe(0);
    counters.add('a');
    expect(counters.retryAfterMs('a', 3)).toBe(60_000);
    expect(counters.retryAfterMs('b', 3)).toBe(0);
    now += 59_000;
    expect(counters.retryAfterMs('a', 3)).toBe(1_000);
    now += 1_000;
    expect(counters.retryAfterMs('a', 3)).toBe(0);
    expect(counters.count('a')).toBe(0);
  });

  it('holds at most maxKeys keys, forgetting the oldest window first', () => {
    const counters = new WindowCounters({ maxKeys: 2 });
    counters.add('first');
    counters.add('second');
    counters.add('third');
    expect([counters.count('first'), counters.count('second'), counters.count('third')]).toEqual([
      0, 1, 1,
    ]);
  });

  it('forgets by window age: reading a key does not keep it', () => {
    const counters = new WindowCounters({ maxKeys: 2 });
    counters.add('first');
    counters.add('second');
    counters.add('first');
    expect(counters.count('first')).toBe(2);
    counters.add('third');
    expect([counters.count('first'), counters.count('second'), counters.count('third')]).toEqual([
      0, 1, 1,
    ]);
  });
});

describe('hostile requests to addRoute routes', () => {
  let app: FastifyInstance;
  const admin = { authorization: 'Bearer transport-admin-key' };
  let handled = 0;

  beforeAll(async () => {
    const created = await createHttpApp({
      logger: false,
      version: '0',
      bodyLimitBytes: 1 << 16,
      authEnabled: true,
      keys: () => loadApiKeys([{ name: 'admin', key: 'transport-admin-key', scopes: ['admin'] }]),
      rateLimitPerMinute: 10_000,
      redact: (x) => x,
    });
    app = created.app;
    addRoute(app, created.routes, {
      method: 'POST',
      url: '/things/:id/versions/:version',
      scope: 'admin',
      summary: 'x',
      tags: [],
      params: v.object({
        id: v.string(),
        version: v.pipe(v.string(), v.regex(/^\d+$/), v.transform(Number)),
      }),
      body: v.object({
        note: v.optional(v.string()),
        tags: v.optional(v.array(v.string())),
        extra: v.optional(v.unknown()),
      }),
      responses: { 200: { description: 'x' } },
      handler: ({ params }) => {
        handled++;
        // What PostgreSQL answers for a version past its `integer` column.
        if (params.version > 2_147_483_647)
          throw Object.assign(
            new Error(`value "${params.version}" is out of range for type integer`),
            { code: '22003' },
          );
        return { ok: true };
      },
    });
    await app.ready();
  });
  afterAll(() => app.close());

  const post = (url: string, payload: string, headers: Record<string, string> = admin) =>
    app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload,
    });

  it('names the prototype-poisoning key instead of calling the body invalid JSON', async () => {
    const top = await post('/things/a/versions/1', '{"__proto__":{"x":1}}');
    expect(top.statusCode).toBe(400);
    expect(top.json().error).toMatchObject({
      code: 'SLUICE_ERR_FORBIDDEN_KEY',
      details: [{ path: 'body.__proto__' }],
    });
    expect(top.json().error.message).toMatch(
      /^body\.__proto__: the key "__proto__" is not accepted in a request body/,
    );
    const nested = await post(
      '/things/a/versions/1',
      '{"extra":{"list":[1,{"constructor":{"prototype":{}}}]}}',
    );
    expect(nested.json().error.details).toEqual([
      {
        path: 'body.extra.list[1].constructor.prototype',
        message: expect.stringContaining('"constructor"'),
      },
    ]);
    // A harmless "constructor" key (no prototype inside) is accepted.
    expect(
      (await post('/things/a/versions/1', '{"extra":{"constructor":"a string"}}')).statusCode,
    ).toBe(200);
    const syntax = await post('/things/a/versions/1', '{"note": ');
    expect(syntax.json().error.code).toBe('SLUICE_ERR_INVALID_JSON');
    expect(syntax.json().error.message).toMatch(/^the request body is not valid JSON: /);
  });

  it('refuses control characters in parameters and query values, naming the parameter', async () => {
    const nul = await post('/things/a%00b/versions/1', '{}');
    expect(nul.statusCode).toBe(400);
    expect(nul.json().error.details).toEqual([
      { path: 'params.id', message: expect.stringContaining('U+0000') },
    ]);
    const query = await post('/things/a/versions/1?x=%07', '{}');
    expect(query.json().error.details[0].path).toBe('query.x');
  });

  it('refuses integers past 2^53 and maps a data exception of the store to a 400 naming the parameter', async () => {
    const huge = await post('/things/a/versions/99999999999999999999', '{}');
    expect(huge.statusCode).toBe(400);
    expect(huge.json().error.message).toBe(
      `params.version: is out of range: at most ${Number.MAX_SAFE_INTEGER}`,
    );
    const int4 = await post('/things/a/versions/2147483648', '{}');
    expect(int4.statusCode).toBe(400);
    expect(int4.json().error.message).toBe(
      'params.version: does not fit the store: value "2147483648" is out of range for type integer',
    );
  });

  it('refuses NUL and unpaired surrogates in body strings and keys, naming the field', async () => {
    expect(
      (await post('/things/a/versions/1', '{"note":"a\\u0000"}')).json().error.details[0].path,
    ).toBe('body.note');
    expect(
      (await post('/things/a/versions/1', '{"tags":["ok","\\ud800"]}')).json().error.details[0]
        .path,
    ).toBe('body.tags[1]');
    expect(
      (await post('/things/a/versions/1', '{"extra":{"k\\u0000":1}}')).json().error.details[0].path,
    ).toBe('body.extra');
    // A valid pair (an emoji) is fine.
    expect((await post('/things/a/versions/1', '{"note":"\\ud83d\\ude00"}')).statusCode).toBe(200);
  });

  it('checks the key before the body: a bad key with a body that is not JSON is a 401, and the handler never runs', async () => {
    const before = handled;
    const bad = await post('/things/a/versions/1', 'not json at all', {
      authorization: 'Bearer wrong',
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.headers.connection).toBe('close');
    const tooBig = await post(
      '/things/a/versions/1',
      JSON.stringify({ note: 'x'.repeat(1 << 17) }),
      { authorization: 'Bearer wrong' },
    );
    expect(tooBig.statusCode).toBe(401);
    expect(handled).toBe(before);
  });
});
