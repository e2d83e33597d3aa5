// Issue 13, point 4: request bodies are limited before they are buffered. Drives the real server
// (`sluice serve`, PostgreSQL store in a database of its own) over loopback with raw HTTP:
// - /webhooks/:pipeline answers 404 for an unknown pipeline (or one without a webhook trigger)
//   from the request line alone, without reading the body: 8 concurrent 60 MB posts leave the
//   server's resident memory where it was (they took it from 252 to 773 MB before);
// - each webhook's own maxBytes applies while streaming: a Content-Length over it is refused up
//   front, a chunked body is cut off (413) as soon as the limit is passed;
// - API keys (and scopes) are checked before an API body is read or parsed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  pgUrl,
  requireBuiltServer,
  startServer,
  tempDir,
  writeConfig,
  type ServerProcess,
} from '../e2e/harness.js';
import { errorOf, peakRssDuring, rawRequest, standardWebhookHeaders } from './transport-helpers.js';

const ADMIN = 'body-limits-admin-key-0123456789';
const READER = 'body-limits-reader-key-0123456789';
const SECRET = `whsec_${Buffer.from('body-limits-webhook-signing-secret').toString('base64')}`;
const DB = `sluice_sec_body_${process.pid}`;
const MAX_BYTES = 64 * 1024;
const MB = 1024 * 1024;

