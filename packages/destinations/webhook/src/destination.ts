/**
 * The `webhook` destination: POST/PUT/PATCH records as JSON, one request per record or per
 * batch, with templated URL and headers, Standard Webhooks signatures, a stable idempotency
 * key, bounded timeouts, HTTP-status classification and SSRF protection.
 *
 * @packageDocumentation
 */
import {
  ConfigError,
  FatalError,
  PartialBatchError,
  RetryableError,
  createDeliveryLedger,
  createRedactor,
  isRetryable,
  type Batch,
  type CheckResult,
  type PluginContext,
  type RecordFailure,
} from '@sluice/core';
import {
  BlockedAddressError,
  createAddressPolicy,
  createGuardedConnector,
  resolveAllowed,
  type ResolveAll,
} from '@sluice/core/net';
import { Agent, buildConnector } from 'undici';
import type { WebhookConfig } from './config.js';
import { deliver, type OutgoingRequest } from './deliver.js';
import {
  STANDARD_WEBHOOKS_SECRET_PREFIX,
  createWebhookSigner,
  type WebhookSigner,
} from '@sluice/core/standard-webhooks';
import {
  compileTemplate,
  TemplateRenderError,
  type Template,
  type TemplateScope,
} from './template.js';

/** Hooks for embedding and tests that do not belong in (serialisable) config. */
export interface WebhookDestinationHooks {
  /** Replaces DNS resolution (e.g. to test that a name resolving to a private address is refused). */
  resolveAll?: ResolveAll;
}

interface CompiledHeader {
  name: string;
  template: Template;
}

/**
 * Creates a live webhook destination from a parsed config. Most users go through
 * {@link webhookDestination} and the registry; this is the embedding entry point.
 *
 * @example
 * ```ts
 * import { createPluginContext } from '@sluice/core';
 * const hook = createWebhookDestination(
 *   v.parse(webhookConfigSchema, { url: 'https://hooks.example.com/in' }),
 *   createPluginContext(),
 * );
 * await hook.write(batch, { signal });
 * await hook.close();
 * ```
 */
