import { createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  createNoopLogger,
  createMemoryPluginState,
  createPluginContext,
  createMemoryMetrics,
  parseConfig,
  type Logger,
} from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { startTcpProxy } from '@sluice/testing/fakes';
import { startReceiver, type Receiver } from './__fixtures__/receiver.js';
import { createWebhookDestination } from './destination.js';
import { webhookDestination } from './plugin.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const TOKEN = 'tok_live_5a9c1f0e7d3b';

let receiver: Receiver;
let n = 0;
const open: { close(): Promise<void> }[] = [];
beforeAll(async () => {
  receiver = await startReceiver();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});
afterAll(() => receiver.close());

function capturingLogger(lines: unknown[]): Logger {
  const log = (...args: unknown[]) => void lines.push(args);
  const logger: Logger = {
    trace: log,
    debug: log,
    info: log,
    warn: log,
    error: log,
    fatal: log,
    child: () => logger,
  };
  return logger;
}

function destination(raw: Record<string, unknown>, ctx = createPluginContext()) {
  const config = parseConfig(webhookDestination.configSchema, {
    ssrf: { allow: ['127.0.0.1'] },
    ...raw,
  });
  const instance = createWebhookDestination(config, ctx);
  open.push(instance);
  return instance;
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the write to fail');
    },
    (err: unknown) => err,
  );
}

const signal = () => new AbortController().signal;
const track = <T extends { close(): Promise<void> }>(instance: T): T => {
  open.push(instance);
  return instance;
};
const prefix = () => `/w/${++n}/`;

