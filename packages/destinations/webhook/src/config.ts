/**
 * The webhook destination's config schema (valibot): it validates, fills defaults, types the
 * config and is exported as JSON Schema for docs and editors.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { ssrfOption } from '@sluice/core/net';
import { signingSecretProblem } from '@sluice/core/standard-webhooks';
import { compileTemplate } from './template.js';

function templateString(extra?: (source: string) => string | undefined) {
  return v.pipe(
    v.string(),
    v.minLength(1, 'must not be empty'),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      try {
        compileTemplate(dataset.value);
      } catch (err) {
        addIssue({ message: (err as Error).message });
        return;
      }
      const problem = extra?.(dataset.value);
      if (problem) addIssue({ message: problem });
    }),
  );
}

function urlTemplateProblem(source: string): string | undefined {
  // Substitute a harmless value for each placeholder so the fixed parts can be checked now.
  const probe = source.replace(/\{\{[\s\S]*?\}\}/g, 'x').replace(/\{%[\s\S]*?%\}/g, '');
  let url: URL;
  try {
    url = new URL(probe);
  } catch {
    return 'must be an absolute http(s) URL, e.g. https://hooks.example.com/{{ record.tenant }}';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `protocol ${url.protocol} is not http: or https:`;
  if (url.username !== '' || url.password !== '') {
    return 'must not contain credentials; put them in headers (e.g. authorization) instead';
  }
  return undefined;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED_HEADERS = new Set([
  'content-length',
  'host',
  'transfer-encoding',
  'connection',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]);

const headerName = v.pipe(v.string(), v.regex(HEADER_NAME, 'is not a valid HTTP header name'));

const positiveMs = (fallback: number, description: string) =>
  v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1, 'must be >= 1 ms'),
      v.maxValue(3_600_000, 'must be <= 1 h'),
      v.description(description),
    ),
    fallback,
  );

/**
 * Config of the `webhook` destination.
 *
 * @example
 * ```ts
 * const config = v.parse(webhookConfigSchema, {
 *   url: 'https://hooks.example.com/{{ record.tenant }}/events',
 *   headers: { authorization: 'Bearer s3cr3t' },
 *   signing: { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
 * });
 * ```
 */
