import { describe, expect, it } from 'vitest';
import { createResponseValidator } from './openapi-responses.js';

const doc = {
  paths: {
    '/api/v1/runs/{id}': {
      get: {
        responses: {
          '200': {
            description: 'ok',
            headers: { 'x-request-id': { required: true } },
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Run' } } },
          },
        },
      },
    },
  },
  components: {
    schemas: { Run: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } } },
  },
};

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });

describe('OpenAPI response validator of the API test suite', () => {
  const url = 'http://127.0.0.1:1/api/v1/runs/r1';
  it('accepts a documented response', async () => {
    expect(
      await createResponseValidator(doc).check(
        'GET',
        url,
        json(200, { id: 'r1' }, { 'x-request-id': '1' }),
      ),
    ).toEqual([]);
  });

  it('fails an undocumented status, a missing required header, a wrong body, an unknown route and content type', async () => {
    const v = createResponseValidator(doc);
    expect((await v.check('GET', url, json(500, {})))[0]!.problem).toMatch(
      /status 500 is not documented/,
    );
    expect((await v.check('GET', url, json(200, { id: 'r1' })))[0]!.problem).toBe(
      'required header x-request-id is missing',
    );
    expect(
      (await v.check('GET', url, json(200, { id: 1 }, { 'x-request-id': '1' })))[0]!.problem,
    ).toMatch(/body does not match the schema: data\/id must be string/);
    expect((await v.check('DELETE', url, json(200, {})))[0]!.problem).toBe(
      'route and method are not in the OpenAPI document',
    );
    expect(
      (
        await v.check(
          'GET',
          url,
          new Response('x', {
            status: 200,
            headers: { 'content-type': 'text/plain', 'x-request-id': '1' },
          }),
        )
      )[0]!.problem,
    ).toMatch(/content type text\/plain is not documented/);
    expect(v.problems).toHaveLength(5);
  });
});