describe('webhook delivery', () => {
  it('sends one JSON request per record with templated URL/headers, signature and a stable idempotency key', async () => {
    const p = prefix();
    const hook = destination({
      url: `${receiver.origin}${p}{{ record.tenant }}/events?run={{ batch.runId }}`,
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'x-tenant': '{{ record.tenant }}' },
      signing: { secret: SECRET },
      rememberSent: 0, // no delivery ledger: the retry reaches the receiver
    });
    const batch = makeBatch([
      { tenant: 'acme', n: 1 },
      { tenant: 'a b/c', n: 2 },
    ]);
    await hook.write(batch, { signal: signal() });
    await hook.write({ ...batch, attempt: 2 }, { signal: signal() });

    const got = receiver.at(p, false);
    expect(got).toHaveLength(4);
    const paths = got.map((r) => r.path).sort();
    expect(paths).toContain(`${p}acme/events?run=run-1`);
    expect(paths).toContain(`${p}a%20b%2Fc/events?run=run-1`);
    for (const r of got) {
      const record = JSON.parse(r.body) as { tenant: string; n: number };
      expect(r.method).toBe('PUT');
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(r.headers['x-tenant']).toBe(record.tenant);
      expect(r.headers['idempotency-key']).toBe(`${batch.id}:${record.n - 1}`);
      expect(r.headers['webhook-id']).toBe(r.headers['idempotency-key']);
      // Verify the Standard Webhooks signature independently.
      const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
      const expected = createHmac('sha256', key)
        .update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`)
        .digest('base64');
      expect(r.headers['webhook-signature']).toBe(`v1,${expected}`);
      expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    }
    // The retry carries the same keys: the receiver can drop the duplicates.
    expect(receiver.at(p, true)).toHaveLength(2);
  });

  it('does not send again what a repeat of the batch already delivered: a retry, or a take-over on another instance sharing the store (issue 18)', async () => {
    const state = createMemoryPluginState();
    const recordKeys = [
      'daily-hooks-run5-3f9c0a21be-r000001',
      'daily-hooks-run5-3f9c0a21be-r000002',
    ];
    const batch = makeBatch([{ n: 1 }, { n: 2 }], {
      id: 'daily-hooks-run5-3f9c0a21be-000001',
      recordKeys,
    });
    const p1 = prefix();
    const first = destination({ url: `${receiver.origin}${p1}in` }, createPluginContext({ state }));
    await first.write(batch, { signal: signal() });
    await first.write({ ...batch, attempt: 2 }, { signal: signal() });
    const takeOver = destination(
      { url: `${receiver.origin}${p1}in` },
      createPluginContext({ state }),
    );
    await takeOver.write(batch, { signal: signal() });
    expect(
      receiver
        .at(p1, false)
        .map((r) => r.headers['idempotency-key'])
        .sort(),
    ).toEqual(recordKeys);
    // Batch mode: keyed by the batch id.
    const p2 = prefix();
    const whole = { url: `${receiver.origin}${p2}in`, mode: 'batch' };
    await destination(whole, createPluginContext({ state })).write(batch, { signal: signal() });
    await destination(whole, createPluginContext({ state })).write(batch, { signal: signal() });
    expect(receiver.at(p2, false).map((r) => r.headers['idempotency-key'])).toEqual([batch.id]);
  });

  it('sends one request per batch, as an array or an envelope', async () => {
    const p = prefix();
    const records = [{ a: 1 }, { a: 2 }];
    const array = destination({
      url: `${receiver.origin}${p}array/{{ batch.pipeline }}`,
      mode: 'batch',
    });
    const envelope = destination({
      url: `${receiver.origin}${p}env`,
      mode: 'batch',
      batchBody: 'envelope',
    });
    const batch = makeBatch(records);
    await array.write(batch, { signal: signal() });
    await envelope.write(batch, { signal: signal() });
    const [first, second] = receiver.at(p, false);
    expect(first!.path).toBe(`${p}array/contract`);
    expect(JSON.parse(first!.body)).toEqual(records);
    expect(first!.headers['idempotency-key']).toBe(batch.id);
    expect(JSON.parse(second!.body)).toEqual({
      batch: {
        id: batch.id,
        pipeline: 'contract',
        runId: 'run-1',
        source: 'contract-source',
        route: 'all',
      },
      records,
    });
  });

  it('passes Retry-After through on 429 and 503 (seconds and HTTP dates)', async () => {
    const p = prefix();
    receiver.behave(
      `${p}429`,
      (_req, res) => void res.writeHead(429, { 'retry-after': '3' }).end(),
    );
    const date = new Date(Date.now() + 120_000).toUTCString();
    receiver.behave(
      `${p}503`,
      (_req, res) => void res.writeHead(503, { 'retry-after': date }).end(),
    );
    const err429 = await failureOf(
      destination({ url: `${receiver.origin}${p}429` }).write(makeBatch([{ a: 1 }]), {
        signal: signal(),
      }),
    );
    expect(err429).toBeInstanceOf(RetryableError);
    expect((err429 as RetryableError).retryAfterMs).toBe(3000);
    const err503 = await failureOf(
      destination({ url: `${receiver.origin}${p}503`, mode: 'batch' }).write(
        makeBatch([{ a: 1 }]),
        { signal: signal() },
      ),
    );
    expect(err503).toBeInstanceOf(RetryableError);
    expect((err503 as RetryableError).retryAfterMs).toBeGreaterThan(100_000);
    expect((err503 as RetryableError).retryAfterMs).toBeLessThanOrEqual(120_000);
  });

  it('retries 408 and 5xx, fails 4xx per record without retry, and keeps the good records', async () => {
    const p = prefix();
    receiver.behave(p, (req, res) => {
      const status = Number(req.url!.slice(p.length));
      if (status === 200) return false;
      res.writeHead(status).end(`status ${status}`);
    });
    const hook = destination({
      url: `${receiver.origin}${p}{{ record.status }}`,
      requestConcurrency: 2,
    });
    const err = await failureOf(
      hook.write(
        makeBatch([
          { status: 200 },
          { status: 400 },
          { status: 408 },
          { status: 422 },
          { status: 500 },
          { status: 200 },
        ]),
        {
          signal: signal(),
        },
      ),
    );
    expect(err).toBeInstanceOf(PartialBatchError);
    const failures = (err as PartialBatchError).failures;
    expect(failures.map((f) => f.index)).toEqual([1, 2, 3, 4]);
    expect(failures.map((f) => f.error instanceof FatalError)).toEqual([true, false, true, false]);
    expect(failures[0]!.error.message).toMatch(/HTTP 400: status 400/);
    expect(receiver.at(p)).toHaveLength(2);
  });

  it('reports a batch where every record got a 4xx as per-record fatal failures, not a retry', async () => {
    const p = prefix();
    receiver.behave(p, (_req, res) => void res.writeHead(404).end());
    const err = await failureOf(
      destination({ url: `${receiver.origin}${p}` }).write(makeBatch([{ a: 1 }, { a: 2 }]), {
        signal: signal(),
      }),
    );
    expect(err).toBeInstanceOf(PartialBatchError);
    expect((err as PartialBatchError).failures.every((f) => f.error instanceof FatalError)).toBe(
      true,
    );
  });

  it('times out a server that never answers, then the retry delivers', async () => {
    const p = prefix();
    let hang = true;
    receiver.behave(p, () => (hang ? undefined : false));
    const hook = destination({ url: `${receiver.origin}${p}`, timeout: { totalMs: 300 } });
    const batch = makeBatch([{ a: 1 }]);
    const started = Date.now();
    const err = await failureOf(hook.write(batch, { signal: signal() }));
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toMatch(/did not answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
    hang = false;
    await hook.write({ ...batch, attempt: 2 }, { signal: signal() });
    expect(receiver.at(p)).toHaveLength(1);
  });

  it('retries when the server closes the connection in the middle of the response', async () => {
    const p = prefix();
    let broken = true;
    receiver.behave(p, (req, res) => {
      if (!broken) return false;
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"partial":');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const hook = destination({ url: `${receiver.origin}${p}`, mode: 'batch' });
    const batch = makeBatch([{ a: 1 }]);
    const err = await failureOf(hook.write(batch, { signal: signal() }));
    expect(err).toBeInstanceOf(RetryableError);
    broken = false;
    await hook.write({ ...batch, attempt: 2 }, { signal: signal() });
    expect(receiver.at(p)).toHaveLength(1);
  });

  it('fails only the records whose URL or header template cannot be rendered, naming the field', async () => {
    const p = prefix();
    const hook = destination({
      url: `${receiver.origin}${p}{{ record.user.id }}`,
      headers: { 'x-region': '{{ record.region }}' },
    });
    const err = await failureOf(
      hook.write(
        makeBatch([
          { user: { id: 1 }, region: 'eu' },
          { user: {}, region: 'eu' },
          { user: { id: 3 } },
        ]),
        { signal: signal() },
      ),
    );
    expect(err).toBeInstanceOf(PartialBatchError);
    const failures = (err as PartialBatchError).failures;
    expect(failures.map((f) => f.index)).toEqual([1, 2]);
    expect(failures[0]!.error).toBeInstanceOf(FatalError);
    expect(failures[0]!.error.message).toMatch(/record\.user\.id is missing/);
    expect(failures[1]!.error.message).toMatch(/record\.region is missing/);
    expect(receiver.at(p)).toHaveLength(1);
  });

  it('never puts header secrets or the signing secret into errors or logs', async () => {
    const p = prefix();
    receiver.behave(
      p,
      (req, res) =>
        void res
          .writeHead(401)
          .end(`invalid token ${String(req.headers.authorization)} / ${SECRET}`),
    );
    const lines: unknown[] = [];
    const hook = destination(
      {
        url: `${receiver.origin}${p}`,
        headers: { authorization: `Bearer ${TOKEN}` },
        signing: { secret: SECRET },
      },
      createPluginContext({ logger: capturingLogger(lines) }),
    );
    const err = await failureOf(hook.write(makeBatch([{ a: 1 }]), { signal: signal() }));
    const text = JSON.stringify({
      err,
      failures: (err as PartialBatchError).failures.map((f) => f.error.message),
      lines,
    });
    expect(text).toMatch(/HTTP 401/);
    expect(text).toMatch(/\[redacted\]/);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(SECRET.slice('whsec_'.length));
  });

  it('counts requests by outcome', async () => {
    const p = prefix();
    const metrics = createMemoryMetrics();
    const hook = destination({ url: `${receiver.origin}${p}` }, createPluginContext({ metrics }));
    await hook.write(makeBatch([{ a: 1 }, { a: 2 }]), { signal: signal() });
    expect(metrics.get('webhook_requests_total', { outcome: 'delivered' })).toBe(2);
  });
});

describe('SSRF protection', () => {
  const ctx = () => createPluginContext({ logger: createNoopLogger() });
  const unprotected = (raw: Record<string, unknown>) => {
    const instance = createWebhookDestination(
      parseConfig(webhookDestination.configSchema, raw),
      ctx(),
    );
    open.push(instance);
    return instance;
  };

  it('blocks loopback by default, by address and by name, before sending anything', async () => {
    const p = prefix();
    for (const url of [
      `${receiver.origin}${p}`,
      `http://localhost:${receiver.port}${p}`,
      `http://[::ffff:127.0.0.1]:${receiver.port}${p}`,
    ]) {
      const err = await failureOf(
        unprotected({ url, mode: 'batch' }).write(makeBatch([{ a: 1 }]), { signal: signal() }),
      );
      expect(err, url).toBeInstanceOf(FatalError);
      expect((err as Error).message).toMatch(/url: refusing to connect to .*loopback/);
    }
    expect(receiver.at(p)).toHaveLength(0);
  });

  it('refuses every loopback form with the coded error and opens no TCP connection; connects with the opt-in', async () => {
    // A dual-stack listener in front of the receiver: 127.0.0.1, ::1 and ::ffff:127.0.0.1 all reach it.
    const proxy = await startTcpProxy(receiver.port, '127.0.0.1', { listenHost: '::' });
    try {
      const p = prefix();
      const forms = [
        `http://127.0.0.1:${proxy.port}${p}`,
        `http://localhost:${proxy.port}${p}`,
        `http://[::1]:${proxy.port}${p}`,
        `http://[::ffff:127.0.0.1]:${proxy.port}${p}`,
        `http://[::127.0.0.1]:${proxy.port}${p}`,
        `http://[64:ff9b::127.0.0.1]:${proxy.port}${p}`,
        `http://2130706433:${proxy.port}${p}`,
        `http://0x7f.1:${proxy.port}${p}`,
        `http://127.1:${proxy.port}${p}`,
      ];
      for (const url of forms) {
        const err = await failureOf(
          unprotected({ url, mode: 'batch', timeout: { connectMs: 1000 } }).write(
            makeBatch([{ a: 1 }]),
            { signal: signal() },
          ),
        );
        expect(err, url).toBeInstanceOf(FatalError);
        expect(err, url).toMatchObject({
          code: 'SLUICE_ERR_BLOCKED_ADDRESS',
          details: { range: 'loopback', field: 'url' },
        });
      }
      expect(proxy.accepted).toBe(0);
      expect(receiver.at(p)).toHaveLength(0);

      await unprotected({
        url: `http://127.0.0.1:${proxy.port}${p}`,
        mode: 'batch',
        ssrf: { allow: ['127.0.0.1'] },
      }).write(makeBatch([{ a: 1 }]), { signal: signal() });
      expect(proxy.accepted).toBe(1);
      expect(receiver.at(p)).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('fails only the records whose templated host is blocked (metadata, private), never contacting them', async () => {
    const p = prefix();
    const hook = destination({ url: `http://{{ record.host }}:${receiver.port}${p}` });
    const err = await failureOf(
      hook.write(
        makeBatch([
          { host: '127.0.0.1' },
          { host: '169.254.169.254' },
          { host: '10.0.0.7' },
          { host: '0.0.0.0' },
        ]),
        {
          signal: signal(),
        },
      ),
    );
    expect(err).toBeInstanceOf(PartialBatchError);
    const failures = (err as PartialBatchError).failures;
    expect(failures.map((f) => f.index)).toEqual([1, 2, 3]);
    expect(
      failures.every(
        (f) => f.error instanceof FatalError && /^url: refusing/.test(f.error.message),
      ),
    ).toBe(true);
    expect(failures.map((f) => (f.error as FatalError).details?.range)).toEqual([
      'linkLocal',
      'private',
      'unspecified',
    ]);
    expect(receiver.at(p)).toHaveLength(1);
  });

  it('re-checks every redirect hop: an allowed host cannot bounce the request to a blocked one', async () => {
    const p = prefix();
    receiver.behave(
      `${p}bounce`,
      (_req, res) =>
        void res.writeHead(307, { location: `http://127.0.0.1:${receiver.port}${p}final` }).end(),
    );
    const hook = unprotected({
      url: `http://localhost:${receiver.port}${p}bounce`,
      ssrf: { allow: ['localhost'] },
      mode: 'batch',
    });
    const err = await failureOf(hook.write(makeBatch([{ a: 1 }]), { signal: signal() }));
    expect(err).toBeInstanceOf(FatalError);
    expect(err).toMatchObject({ code: 'SLUICE_ERR_BLOCKED_ADDRESS' });
    expect((err as Error).message).toMatch(/127\.0\.0\.1.*loopback/);
    expect(receiver.at(`${p}final`)).toHaveLength(0);
  });

  it('follows 307/308 with method and body, drops configured headers across origins, and caps hops', async () => {
    const p = prefix();
    receiver.behave(`${p}a`, (_req, res) => void res.writeHead(308, { location: `${p}b` }).end());
    receiver.behave(
      `${p}b`,
      (_req, res) =>
        void res.writeHead(307, { location: `http://localhost:${receiver.port}${p}c` }).end(),
    );
    const hook = unprotected({
      url: `${receiver.origin}${p}a`,
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}` },
      ssrf: { allow: ['127.0.0.1', 'localhost'] },
    });
    await hook.write(makeBatch([{ hello: 'world' }]), { signal: signal() });
    const [final] = receiver.at(`${p}c`);
    expect(final!.method).toBe('PUT');
    expect(JSON.parse(final!.body)).toEqual({ hello: 'world' });
    expect(final!.headers.authorization).toBeUndefined();
    expect(final!.headers['idempotency-key']).toBeDefined();

    const capped = unprotected({
      url: `${receiver.origin}${p}a`,
      maxRedirects: 1,
      mode: 'batch',
      ssrf: { allow: ['127.0.0.1', 'localhost'] },
    });
    const err = await failureOf(capped.write(makeBatch([{ a: 1 }]), { signal: signal() }));
    expect(err).toBeInstanceOf(FatalError);
    expect((err as Error).message).toMatch(/more than maxRedirects \(1\)/);
  });

  it('refuses 301/302/303, which would silently drop the body', async () => {
    const p = prefix();
    receiver.behave(p, (_req, res) => void res.writeHead(302, { location: '/elsewhere' }).end());
    const err = await failureOf(
      destination({ url: `${receiver.origin}${p}`, mode: 'batch' }).write(makeBatch([{ a: 1 }]), {
        signal: signal(),
      }),
    );
    expect(err).toBeInstanceOf(FatalError);
    expect((err as Error).message).toMatch(/302/);
  });
});

describe('check()', () => {
  it('reports whether the target host is allowed, without sending anything', async () => {
    const p = prefix();
    const allowed = await destination({ url: `${receiver.origin}${p}` }).check();
    expect(allowed.ok).toBe(true);
    const blocked = await track(
      createWebhookDestination(
        parseConfig(webhookDestination.configSchema, {
          url: `http://localhost:${receiver.port}${p}`,
        }),
        createPluginContext(),
      ),
    ).check();
    expect(blocked.ok).toBe(false);
    expect(blocked.message).toMatch(/localhost \((127\.0\.0\.1|::1)\).*loopback/);
    const rebound = track(
      createWebhookDestination(
        parseConfig(webhookDestination.configSchema, { url: 'https://hooks.example.test/in' }),
        createPluginContext(),
        {
          resolveAll: (_h, _o, callback) =>
            callback(null, [{ address: '169.254.169.254', family: 4 }]),
        },
      ),
    );
    expect(await rebound.check()).toMatchObject({ ok: false, details: { range: 'linkLocal' } });
    const perRecord = await destination({ url: 'https://{{ record.host }}/in' }).check();
    expect(perRecord).toMatchObject({
      ok: true,
      message: expect.stringMatching(/depends on the records/),
    });
    expect(receiver.at(p)).toHaveLength(0);
  });
});

describe('lifecycle', () => {
  it('refuses writes after close and closes twice harmlessly', async () => {
    const hook = destination({ url: `${receiver.origin}/closed` });
    await hook.close();
    await hook.close();
    await expect(hook.write(makeBatch([{ a: 1 }]), { signal: signal() })).rejects.toThrow(/closed/);
  });

  it('refuses record placeholders in headers in batch mode with a ConfigError naming the header', () => {
    expect(() =>
      parseConfig(webhookDestination.configSchema, {
        url: 'https://example.com/x',
        mode: 'batch',
        headers: { 'x-id': '{{ record.id }}', 'x-run': '{{ batch.runId }}' },
      }),
    ).toThrow(/headers\.x-id: in batch mode/);
  });
});