describe('body limits before buffering (issue 13 point 4)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    requireBuiltServer();
    await createDatabase(DB);
    const dir = tempDir('sec-body');
    const config = writeConfig(
      dir,
      `
store: { url: ${pgUrl(DB)} }
server:
  apiKeys:
    - { name: admin, key: '\${env:SEC_ADMIN_KEY}', scopes: [admin] }
    - { name: reader, key: '\${env:SEC_READER_KEY}', scopes: [read] }
  rateLimit: { perMinute: 100000 }
destinations:
  files: { kind: file, root: ${dir}/out, path: '{{pipeline}}/{{batch.id}}.ndjson', format: ndjson }
pipelines:
  small-hook:
    source: { kind: sample, total: 0 }
    webhook: { verify: standard-webhooks, secret: '\${env:SEC_WEBHOOK_SECRET}', maxBytes: ${MAX_BYTES} }
    routes: [ { name: all, to: [files] } ]
  no-hook:
    source: { kind: sample, total: 0 }
    routes: [ { name: all, to: [files] } ]
`,
    );
    server = await startServer({
      config,
      adminKey: ADMIN,
      env: { SEC_ADMIN_KEY: ADMIN, SEC_READER_KEY: READER, SEC_WEBHOOK_SECRET: SECRET },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await dropDatabase(DB);
  }, 60_000);

  it('answers 404 for an unknown pipeline and for a pipeline without a webhook trigger before the body is sent', async () => {
    for (const pipeline of ['no-such-pipeline', 'no-hook']) {
      // The body is announced (60 MB) but never sent: the answer must come from the headers.
      const answer = await rawRequest(server.url, {
        path: `/webhooks/${pipeline}`,
        headers: { 'content-type': 'application/json' },
        holdBody: 60 * MB,
        timeoutMs: 5_000,
      });
      expect(answer.status).toBe(404);
      expect(answer.sentAtResponse).toBe(0);
      const error = errorOf(answer);
      expect(error.code).toBe('SLUICE_ERR_WEBHOOK_NOT_FOUND');
      expect(error.message).toBe(`pipeline "${pipeline}" has no webhook trigger`);
    }
  });

  it('does not grow its memory by the body size under 8 concurrent 60 MB posts to an unknown pipeline', async () => {
    const pid = server.child.pid!;
    const { result, before, peak } = await peakRssDuring(pid, () =>
      Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          rawRequest(server.url, {
            path: `/webhooks/unknown-${i}`,
            headers: { 'content-type': 'application/json' },
            streamBytes: 60 * MB,
            timeoutMs: 60_000,
          }),
        ),
      ),
    );
    console.log(
      JSON.stringify({
        bodyLimits: {
          unknownPipelineFlood: {
            posts: 8,
            bodyMiB: 60,
            rssBeforeMiB: Math.round(before),
            rssPeakMiB: Math.round(peak),
            sentAtResponseMiB: result.map((r) => Math.round(r.sentAtResponse / MB)),
          },
        },
      }),
    );
    expect(result.map((r) => r.status)).toEqual(Array(8).fill(404));
    // Generous bound: less than ONE of the eight bodies (the old code buffered all of them).
    expect(peak - before).toBeLessThan(60);
    // Every answer arrived long before its body was written (the rest is refused, not read).
    for (const answer of result) expect(answer.sentAtResponse).toBeLessThan(30 * MB);
  }, 120_000);

  it("refuses a Content-Length over the pipeline's maxBytes up front with 413", async () => {
    const answer = await rawRequest(server.url, {
      path: '/webhooks/small-hook',
      headers: { 'content-type': 'application/json' },
      holdBody: 10 * MB,
      timeoutMs: 5_000,
    });
    expect(answer.status).toBe(413);
    expect(answer.sentAtResponse).toBe(0);
    const error = errorOf(answer);
    expect(error.code).toBe('SLUICE_ERR_WEBHOOK_TOO_LARGE');
    expect(error.message).toContain(`limit of ${MAX_BYTES} bytes`);
  });

  it("answers 413 as soon as a streamed body passes the pipeline's maxBytes, without waiting for the rest", async () => {
    // Just over the limit, then the sender keeps the request open: the old code waited for the
    // end of the body (up to 64 MB) before it looked at the limit.
    const over = await rawRequest(server.url, {
      path: '/webhooks/small-hook',
      headers: { 'content-type': 'application/json' },
      streamBytes: MAX_BYTES + 1024,
      chunked: true,
      thenHold: true,
      timeoutMs: 5_000,
    });
    expect(over.status).toBe(413);
    expect(errorOf(over).code).toBe('SLUICE_ERR_WEBHOOK_TOO_LARGE');
    // A 40 MB chunked body: refused while most of it is still unsent (only socket buffers are in flight).
    const big = await rawRequest(server.url, {
      path: '/webhooks/small-hook',
      headers: { 'content-type': 'application/json' },
      streamBytes: 40 * MB,
      chunked: true,
      timeoutMs: 30_000,
    });
    expect(big.status).toBe(413);
    expect(big.sentAtResponse).toBeLessThan(20 * MB);
  });

  it('still accepts a signed delivery of exactly maxBytes', async () => {
    const prefix = '{"pad":"';
    const body = `${prefix}${'x'.repeat(MAX_BYTES - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(body)).toBe(MAX_BYTES);
    const answer = await rawRequest(server.url, {
      path: '/webhooks/small-hook',
      headers: standardWebhookHeaders(SECRET, body),
      body,
    });
    expect(answer.status, answer.text).toBe(202);
    expect(JSON.parse(answer.text)).toMatchObject({
      runId: expect.any(String),
      deliveryId: expect.any(String),
    });
  });

  it('answers a missing or bad API key with 401 before the body is sent, read or parsed', async () => {
    const json = { 'content-type': 'application/json' };
    const cases: { what: string; headers: Record<string, string> }[] = [
      { what: 'no key', headers: json },
      { what: 'a bad key', headers: { ...json, authorization: 'Bearer not-a-valid-key' } },
      { what: 'a bad X-API-Key', headers: { ...json, 'x-api-key': 'not-a-valid-key' } },
    ];
    for (const { what, headers } of cases) {
      // 900 kB announced (under the 1 MiB bodyLimitBytes), none sent.
      const held = await rawRequest(server.url, {
        method: 'PUT',
        path: '/api/v1/pipelines/held',
        headers,
        holdBody: 900 * 1024,
        timeoutMs: 5_000,
      }).catch((error: Error) => error);
      expect(held instanceof Error ? held.message : held.status, what).toBe(401);
      if (held instanceof Error) continue;
      expect(held.sentAtResponse).toBe(0);
      expect(errorOf(held).code).toBe('SLUICE_ERR_UNAUTHORIZED');
      // Over bodyLimitBytes: the key is refused, not the size (the old code answered 413).
      const huge = await rawRequest(server.url, {
        method: 'PUT',
        path: '/api/v1/pipelines/huge',
        headers,
        streamBytes: 5 * MB,
        timeoutMs: 10_000,
      });
      expect(huge.status, what).toBe(401);
      // Not JSON at all: never parsed (the old code answered 400 "Body is not valid JSON").
      const garbage = await rawRequest(server.url, {
        method: 'POST',
        path: '/api/v1/dry-run',
        headers,
        body: '{"pipeline": ',
      });
      expect(garbage.status, what).toBe(401);
      expect(errorOf(garbage).code).toBe('SLUICE_ERR_UNAUTHORIZED');
    }
  });

  it('answers a key without the scope with 403 before the body is read; a valid key still gets the size limit', async () => {
    const held = await rawRequest(server.url, {
      method: 'PUT',
      path: '/api/v1/pipelines/held',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${READER}` },
      holdBody: 900 * 1024,
      timeoutMs: 5_000,
    }).catch((error: Error) => error);
    expect(held instanceof Error ? held.message : held.status).toBe(403);
    if (!(held instanceof Error))
      expect(errorOf(held).message).toBe('the API key "reader" lacks the "admin" scope');
    const tooBig = await rawRequest(server.url, {
      method: 'PUT',
      path: '/api/v1/pipelines/huge',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      streamBytes: 5 * MB,
      timeoutMs: 10_000,
    });
    expect(tooBig.status).toBe(413);
    expect(errorOf(tooBig).code).toBe('SLUICE_ERR_BODY_TOO_LARGE');
    // The server is still healthy and serves valid keys.
    expect((await server.api('GET', '/api/v1/pipelines')).status).toBe(200);
  });
});
