/**
 * The e-mail destination's config schema (valibot): it validates, fills defaults, types the
 * config and is exported as JSON Schema for docs and editors. Templates are compiled and static
 * addresses checked here, so mistakes are `ConfigError`s naming the field.
 *
 * @packageDocumentation
 */
import { csvWriterConfigEntries } from '@sluice/core/csv';
import { ssrfOption } from '@sluice/core/net';
import * as v from 'valibot';
import {
  isStaticTemplate,
  templateReads,
  templateSchema,
  type OutputEscape,
} from '@sluice/core/template';
import { parseMailbox, parseMailboxList } from './address.js';
import { escapeHtml } from './escape.js';

const int = (min: number, max: number) =>
  v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));

const template = (escape?: OutputEscape) => templateSchema({ escape });

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
    if (!dataset.typed || !isStaticTemplate(dataset.value)) return;
    const parsed = parseMailboxList(dataset.value);
    if ('problems' in parsed) for (const problem of parsed.problems) addIssue({ message: problem });
  }),
);

/** One entry or a list; always a list after parsing (a single entry's issues are reported at `[0]`). */
const recipients = (description: string) =>
  v.pipe(
    v.union([v.string(), v.array(v.string())], 'must be an address or template, or a list of them'),
    // Before the transform: the JSON Schema export reads the input side of a pipe only.
    v.description(description),
    v.metadata({ examples: ['{{ record.owner_email }}', ['sales-ops@example.com']] }),
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
    smtp: v.pipe(
      v.strictObject({
        host: v.pipe(
          v.string(),
          v.minLength(1, 'must not be empty'),
          v.description('Host name of the SMTP server.'),
          v.metadata({ examples: ['smtp.example.com'] }),
        ),
        /** Default 465 with `secure`, else 587. */
        port: v.optional(
          v.pipe(
            int(1, 65_535),
            v.description('Port of the SMTP server. Absent: 465 with `secure`, else 587.'),
          ),
        ),
        /** Implicit TLS from the first byte (usually port 465). */
        secure: v.optional(
          v.pipe(
            v.boolean(),
            v.description('Implicit TLS from the first byte (usually port 465).'),
          ),
          false,
        ),
        /** Without `secure`: upgrade with STARTTLS when offered (`opportunistic`), insist on it (`required`), or never (`disabled`). */
        startTls: v.optional(
          v.pipe(
            v.picklist(
              ['opportunistic', 'required', 'disabled'],
              'must be opportunistic, required or disabled',
            ),
            v.description(
              'Without `secure`: upgrade with STARTTLS when offered (`opportunistic`), insist on it (`required`), or never (`disabled`).',
            ),
          ),
          'opportunistic',
        ),
        auth: v.optional(
          v.pipe(
            v.strictObject({
              user: v.pipe(v.string(), v.minLength(1), v.description('SMTP user name.')),
              pass: v.pipe(
                v.string(),
                v.description(
                  'SMTP password; use a secret reference such as `${env:SMTP_PASSWORD}`.',
                ),
              ),
            }),
            v.description('SMTP authentication. Absent: send without logging in.'),
          ),
        ),
        tls: v.optional(
          v.pipe(
            v.strictObject({
              /** Verify the server certificate (turn off only for tests and self-signed relays). */
              rejectUnauthorized: v.optional(
                v.pipe(
                  v.boolean(),
                  v.description(
                    'Verify the server certificate (turn off only for tests and self-signed relays).',
                  ),
                ),
                true,
              ),
              /** Name to verify the certificate against, when it differs from `host`. */
              servername: v.optional(
                v.pipe(
                  v.string(),
                  v.description(
                    'Name to verify the certificate against, when it differs from `host`.',
                  ),
                ),
              ),
              minVersion: v.optional(
                v.pipe(
                  v.picklist(['TLSv1.2', 'TLSv1.3']),
                  v.description('Oldest TLS version accepted.'),
                ),
                'TLSv1.2',
              ),
              /** Extra trusted CA certificates (PEM). */
              ca: v.optional(
                v.pipe(
                  v.string(),
                  v.description(
                    'Extra trusted CA certificates (PEM), e.g. `${file:./relay-ca.pem}`.',
                  ),
                ),
              ),
            }),
            v.description('TLS settings of the SMTP connection.'),
          ),
          {},
        ),
        /** Host name announced in EHLO (default: the machine's name). */
        name: v.optional(
          v.pipe(
            v.string(),
            v.minLength(1),
            v.description("Host name announced in EHLO. Absent: the machine's name."),
          ),
        ),
        connectionTimeoutMs: v.optional(
          v.pipe(
            int(100, 120_000),
            v.description('Time to connect to the server, in milliseconds.'),
          ),
          10_000,
        ),
        greetingTimeoutMs: v.optional(
          v.pipe(
            int(100, 120_000),
            v.description(
              "Time to wait for the server's greeting after connecting, in milliseconds.",
            ),
          ),
          10_000,
        ),
        socketTimeoutMs: v.optional(
          v.pipe(
            int(100, 600_000),
            v.description(
              'Time a connection may stay silent before it is closed, in milliseconds.',
            ),
          ),
          60_000,
        ),
      }),
      v.description('The SMTP server the e-mails are sent through.'),
    ),
    /** Outgoing-connection guard for `smtp.host`: internal addresses are refused unless allowed. */
    ssrf: ssrfOption,
    from: v.pipe(
      mailbox,
      v.description('Sender address, `Name <address>` or `address`.'),
      v.metadata({ examples: ['Sluice Reports <reports@example.com>'] }),
    ),
    replyTo: v.optional(
      v.pipe(mailbox, v.description('Reply-To address. Absent: replies go to `from`.')),
    ),
    to: recipients(
      'Recipients: an address, a comma-separated list, a template such as `{{ record.owner_email }}` (record mode), or a list of them.',
    ),
    cc: v.optional(recipients('Carbon-copy recipients, in the same forms as `to`.')),
    bcc: v.optional(recipients('Blind-carbon-copy recipients, in the same forms as `to`.')),
    /** `record`: one e-mail per record; `digest`: one e-mail per batch (templates see `records`). */
    mode: v.optional(
      v.pipe(
        v.picklist(['record', 'digest'], 'must be record or digest'),
        v.description(
          '`record`: one e-mail per record (templates see `record`); `digest`: one e-mail per batch (templates see `records`).',
        ),
      ),
      'record',
    ),
    subject: v.pipe(
      template(),
      v.description('Subject line: a Liquid template.'),
      v.metadata({ examples: ['Deal {{ record.name }} closed'] }),
    ),
    /** Plain-text body. In digest mode, defaults to a table of the rows when neither body is set. */
    text: v.optional(
      v.pipe(
        template(),
        v.description(
          'Plain-text body: a Liquid template. In digest mode without `text` and `html`, a table of the records.',
        ),
      ),
    ),
    /** HTML body; inserted values are HTML-escaped (use `| raw` for trusted markup). */
    html: v.optional(
      v.pipe(
        template(escapeHtml),
        v.description(
          'HTML body: a Liquid template whose inserted values are HTML-escaped (`| raw` for trusted markup).',
        ),
      ),
    ),
    /** Attach the records (the record, or the batch in digest mode) as CSV or NDJSON. */
    attachment: v.optional(
      v.pipe(
        v.strictObject({
          format: v.pipe(
            v.picklist(['csv', 'ndjson'], 'must be csv or ndjson'),
            v.description('File format of the attachment.'),
          ),
          /** File name template (batch fields only), default `records-{{ batch.id }}.<format>`. */
          filename: v.optional(
            v.pipe(
              template(),
              v.description(
                'File name template (batch fields only). Absent: `records-{{ batch.id }}.<format>`.',
              ),
              v.metadata({ examples: ['drops-{{ batch.id }}.csv'] }),
            ),
          ),
          // CSV only: nullAs and escapeFormulas (OWASP CSV injection), from core's one CSV writer.
          ...csvWriterConfigEntries,
        }),
        v.description(
          "Attach the record (or, in digest mode, the batch's records) as a CSV or NDJSON file.",
        ),
      ),
    ),
    /** Extra headers (`X-*` only), static text. */
    headers: v.optional(
      v.pipe(
        v.record(
          v.pipe(v.string(), v.regex(HEADER_NAME, 'must be an X-... header name')),
          v.pipe(v.string(), v.regex(/^[^\r\n]*$/, 'must not contain line breaks')),
        ),
        v.description('Extra headers (`X-*` names only), static text.'),
        v.metadata({ examples: [{ 'X-Campaign': 'weekly-drops' }] }),
      ),
      {},
    ),
    /** Domain of the Message-ID (`<batch.index@domain>`); default: the domain of `from`. */
    messageIdDomain: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^[A-Za-z0-9.-]+$/, 'must be a domain name'),
        v.description(
          'Domain of the deterministic Message-ID (`<record-key@domain>`, `<batch-id.digest@domain>` for a digest). Absent: the domain of `from`.',
        ),
      ),
    ),
    /** E-mails sent at the same time (SMTP connections in the pool). */
    sendConcurrency: v.optional(
      v.pipe(
        int(1, 32),
        v.description('E-mails sent at the same time (SMTP connections in the pool).'),
      ),
      2,
    ),
    /** Sent e-mails remembered (in memory when there is no store; the store keeps them 7 days); 0 turns the sent-ledger off. */
    rememberSent: v.optional(
      v.pipe(
        int(0, 1_000_000),
        v.description(
          'Sent e-mails remembered in memory when there is no store (the server keeps them 7 days in its store), so a repeated batch does not send them twice; 0 turns this off.',
        ),
      ),
      10_000,
    ),
    /** Largest batch the router hands over. */
    maxBatch: v.optional(
      v.pipe(int(1, 100_000), v.description('Largest batch the router sends to this destination.')),
      500,
    ),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const config = dataset.value;
    const at = (key: string, value: unknown): [v.ObjectPathItem] => [
      { type: 'object', origin: 'value', input: config, key, value },
    ];
    if (config.mode === 'record' && config.text === undefined && config.html === undefined) {
      addIssue({ message: 'give text or html (or both)', path: at('text', config.text) });
    }
    const check = (key: string, source: string | undefined, escape?: OutputEscape) => {
      if (source === undefined) return;
      const value = (config as Record<string, unknown>)[key];
      if (config.mode === 'digest' && templateReads(source, 'record', escape))
        addIssue({
          message:
            'digest mode sends one e-mail per batch: use records (a list) or batch, not record',
          path: at(key, value),
        });
      if (config.mode === 'record' && templateReads(source, 'records', escape))
        addIssue({
          message:
            'record mode sends one e-mail per record: use record, not records (or set mode: digest)',
          path: at(key, value),
        });
    };
    check('subject', config.subject);
    check('text', config.text);
    check('html', config.html, escapeHtml);
    for (const key of ['to', 'cc', 'bcc'] as const) {
      const list = config[key];
      if (!list) continue;
      list.forEach((source, index) => {
        if (config.mode === 'digest' && templateReads(source, 'record')) {
          addIssue({
            message: 'digest mode sends one e-mail per batch: recipients cannot come from a record',
            path: [
              ...at(key, list),
              { type: 'array', origin: 'value', input: list, key: index, value: source },
            ],
          });
        }
      });
    }
    const filename = config.attachment?.filename;
    if (
      filename !== undefined &&
      (templateReads(filename, 'record') || templateReads(filename, 'records'))
    ) {
      addIssue({
        message: 'the attachment name can use batch fields only',
        path: [
          ...at('attachment', config.attachment),
          {
            type: 'object',
            origin: 'value',
            input: config.attachment!,
            key: 'filename',
            value: filename,
          },
        ],
      });
    }
  }),
);

/** Raw (input) config of the e-mail destination. */
export type EmailConfigInput = v.InferInput<typeof emailConfigSchema>;

/** Parsed config of the e-mail destination, with defaults filled in. */
export type EmailConfig = v.InferOutput<typeof emailConfigSchema>;
