import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createRedactor } from '@sluice/core';
import { installErrorHandlers, secretReferencesRefused } from './errors.js';

const SECRET = 'hunter2-"quoted"\nline';

describe('installErrorHandlers: every response body is redacted', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify({ logger: false });
    installErrorHandlers(app, createRedactor([SECRET]));
    const record = { token: SECRET };
    app.get('/object', async () => ({
      records: [{ output: [record] }],
      destinations: { files: [record] },
      [SECRET]: 1,
    }));
    app.get('/text', async (_request, reply) =>
      reply.type('text/plain').send(`metric{label="${SECRET}"} 1`),
    );
    app.get('/config-error', async () => {
      throw new ConfigError([
        { path: 'x', message: `expected number, got ${JSON.stringify(SECRET)}` },
      ]);
    });
    await app.ready();
  });
  afterAll(() => app.close());

  it('redacts objects everywhere they appear (shared records, keys), text bodies and errors', async () => {
    for (const url of [
      '/object',
      '/text',
      '/config-error',
      `/nowhere/${encodeURIComponent(SECRET)}`,
    ]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.body, url).not.toContain('hunter2');
      expect(res.body, url).toContain('[redacted]');
    }
    const body = (await app.inject({ method: 'GET', url: '/object' })).json();
    expect(body).toEqual({
      records: [{ output: [{ token: '[redacted]' }] }],
      destinations: { files: [{ token: '[redacted]' }] },
      '[redacted]': 1,
    });
  });
});

describe('secretReferencesRefused', () => {
  it('names each field under the request prefix and says why, for admin and other keys', () => {
    const error = secretReferencesRefused(
      [
        { path: ['routes', 0, 'transform', 0, 'value'], text: '${env:ADMIN_KEY}', inKey: false },
        { path: ['source', '${file:/k}'], text: '${file:/k}', inKey: true },
      ],
      ['body', 'pipeline'],
      false,
    );
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('SLUICE_ERR_SECRET_REFERENCE');
    expect(error.details.map((d) => d.path)).toEqual([
      'body.pipeline.routes[0].transform[0].value',
      'body.pipeline.source["${file:/k}"]',
    ]);
    expect(error.details[0]!.message).toContain('only an admin key may send secret references');
    expect(error.details[1]!.message).toContain('a key may not hold a secret reference');
    const admin = secretReferencesRefused(
      [{ path: ['root'], text: '${env:HOME}', inKey: false }],
      ['body'],
      true,
    );
    expect(admin.message).toBe(
      'body.root: the secret reference ${env:HOME} is not accepted: it names a secret the server\'s configuration does not use; write "$${" for a literal "${"',
    );
  });
});
