/**
 * The e-mail destination's config schema (valibot): it validates, fills defaults, types the
 * config and is exported as JSON Schema for docs and editors. Templates are compiled and static
 * addresses checked here, so mistakes are `ConfigError`s naming the field.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { parseMailbox, parseMailboxList } from './address.js';
import { escapeHtml } from './escape.js';
import { compileTemplate, templateProblem, type OutputEscape } from './template.js';

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));

function template(escape?: OutputEscape) {
  return v.pipe(
    v.string(),
    v.minLength(1, 'must not be empty'),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const problem = templateProblem(dataset.value, escape);
      if (problem) addIssue({ message: problem });
    }),
  );
}

const isStatic = (source: string) => !source.includes('{{') && !source.includes('{%');

const mailbox = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const parsed = parseMailbox(dataset.value);
    if (typeof parsed === 'string') addIssue({ message: parsed });
  }),
);

/** One recipient entry: an address (list), or a template such as `{{ record.email }}`. */
const recipient = v.pipe(
  template(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed || !isStatic(dataset.value)) return;
    const parsed = parseMailboxList(dataset.value);
    if ('problems' in parsed) for (const problem of parsed.problems) addIssue({ message: problem });
  }),
);

/** One entry or a list; always a list after parsing (a single entry's issues are reported at `[0]`). */
const recipients = v.pipe(
  v.union([v.string(), v.array(v.string())], 'must be an address or template, or a list of them'),
  v.transform((value) => (Array.isArray(value) ? value : [value])),
  v.array(recipient),
  v.minLength(1, 'list at least one recipient'),
);

const HEADER_NAME = /^X-[A-Za-z0-9-]+$/;

/**
 * Config of the `email` destination.
 *
 * @example
 * ```ts
 * const config = v.parse(emailConfigSchema, {
 *   smtp: { host: 'smtp.example.com', port: 587, auth: { user: 'sluice', pass: 's3cr3t' } },
 *   from: 'Sluice <sluice@example.com>',
 *   to: '{{ record.owner_email }}',
 *   subject: 'Deal {{ record.name }} closed',
 *   text: 'Amount: {{ record.amount }}',
 * });
 * ```
 */