export function createWebhookDestination(
  config: WebhookConfig,
  ctx: PluginContext,
  hooks: WebhookDestinationHooks = {},
) {
  const url = compileTemplate(config.url, 'url');
  const headers: CompiledHeader[] = Object.entries(config.headers).map(([name, value]) => ({
    name: name.toLowerCase(),
    template: compileTemplate(value),
  }));
  const signer: WebhookSigner | undefined = config.signing
    ? createWebhookSigner(config.signing.secret)
    : undefined;
  const redactText = createRedactor(secretsOf(config, headers));
  const redact = (text: string) => redactText(text);

  let policy;
  try {
    policy = createAddressPolicy(config.ssrf);
  } catch (err) {
    throw new ConfigError([{ path: 'ssrf.allow', message: (err as Error).message }]);
  }
  // The guard sits inside the socket connector, so every connection, redirect hops included, is
  // checked after DNS resolution with the address it then connects to.
  const agent = new Agent({
    connect: createGuardedConnector(policy, buildConnector, {
      connectTimeoutMs: config.timeout.connectMs,
      ...(hooks.resolveAll ? { resolveAll: hooks.resolveAll } : {}),
    }),
    headersTimeout: config.timeout.totalMs,
    bodyTimeout: config.timeout.totalMs,
    connections: Math.max(config.requestConcurrency * config.maxInFlight, 1),
  });

  const requests = ctx.metrics.counter({
    name: 'webhook_requests_total',
    help: 'Webhook requests by outcome (delivered, skipped_duplicate: already delivered by a repeat of its batch, retryable, fatal)',
    labelNames: ['outcome'],
  });
  const logger = ctx.logger.child({ destination: 'webhook' });
  // What was delivered, by webhook-id: a repeat (retry, take-over, replay) is not sent again.
  const sent = createDeliveryLedger({
    state: ctx.state,
    clock: ctx.clock,
    remember: config.rememberSent,
  });
  const markSent = async (key: string) => {
    if (!(await sent.add(key)))
      logger.warn(
        { key },
        'could not remember a delivered request in the store; a take-over or replay of its batch may send it again',
      );
  };
  let closing: Promise<void> | undefined;

  const staticUrl = url.isStatic ? new URL(config.url) : undefined;
  const renderUrl = (scope: TemplateScope): URL => {
    if (staticUrl) return staticUrl;
    const text = url.render(scope);
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw new TemplateRenderError('url', 'the rendered url is not a valid URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TemplateRenderError(
        'url',
        `the rendered url has protocol ${parsed.protocol}; only http: and https: are allowed`,
      );
    }
    return parsed;
  };

  const renderHeaders = (scope: TemplateScope): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const header of headers) {
      const value = header.template.render(scope);
      if (/[\r\n]/.test(value)) {
        throw new TemplateRenderError(
          `headers.${header.name}`,
          `header ${header.name} would contain a line break`,
        );
      }
      out[header.name] = value;
    }
    return out;
  };

  const build = (scope: TemplateScope, body: string, idempotencyKey: string): OutgoingRequest => {
    const ownHeaders: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': config.userAgent,
    };
    if (config.idempotencyHeader !== false)
      ownHeaders[config.idempotencyHeader.toLowerCase()] = idempotencyKey;
    if (signer)
      Object.assign(ownHeaders, signer.sign(idempotencyKey, ctx.clock.now() / 1000, body));
    return {
      url: renderUrl(scope),
      method: config.method,
      configuredHeaders: renderHeaders(scope),
      ownHeaders,
      body,
    };
  };

  const now = () => ctx.clock.now();
  const send = (request: OutgoingRequest, signal: AbortSignal) =>
    deliver(request, {
      dispatcher: agent,
      totalTimeoutMs: config.timeout.totalMs,
      maxRedirects: config.maxRedirects,
      signal,
      redact,
      now,
    });

  /** Counted once per write, not per request: the metric sits on the hot path. */
  const count = (attempted: number, failures: readonly RecordFailure[]) => {
    const retryable = failures.filter((f) => isRetryable(f.error)).length;
    if (attempted > failures.length)
      requests.inc({ outcome: 'delivered' }, attempted - failures.length);
    if (retryable > 0) requests.inc({ outcome: 'retryable' }, retryable);
    if (failures.length > retryable)
      requests.inc({ outcome: 'fatal' }, failures.length - retryable);
  };

  const writeBatch = async (batch: Batch, signal: AbortSignal) => {
    const scope: TemplateScope = { batch };
    const body =
      config.batchBody === 'array'
        ? JSON.stringify(batch.records)
        : JSON.stringify({
            batch: {
              id: batch.id,
              pipeline: batch.pipeline,
              runId: batch.runId,
              source: batch.source,
              route: batch.route ?? null,
            },
            records: batch.records,
          });
    if (await sent.has(batch.id)) {
      requests.inc({ outcome: 'skipped_duplicate' });
      return;
    }
    let request: OutgoingRequest;
    try {
      request = build(scope, body, batch.id);
    } catch (err) {
      throw asRecordError(err);
    }
    try {
      await send(request, signal);
      await markSent(batch.id);
      count(1, []);
    } catch (err) {
      count(1, [{ index: 0, error: err as Error }]);
      throw err;
    }
  };

  const writeRecords = async (batch: Batch, signal: AbortSignal) => {
    const failures: RecordFailure[] = [];
    let next = 0;
    let skipped = 0;
    const worker = async () => {
      while (next < batch.records.length) {
        const index = next++;
        const record = batch.records[index]!;
        // The router's record key is the same on a partial retry (new batch id, new index) and a
        // take-over; `<batch id>:<index>` only for batches built without one.
        const key = batch.recordKeys?.[index] ?? `${batch.id}:${index}`;
        try {
          if (await sent.has(key)) {
            skipped++;
            requests.inc({ outcome: 'skipped_duplicate' });
            continue;
          }
          const scope: TemplateScope = { record, batch, index };
          await send(build(scope, JSON.stringify(record), key), signal);
          await markSent(key);
        } catch (err) {
          failures.push({ index, error: asRecordError(err) });
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(config.requestConcurrency, batch.records.length) }, worker),
    );
    count(batch.records.length - skipped, failures);
    if (failures.length === 0) return;
    logger.warn(
      {
        batch: batch.id,
        failed: failures.length,
        of: batch.records.length,
        first: failures[0]!.error.message,
      },
      'webhook deliveries failed',
    );
    if (
      failures.length === batch.records.length &&
      failures.every((f) => f.error instanceof RetryableError)
    ) {
      // The whole batch hit the same outage: one retryable error keeps the router's backoff simple.
      const waits = failures.map((f) => (f.error as RetryableError).retryAfterMs ?? 0);
      const retryAfterMs = Math.max(...waits);
      throw new RetryableError(
        failures[0]!.error.message,
        retryAfterMs > 0 ? { retryAfterMs } : {},
      );
    }
    throw new PartialBatchError(failures);
  };

  /** Resolves the (static) target host through the same SSRF policy as real requests; sends nothing. */
  const check = async (): Promise<CheckResult> => {
    const probe = new URL(config.url.replace(/\{\{[^{}]*\}\}/g, 'x'));
    if (!staticUrl && /\{\{/.test(config.url.split('/').slice(0, 3).join('/'))) {
      return {
        ok: true,
        message: 'the host depends on the records; every request is checked when sent',
      };
    }
    const host = probe.hostname.replace(/^\[(.*)\]$/, '$1');
    try {
      const addresses = await resolveAllowed(policy, host, hooks.resolveAll);
      const list = addresses.map((a) => a.address);
      return list.length === 1 && list[0] === host
        ? { ok: true, message: `${probe.origin} is allowed` }
        : {
            ok: true,
            message: `${probe.origin} resolves to allowed address(es) ${list.join(', ')}`,
          };
    } catch (err) {
      if (err instanceof BlockedAddressError)
        return { ok: false, message: err.message, details: { range: err.range } };
      return { ok: false, message: `cannot resolve ${host}: ${(err as Error).message}` };
    }
  };

  return {
    check,
    async write(batch: Batch, options: { signal: AbortSignal }) {
      if (closing) throw new FatalError('the webhook destination is closed');
      if (batch.records.length === 0) return;
      if (config.mode === 'batch') await writeBatch(batch, options.signal);
      else await writeRecords(batch, options.signal);
    },
    close(): Promise<void> {
      closing ??= agent.close().then(() => undefined);
      return closing;
    },
  };
}

function asRecordError(err: unknown): Error {
  if (err instanceof TemplateRenderError)
    return new FatalError(err.message, { details: { field: err.field } });
  if (err instanceof Error) return err;
  return new RetryableError(String(err));
}

/** Values that must never appear in errors or logs: static header values, signing secret. */
function secretsOf(config: WebhookConfig, headers: readonly CompiledHeader[]): string[] {
  const secrets: string[] = [];
  for (const header of headers) {
    if (header.template.isStatic) secrets.push(header.template.source);
    else secrets.push(...header.template.literals.filter((text) => text.trim().length >= 8));
  }
  if (config.signing) {
    const { secret } = config.signing;
    // The key's base64 too, whether or not it was written with the prefix.
    const encoded = secret.startsWith(STANDARD_WEBHOOKS_SECRET_PREFIX)
      ? secret.slice(STANDARD_WEBHOOKS_SECRET_PREFIX.length)
      : secret;
    secrets.push(secret, encoded);
  }
  return secrets;
}
