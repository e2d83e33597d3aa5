// Issue 13, point 8: hostile path parameters, query values and bodies get a 4xx naming the
// cause, never a 500. Drives the real server (`sluice serve`, PostgreSQL store in a database of
// its own, where NUL bytes and out-of-range integers used to surface as PostgreSQL errors).
// The routes are enumerated from the server's own OpenAPI document, so a new route is fuzzed
// without touching this file: every path parameter and every query parameter of every
// operation gets NUL and control characters, overlong, negative, zero, fractional and huge
// numeric values and broken percent-encoding; every operation that may carry a body gets
// `__proto__` / `constructor.prototype` bodies; bodies that reach the store get NUL and lone
// surrogates.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  pgUrl,
  requireBuiltServer,
  startServer,
  tempDir,
  waitForRun,
  writeConfig,
  type ServerProcess,
} from '../e2e/harness.js';
import { rawRequest, type RawAnswer } from './transport-helpers.js';

const ADMIN = 'route-fuzz-admin-key-0123456789';
const DB = `sluice_sec_fuzz_${process.pid}`;

/** Hostile values of a path or query parameter, as they appear (percent-encoded) in the URL. */
const HOSTILE_VALUES: { kind: string; raw: string }[] = [
  { kind: 'NUL', raw: '%00' },
  { kind: 'NUL inside', raw: 'abc%00def' },
  { kind: 'control characters', raw: 'a%01%1Fb' },
  { kind: 'DEL', raw: 'a%7F' },
  { kind: 'newline', raw: 'a%0D%0Ab' },
  { kind: 'overlong (129)', raw: 'a'.repeat(129) },
  { kind: 'overlong (4000)', raw: 'n'.repeat(4000) },
  { kind: 'overlong digits', raw: '9'.repeat(400) },
  { kind: 'negative', raw: '-1' },
  { kind: 'negative huge', raw: '-99999999999999999999' },
  { kind: 'zero', raw: '0' },
  { kind: 'int32 max + 1', raw: '2147483648' },
  { kind: 'int64 max + 1', raw: '9223372036854775808' },
  { kind: 'huge', raw: '99999999999999999999' },
  { kind: 'beyond double', raw: '1e309' },
  { kind: 'fraction', raw: '1.5' },
  { kind: 'broken percent-encoding', raw: '%E0%A4%A' },
  { kind: 'lone surrogate (CESU)', raw: '%ED%A0%80' },
  { kind: 'bare percent', raw: '%' },
  { kind: 'encoded slash', raw: 'a%2Fb' },
  { kind: 'dot-dot', raw: '..' },
  { kind: 'UUID + NUL', raw: '00000000-0000-4000-8000-000000000000%00' },
];

/** Bodies that Fastify's secure-json-parse refuses (prototype poisoning), and the key they must name. */
const POISONED_BODIES: { kind: string; body: string; key: string }[] = [
  { kind: '__proto__', body: '{"__proto__":{"polluted":true}}', key: '__proto__' },
  {
    kind: 'nested __proto__',
    body: '{"params":{"list":[{"__proto__":{"polluted":true}}]}}',
    key: '__proto__',
  },
  {
    kind: 'constructor.prototype',
    body: '{"constructor":{"prototype":{"polluted":true}}}',
    key: 'constructor',
  },
];

interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  queryParams: string[];
  hasBody: boolean;
}

interface Case {
  what: string;
  kind: string;
  method: string;
  url: string;
  body?: string;
  /** Texts of which the answer must contain one: where the problem is, or what it is. */
  names: string[];
  /**
   * A 2xx is a correct answer too: the value is a valid one for a free-text filter of a list
   * (`?route=..` matching nothing), not an id the store must look up.
   */
  mayMatchNothing?: boolean;
}

/** Valid values of the parameters, so that one parameter at a time is hostile. */
const VALID: Record<string, string> = {
  name: 'traffic',
  pipeline: 'traffic',
  version: '1',
  id: randomUUID(),
};

function operationsOf(doc: {
  paths: Record<
    string,
    Record<string, { parameters?: { in: string; name: string }[]; requestBody?: unknown }>
  >;
}): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'put', 'post', 'patch', 'delete'].includes(method)) continue;
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      out.push({
        method: method.toUpperCase(),
        path,
        pathParams: inPath,
        queryParams: query,
        hasBody: op.requestBody !== undefined,
      });
    }
  }
  return out;
}

function urlOf(op: Operation, values: Record<string, string> = {}): string {
  return op.path.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? VALID[name] ?? 'x');
}