export const emailConfigSchema = v.pipe(
  v.strictObject({
    smtp: v.strictObject({
      host: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
      /** Default 465 with `secure`, else 587. */
      port: v.optional(int(1, 65_535)),
      /** Implicit TLS from the first byte (usually port 465). */
      secure: v.optional(v.boolean(), false),
      /** Without `secure`: upgrade with STARTTLS when offered (`opportunistic`), insist on it (`required`), or never (`disabled`). */
      startTls: v.optional(v.picklist(['opportunistic', 'required', 'disabled'], 'must be opportunistic, required or disabled'), 'opportunistic'),
      auth: v.optional(v.strictObject({ user: v.pipe(v.string(), v.minLength(1)), pass: v.string() })),
      tls: v.optional(
        v.strictObject({
          /** Verify the server certificate (turn off only for tests and self-signed relays). */
          rejectUnauthorized: v.optional(v.boolean(), true),
          /** Name to verify the certificate against, when it differs from `host`. */
          servername: v.optional(v.string()),
          minVersion: v.optional(v.picklist(['TLSv1.2', 'TLSv1.3']), 'TLSv1.2'),
          /** Extra trusted CA certificates (PEM). */
          ca: v.optional(v.string()),
        }),
        {},
      ),
      /** Host name announced in EHLO (default: the machine's name). */
      name: v.optional(v.pipe(v.string(), v.minLength(1))),
      connectionTimeoutMs: v.optional(int(100, 120_000), 10_000),
      greetingTimeoutMs: v.optional(int(100, 120_000), 10_000),
      socketTimeoutMs: v.optional(int(100, 600_000), 60_000),
    }),
    from: mailbox,
    replyTo: v.optional(mailbox),
    to: recipients,
    cc: v.optional(recipients),
    bcc: v.optional(recipients),
    /** `record`: one e-mail per record; `digest`: one e-mail per batch (templates see `records`). */
    mode: v.optional(v.picklist(['record', 'digest'], 'must be record or digest'), 'record'),
    subject: template(),
    /** Plain-text body. In digest mode, defaults to a table of the rows when neither body is set. */
    text: v.optional(template()),
    /** HTML body; inserted values are HTML-escaped (use `| raw` for trusted markup). */
    html: v.optional(template(escapeHtml)),
    /** Attach the records (the record, or the batch in digest mode) as CSV or NDJSON. */
    attachment: v.optional(
      v.strictObject({
        format: v.picklist(['csv', 'ndjson'], 'must be csv or ndjson'),
        /** File name template (batch fields only), default `records-{{ batch.id }}.<format>`. */
        filename: v.optional(template()),
      }),
    ),
    /** Extra headers (`X-*` only), static text. */
    headers: v.optional(v.record(v.pipe(v.string(), v.regex(HEADER_NAME, 'must be an X-... header name')), v.pipe(v.string(), v.regex(/^[^\r\n]*$/, 'must not contain line breaks'))), {}),
    /** Domain of the Message-ID (`<batch.index@domain>`); default: the domain of `from`. */
    messageIdDomain: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9.-]+$/, 'must be a domain name'))),
    /** E-mails sent at the same time (SMTP connections in the pool). */
    concurrency: v.optional(int(1, 32), 2),
    /** (batch id, index) pairs remembered as sent, so a retried batch skips them. */
    rememberSent: v.optional(int(0, 1_000_000), 10_000),
    /** Largest batch the router hands over. */
    maxBatch: v.optional(int(1, 100_000), 500),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const config = dataset.value;
    const at = (key: string, value: unknown): [v.ObjectPathItem] => [{ type: 'object', origin: 'value', input: config, key, value }];
    if (config.mode === 'record' && config.text === undefined && config.html === undefined) {
      addIssue({ message: 'give text or html (or both)', path: at('text', config.text) });
    }
    const uses = (source: string, variable: string, escape?: OutputEscape) => {
      try {
        return compileTemplate('', source, escape).globals.includes(variable);
      } catch {
        return false;
      }
    };
    const check = (key: string, source: string | undefined, escape?: OutputEscape) => {
      if (source === undefined) return;
      const value = (config as Record<string, unknown>)[key];
      if (config.mode === 'digest' && uses(source, 'record', escape)) addIssue({ message: 'digest mode sends one e-mail per batch: use records (a list) or batch, not record', path: at(key, value) });
      if (config.mode === 'record' && uses(source, 'records', escape)) addIssue({ message: 'record mode sends one e-mail per record: use record, not records (or set mode: digest)', path: at(key, value) });
    };
    check('subject', config.subject);
    check('text', config.text);
    check('html', config.html, escapeHtml);
    for (const key of ['to', 'cc', 'bcc'] as const) {
      const list = config[key];
      if (!list) continue;
      list.forEach((source, index) => {
        if (config.mode === 'digest' && uses(source, 'record')) {
          addIssue({ message: 'digest mode sends one e-mail per batch: recipients cannot come from a record', path: [...at(key, list), { type: 'array', origin: 'value', input: list, key: index, value: source }] });
        }
      });
    }
    const filename = config.attachment?.filename;
    if (filename !== undefined && (uses(filename, 'record') || uses(filename, 'records'))) {
      addIssue({
        message: 'the attachment name can use batch fields only',
        path: [...at('attachment', config.attachment), { type: 'object', origin: 'value', input: config.attachment!, key: 'filename', value: filename }],
      });
    }
  }),
);

/** Raw (input) config of the e-mail destination. */
export type EmailConfigInput = v.InferInput<typeof emailConfigSchema>;

/** Parsed config of the e-mail destination, with defaults filled in. */
export type EmailConfig = v.InferOutput<typeof emailConfigSchema>;