export const webhookConfigSchema = v.pipe(
  v.strictObject({
    /** Target URL; may contain `{{ record.* }}`, `{{ batch.* }}` and `{{ index }}` placeholders. */
    url: v.pipe(
      templateString(urlTemplateProblem),
      v.description(
        'Target http(s) URL; may contain `{{ record.* }}` (record mode), `{{ batch.* }}` and `{{ index }}` placeholders.',
      ),
      v.metadata({ examples: ['https://hooks.example.com/tenants/{{ record.tenant }}/events'] }),
    ),
    method: v.optional(
      v.pipe(v.picklist(['POST', 'PUT', 'PATCH']), v.description('HTTP method of each request.')),
      'POST',
    ),
    /** `record`: one request per record (body = the record); `batch`: one request per batch. */
    mode: v.optional(
      v.pipe(
        v.picklist(['record', 'batch']),
        v.description(
          '`record`: one request per record (the body is the record); `batch`: one request per batch.',
        ),
      ),
      'record',
    ),
    /** Batch mode body: a JSON array of records, or `{ batch: {...}, records: [...] }`. */
    batchBody: v.optional(
      v.pipe(
        v.picklist(['array', 'envelope']),
        v.description(
          'Body in batch mode: `array` (a JSON array of records) or `envelope` (`{ batch: {...}, records: [...] }`).',
        ),
      ),
      'array',
    ),
    /** Extra headers; values may contain placeholders and are treated as secrets (redacted). */
    headers: v.optional(
      v.pipe(
        v.record(
          headerName,
          templateString((value) =>
            /[\r\n]/.test(value) ? 'must not contain line breaks' : undefined,
          ),
        ),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          for (const name of Object.keys(dataset.value)) {
            if (RESERVED_HEADERS.has(name.toLowerCase())) {
              addIssue({
                message: `header ${name} is set by the destination itself`,
                path: [
                  {
                    type: 'object',
                    origin: 'key',
                    input: dataset.value,
                    key: name,
                    value: dataset.value[name],
                  },
                ],
              });
            }
          }
        }),
        v.description(
          'Extra request headers by name; values may contain placeholders and are treated as secrets (redacted).',
        ),
        v.metadata({ examples: [{ authorization: 'Bearer ${env:CRM_TOKEN}' }] }),
      ),
      {},
    ),
    timeout: v.optional(
      v.pipe(
        v.strictObject({
          /** Time to establish the connection (TCP + TLS). */
          connectMs: positiveMs(
            5_000,
            'Time to establish the connection (TCP and TLS), in milliseconds.',
          ),
          /** Time for the whole request: connect, send, response headers and body. */
          totalMs: positiveMs(
            30_000,
            'Time for the whole request (connect, send, response headers and body), in milliseconds.',
          ),
        }),
        v.description('Time limits of one request; a timed-out request is retried.'),
      ),
      {},
    ),
    /** Requests sent at the same time within one batch in `record` mode. */
    requestConcurrency: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1),
        v.maxValue(256),
        v.description('Requests sent at the same time within one batch, in `record` mode.'),
      ),
      8,
    ),
    /** Largest batch the router hands over. */
    maxBatch: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1),
        v.maxValue(100_000),
        v.description('Largest batch the router sends to this destination.'),
      ),
      500,
    ),
    /** Delivered requests remembered in memory (the store keeps them 7 days); 0 turns the delivery ledger off. */
    rememberSent: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(0),
        v.maxValue(1_000_000),
        v.description(
          'Delivered requests (their webhook-id) remembered in memory when there is no store (the server keeps them 7 days in its store), so a repeated batch — a retry, a take-over after a crash, a replay — is not sent again; `0` turns this off (for receivers that de-duplicate on webhook-id themselves).',
        ),
      ),
      10_000,
    ),
    /** Batches written at the same time. */
    maxInFlight: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(1),
        v.maxValue(64),
        v.description('Batches delivered at the same time.'),
      ),
      2,
    ),
    /** Redirects followed (307/308 only; each hop is re-checked against the SSRF policy). 0 = none. */
    maxRedirects: v.optional(
      v.pipe(
        v.number(),
        v.integer(),
        v.minValue(0),
        v.maxValue(10),
        v.description(
          'Redirects followed (307 and 308 only, each hop re-checked against the SSRF policy); `0` follows none.',
        ),
      ),
      3,
    ),
    /** Header carrying `<batch id>` (batch mode) or the router's record key (record mode); `false` = none. */
    idempotencyHeader: v.optional(
      v.pipe(
        v.union([headerName, v.literal(false)]),
        v.description(
          'Header carrying `<batch id>` (batch mode) or the record key (record mode: `<pipeline>-<run id>-<destination>-r<position>`, the same on a partial retry), so the receiver can drop retried deliveries; `false` sends none.',
        ),
      ),
      'idempotency-key',
    ),
    /** Standard Webhooks signing. */
    signing: v.optional(
      v.pipe(
        v.strictObject({
          secret: v.pipe(
            v.string(),
            v.description(
              'Signing secret shared with the receiver: `whsec_<base64>` or the bare `<base64>` (standard alphabet, `=` padding optional; a key of at least 16 bytes); use a secret reference such as `${env:CRM_WEBHOOK_SECRET}`.',
            ),
            v.metadata({ examples: ['${env:CRM_WEBHOOK_SECRET}'] }),
            v.rawCheck(({ dataset, addIssue }) => {
              if (!dataset.typed) return;
              const problem = signingSecretProblem(dataset.value);
              if (problem) addIssue({ message: problem });
            }),
          ),
        }),
        v.description(
          'Sign every request the Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature` headers).',
        ),
      ),
    ),
    /** SSRF protection (the one guard of `@sluice/core/net`): on by default; `allow` lists exceptions. */
    ssrf: ssrfOption,
    userAgent: v.optional(
      v.pipe(v.string(), v.minLength(1), v.description('The `user-agent` header of each request.')),
      'sluice-webhook/0.1',
    ),
  }),
  v.forward(
    v.partialCheck(
      [['mode'], ['url']],
      (input) => {
        if (input.mode !== 'batch') return true;
        try {
          return !compileTemplate(input.url).perRecord;
        } catch {
          return true; // already reported on `url`
        }
      },
      'in batch mode the URL can only use {{ batch.* }} placeholders (one request carries many records)',
    ),
    ['url'],
  ),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed || dataset.value.mode !== 'batch') return;
    const headers = dataset.value.headers;
    for (const [name, value] of Object.entries(headers)) {
      let perRecord: boolean;
      try {
        perRecord = compileTemplate(value).perRecord;
      } catch {
        continue; // already reported on the header
      }
      if (!perRecord) continue;
      addIssue({
        message: 'in batch mode headers can only use {{ batch.* }} placeholders',
        path: [
          { type: 'object', origin: 'value', input: dataset.value, key: 'headers', value: headers },
          { type: 'object', origin: 'value', input: headers, key: name, value },
        ],
      });
    }
  }),
);

/** Raw (input) config of the webhook destination. */
export type WebhookConfigInput = v.InferInput<typeof webhookConfigSchema>;

/** Parsed config of the webhook destination, with defaults filled in. */
export type WebhookConfig = v.InferOutput<typeof webhookConfigSchema>;