function casesOf(op: Operation): Case[] {
  const cases: Case[] = [];
  const body = op.hasBody ? '{}' : undefined;
  for (const param of op.pathParams) {
    for (const value of HOSTILE_VALUES) {
      cases.push({
        what: `${op.method} ${op.path} with ${param}=${value.kind}`,
        kind: `path: ${value.kind}`,
        method: op.method,
        url: urlOf(op, { [param]: value.raw }),
        ...(body === undefined ? {} : { body }),
        // A hostile value that is still a valid one (`0` is a valid name) reaches the lookup (404)
        // or the body check (`body.x: required`): those answers name their cause too.
        names: [
          `params.${param}`,
          'does not exist',
          'has no webhook trigger',
          'path parameter',
          'percent-encoded',
          ...(body === undefined ? [] : ['body.']),
        ],
      });
    }
  }
  for (const param of op.queryParams) {
    for (const value of HOSTILE_VALUES) {
      cases.push({
        what: `${op.method} ${op.path}?${param}=${value.kind}`,
        kind: `query: ${value.kind}`,
        method: op.method,
        url: `${urlOf(op)}?${param}=${value.raw}`,
        ...(body === undefined ? {} : { body }),
        names: [`query.${param}`, `${param}: `, 'percent-encoded'],
        mayMatchNothing: op.method === 'GET',
      });
    }
  }
  // Every method that may carry a body, with or without a body schema (Fastify parses a JSON
  // body either way); the webhook route takes raw bytes and answers on its signature first.
  if (op.method !== 'GET' && !op.path.startsWith('/webhooks/')) {
    for (const poisoned of POISONED_BODIES) {
      cases.push({
        what: `${op.method} ${op.path} with a ${poisoned.kind} body`,
        kind: `body: ${poisoned.kind}`,
        method: op.method,
        url: urlOf(op),
        body: poisoned.body,
        names: [`"${poisoned.key}"`],
      });
    }
  }
  return cases;
}

/**
 * The contract: a 4xx with the one error body, whose message or details name the cause (or, for
 * a value valid as a list filter, a 2xx); never a 5xx.
 */
function problemOf(
  answer: RawAnswer,
  names: string[],
  mayMatchNothing = false,
): string | undefined {
  if (mayMatchNothing && answer.status >= 200 && answer.status < 300) return undefined;
  if (answer.status < 400 || answer.status >= 500) return `HTTP ${answer.status}`;
  let error: { code?: unknown; message?: unknown; details?: { path?: string; message: string }[] };
  try {
    error = (JSON.parse(answer.text) as { error: typeof error }).error;
  } catch {
    return `HTTP ${answer.status} without the JSON error body`;
  }
  if (
    typeof error?.code !== 'string' ||
    !error.code.startsWith('SLUICE_ERR_') ||
    typeof error.message !== 'string' ||
    !Array.isArray(error.details)
  )
    return 'not the one error body';
  const text = [error.message, ...error.details.flatMap((d) => [d.path ?? '', d.message])].join(
    '\n',
  );
  if (/not valid JSON but content-type/.test(text)) return 'answered "Body is not valid JSON"';
  if (!names.some((name) => text.includes(name)))
    return `the message does not name the cause: ${error.message}`;
  return undefined;
}

describe('every API route under hostile parameters and bodies (issue 13 point 8)', () => {
  let server: ServerProcess;
  const send = (c: Pick<Case, 'method' | 'url' | 'body'>) =>
    rawRequest(server.url, {
      method: c.method,
      path: c.url,
      headers: {
        authorization: `Bearer ${ADMIN}`,
        ...(c.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(c.body === undefined ? {} : { body: c.body }),
    });

  beforeAll(async () => {
    requireBuiltServer();
    await createDatabase(DB);
    const dir = tempDir('sec-fuzz');
    const config = writeConfig(
      dir,
      `
store: { url: ${pgUrl(DB)} }
server:
  apiKeys: [ { name: admin, key: '\${env:SEC_ADMIN_KEY}', scopes: [admin] } ]
  rateLimit: { perMinute: 1000000 }
destinations:
  files: { kind: file, root: ${dir}/out, path: '{{pipeline}}/{{batch.id}}.ndjson', format: ndjson }
pipelines:
  traffic:
    source: { kind: sample, perRun: 5, pageSize: 5 }
    routes: [ { name: all, to: [files] } ]
  inbound:
    source: { kind: sample, total: 0 }
    webhook: { verify: standard-webhooks, secret: '\${env:SEC_WEBHOOK_SECRET}' }
    routes: [ { name: all, to: [files] } ]
`,
    );
    server = await startServer({
      config,
      adminKey: ADMIN,
      env: {
        SEC_ADMIN_KEY: ADMIN,
        SEC_WEBHOOK_SECRET: `whsec_${Buffer.from('route-fuzz-webhook-secret').toString('base64')}`,
      },
    });
    // A real run, so run and version lookups reach the store.
    const started = await server.api<{ runId: string }>(
      'POST',
      '/api/v1/pipelines/traffic/runs',
      {},
    );
    expect(started.status).toBe(202);
    VALID.id = started.body.runId;
    await waitForRun(server, started.body.runId);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await dropDatabase(DB);
  }, 60_000);

  it('answers every hostile path parameter, query value and poisoned body of every route with a 4xx naming the cause', async () => {
    const doc = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
    const operations = operationsOf(doc);
    // The document is the source of the list; make sure it is the full one.
    expect(operations.length).toBeGreaterThan(40);
    expect(operations.some((op) => op.path === '/api/v1/dead-letters/{id}')).toBe(true);
    expect(operations.some((op) => op.path === '/webhooks/{pipeline}')).toBe(true);
    const cases = operations.flatMap(casesOf);
    const broken: { what: string; problem: string }[] = [];
    const byKind: Record<string, { tried: number; broke: number }> = {};
    const byProblem = { serverError: 0, unclearMessage: 0, notJsonMessage: 0, other: 0 };
    const byStatus: Record<string, number> = {};
    for (const c of cases) {
      const answer = await send(c);
      const problem = problemOf(answer, c.names, c.mayMatchNothing);
      byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
      const tally = (byKind[c.kind] ??= { tried: 0, broke: 0 });
      tally.tried++;
      if (problem) {
        tally.broke++;
        if (answer.status >= 500) byProblem.serverError++;
        else if (problem.startsWith('answered "Body')) byProblem.notJsonMessage++;
        else if (problem.startsWith('the message')) byProblem.unclearMessage++;
        else byProblem.other++;
        broken.push({ what: c.what, problem: `${problem} ${answer.text.slice(0, 160)}` });
      }
    }
    console.log(
      JSON.stringify({
        routeFuzz: {
          operations: operations.length,
          tried: cases.length,
          broke: broken.length,
          byProblem,
          byStatus,
          byKind,
        },
      }),
    );
    expect(broken).toEqual([]);
  }, 300_000);

  it('refuses NUL and lone surrogates in bodies that reach the store, naming the field', async () => {
    const cases: { what: string; method: string; url: string; body: string; path: string }[] = [
      {
        what: 'replay ids with NUL',
        method: 'POST',
        url: '/api/v1/dead-letters/replay',
        body: '{"ids":["a\\u0000b"]}',
        path: 'body.ids[0]',
      },
      {
        what: 'replay filter with NUL',
        method: 'POST',
        url: '/api/v1/dead-letters/replay',
        body: '{"pipeline":"traffic","destination":"files\\u0000"}',
        path: 'body.destination',
      },
      {
        what: 'run params with a lone surrogate',
        method: 'POST',
        url: '/api/v1/pipelines/traffic/runs',
        body: '{"params":{"note":"x\\ud800"}}',
        path: 'body.params.note',
      },
      {
        what: 'run params with a NUL key',
        method: 'POST',
        url: '/api/v1/pipelines/traffic/runs',
        body: '{"params":{"a\\u0000":1}}',
        path: 'body.params',
      },
      {
        what: 'pipeline description with a lone surrogate',
        method: 'PUT',
        url: '/api/v1/pipelines/fuzzed',
        body: '{"description":"\\udfff","source":{"kind":"sample","total":0},"routes":[{"name":"all","to":["files"]}]}',
        path: 'body.description',
      },
      {
        what: 'pipeline description with NUL',
        method: 'PUT',
        url: '/api/v1/pipelines/fuzzed',
        body: '{"description":"a\\u0000","source":{"kind":"sample","total":0},"routes":[{"name":"all","to":["files"]}]}',
        path: 'body.description',
      },
    ];
    const broken: string[] = [];
    for (const c of cases) {
      const answer = await send(c);
      const problem = answer.status === 400 ? problemOf(answer, [c.path]) : `HTTP ${answer.status}`;
      if (problem) broken.push(`${c.what}: ${problem} ${answer.text.slice(0, 200)}`);
    }
    console.log(
      JSON.stringify({ routeFuzz: { bodyStrings: { tried: cases.length, broke: broken.length } } }),
    );
    expect(broken).toEqual([]);
  }, 60_000);

  it('stayed healthy: no request failed with an internal error', async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const internal = server.lines.filter((line) => line.includes('"request failed"'));
    expect(internal.map((line) => line.slice(0, 300))).toEqual([]);
  });
});
