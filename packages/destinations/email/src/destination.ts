/**
 * The `email` destination: sends records by SMTP (nodemailer) — one e-mail per record or one
 * digest per batch — with liquidjs subject/text/HTML templates, recipients from config or
 * records, the records attached as CSV or NDJSON, and Message-IDs derived from the batch id.
 *
 * @packageDocumentation
 */
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  createDeliveryLedger,
  createRedactor,
  type Batch,
  type CheckResult,
  type DestinationInstance,
  type JsonValue,
  type PluginContext,
  type RecordFailure,
  type SluiceError,
  type SluiceRecord,
} from '@sluice/core';
import { connectGuardedSocket, createAddressPolicy } from '@sluice/core/net';
import { TemplateError, compileTemplate, type CompiledTemplate } from '@sluice/core/template';
import { formatMailbox, parseMailbox, parseMailboxList, type Mailbox } from './address.js';
import { columnsOf, encodeAttachment } from './attachment.js';
import type { EmailConfig } from './config.js';
import { DEFAULT_DIGEST_HTML, DEFAULT_DIGEST_TEXT } from './digest-templates.js';
import { escapeHtml } from './escape.js';
import { messageIdFor } from './message-id.js';
import { mailKey } from './mail-key.js';
import { mapSmtpError } from './errors.js';

/** The batch fields templates see as `batch.*`. */
function batchScope(batch: Batch) {
  return {
    id: batch.id,
    pipeline: batch.pipeline,
    runId: batch.runId,
    source: batch.source,
    route: batch.route ?? '',
    attempt: batch.attempt,
    size: batch.records.length,
  };
}

/** A record that cannot become an e-mail (bad template value, bad address). */
class MailContentError extends FatalError {}

/** One e-mail ready to send. */
interface OutgoingMail {
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  subject: string;
  text?: string;
  html?: string;
  records: readonly SluiceRecord[];
  messageId: string;
  index: number | 'digest';
}

function cellText(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Builds the nodemailer transport options for a config. */
function transportOptions(config: EmailConfig): SMTPPool.Options {
  const smtp = config.smtp;
  const port = smtp.port ?? (smtp.secure ? 465 : 587);
  const policy = createAddressPolicy(config.ssrf);
  return {
    pool: true,
    maxConnections: config.sendConcurrency,
    host: smtp.host,
    port,
    // nodemailer resolves host names itself (dns.resolve, which also skips /etc/hosts); instead
    // every connection is opened here through the outgoing-connection guard and handed over
    // connected. nodemailer still runs STARTTLS / implicit TLS over it, verifying the
    // certificate against smtp.host (or smtp.tls.servername).
    getSocket: (_options, callback) => {
      connectGuardedSocket(policy, {
        host: smtp.host,
        port,
        timeoutMs: smtp.connectionTimeoutMs,
      }).then(
        (socket) => callback(null, { connection: socket }),
        (err: unknown) => callback(err as Error, undefined),
      );
    },
    secure: smtp.secure,
    requireTLS: smtp.startTls === 'required',
    ignoreTLS: smtp.startTls === 'disabled',
    ...(smtp.auth ? { auth: { user: smtp.auth.user, pass: smtp.auth.pass } } : {}),
    tls: {
      rejectUnauthorized: smtp.tls.rejectUnauthorized,
      minVersion: smtp.tls.minVersion,
      ...(smtp.tls.servername ? { servername: smtp.tls.servername } : {}),
      ...(smtp.tls.ca ? { ca: smtp.tls.ca } : {}),
    },
    ...(smtp.name ? { name: smtp.name } : {}),
    connectionTimeout: smtp.connectionTimeoutMs,
    greetingTimeout: smtp.greetingTimeoutMs,
    socketTimeout: smtp.socketTimeoutMs,
    // Nodemailer logs through its own logger only when asked; keep it quiet.
    logger: false,
  };
}

/**
 * Creates a live e-mail destination from a parsed config. Most users go through
 * {@link emailDestination} and the registry; this is the embedding entry point.
 *
 * @example
 * ```ts
 * const mail = createEmailDestination(parseConfig(emailConfigSchema, raw), createPluginContext());
 * await mail.write(batch, { signal });
 * await mail.close?.();
 * ```
 */
export function createEmailDestination(
  config: EmailConfig,
  ctx: PluginContext,
): DestinationInstance {
  const digest = config.mode === 'digest';
  const subject = compileTemplate('subject', config.subject);
  const useDefaults = digest && config.text === undefined && config.html === undefined;
  const text =
    config.text !== undefined
      ? compileTemplate('text', config.text)
      : useDefaults
        ? compileTemplate('text', DEFAULT_DIGEST_TEXT)
        : undefined;
  const html =
    config.html !== undefined
      ? compileTemplate('html', config.html, escapeHtml)
      : useDefaults
        ? compileTemplate('html', DEFAULT_DIGEST_HTML, escapeHtml)
        : undefined;
  const recipients = (key: 'to' | 'cc' | 'bcc') =>
    (config[key] ?? []).map((source, i) => compileTemplate(`${key}[${i}]`, source));
  const to = recipients('to');
  const cc = recipients('cc');
  const bcc = recipients('bcc');
  const filename = compileTemplate(
    'attachment.filename',
    config.attachment?.filename ?? `records-{{ batch.id }}.${config.attachment?.format ?? 'csv'}`,
  );
  const from = parseMailbox(config.from) as Mailbox;
  const replyTo =
    config.replyTo === undefined ? undefined : (parseMailbox(config.replyTo) as Mailbox);
  const domain = config.messageIdDomain ?? from.address.split('@')[1]!;
  const transport = nodemailer.createTransport(transportOptions(config));
  const sent = createDeliveryLedger({
    state: ctx.state,
    clock: ctx.clock,
    remember: config.rememberSent,
  });
  const logger = ctx.logger.child({ destination: 'email' });
  const redact = createRedactor(config.smtp.auth ? [config.smtp.auth.pass] : []);
  const mails = ctx.metrics.counter({
    name: 'email_messages_total',
    help: 'E-mails by outcome (sent, skipped_duplicate, retryable, fatal)',
    labelNames: ['outcome'],
  });
  let closed = false;

  const renderRecipients = (templates: readonly CompiledTemplate[], scope: object): Mailbox[] =>
    templates.flatMap((template) => {
      const rendered = template.render(scope);
      const parsed = parseMailboxList(rendered);
      if ('problems' in parsed)
        throw new MailContentError(`${template.name}: ${parsed.problems.join('; ')}`, {
          details: { field: template.name },
        });
      return parsed.mailboxes;
    });

  const build = (
    batch: Batch,
    index: number | 'digest',
    records: readonly SluiceRecord[],
    scope: object,
  ): OutgoingMail => {
    const mail: OutgoingMail = {
      to: renderRecipients(to, scope),
      cc: renderRecipients(cc, scope),
      bcc: renderRecipients(bcc, scope),
      subject: subject
        .render(scope)
        .replace(/[\r\n]+/g, ' ')
        .trim(),
      records,
      messageId: messageIdFor(mailKey(batch, index), domain),
      index,
    };
    if (mail.to.length + mail.cc.length + mail.bcc.length === 0)
      throw new MailContentError('no recipient: to, cc and bcc all rendered empty', {
        details: { field: 'to' },
      });
    if (text) mail.text = text.render(scope);
    if (html) mail.html = html.render(scope);
    return mail;
  };

  const send = async (mail: OutgoingMail, batch: Batch) => {
    const info = await transport.sendMail({
      from: formatMailbox(from),
      ...(replyTo ? { replyTo: formatMailbox(replyTo) } : {}),
      to: mail.to.map(formatMailbox),
      ...(mail.cc.length > 0 ? { cc: mail.cc.map(formatMailbox) } : {}),
      ...(mail.bcc.length > 0 ? { bcc: mail.bcc.map(formatMailbox) } : {}),
      subject: mail.subject,
      ...(mail.text !== undefined ? { text: mail.text } : {}),
      ...(mail.html !== undefined ? { html: mail.html } : {}),
      messageId: mail.messageId,
      headers: {
        ...config.headers,
        'X-Sluice-Batch-Id': batch.id,
        'X-Sluice-Pipeline': batch.pipeline,
        'X-Sluice-Record-Index': String(mail.index),
      },
      ...(config.attachment
        ? {
            attachments: [
              {
                filename: filename.render({ batch: batchScope(batch) }),
                content: encodeAttachment(
                  mail.records,
                  config.attachment.format,
                  config.attachment,
                ),
                contentType:
                  config.attachment.format === 'csv'
                    ? 'text/csv; charset=utf-8'
                    : 'application/x-ndjson; charset=utf-8',
              },
            ],
          }
        : {}),
    });
    const rejected = (info as { rejected?: unknown[] }).rejected ?? [];
    if (rejected.length > 0)
      logger.warn(
        { messageId: mail.messageId, rejected: rejected.map(String) },
        'the SMTP server refused some recipients; the e-mail went to the others',
      );
  };

  const asFailure = (err: unknown): { error: SluiceError; scope: 'record' | 'batch' } => {
    if (err instanceof TemplateError) {
      return {
        error: new MailContentError(err.message, {
          details: {
            field: err.template,
            ...(err.variable ? { variable: err.variable } : {}),
          } as Record<string, JsonValue>,
        }),
        scope: 'record',
      };
    }
    if (err instanceof MailContentError) return { error: err, scope: 'record' };
    const failure = mapSmtpError(err);
    failure.error.message = redact(failure.error.message);
    return failure;
  };

  const writeDigest = async (batch: Batch) => {
    const key = mailKey(batch, 'digest');
    if (await sent.has(key)) {
      mails.inc({ outcome: 'skipped_duplicate' });
      return;
    }
    const columns = columnsOf(batch.records);
    const rows = batch.records.map((r) => columns.map((c) => cellText(r[c])));
    try {
      const mail = build(batch, 'digest', batch.records, {
        records: batch.records,
        batch: batchScope(batch),
        count: batch.records.length,
        columns,
        rows,
      });
      await send(mail, batch);
      if (!(await sent.add(key)))
        logger.warn(
          { key },
          'could not remember a sent e-mail in the store; a take-over or replay of its batch may send it again',
        );
      mails.inc({ outcome: 'sent' });
    } catch (err) {
      const { error } = asFailure(err);
      mails.inc({ outcome: error instanceof RetryableError ? 'retryable' : 'fatal' });
      throw error;
    }
  };

  const writeRecords = async (batch: Batch, signal: AbortSignal) => {
    const failures: RecordFailure[] = [];
    const scope = batchScope(batch);
    let delivered = 0;
    let stop: SluiceError | undefined;
    let next = 0;
    const worker = async () => {
      while (next < batch.records.length) {
        const index = next++;
        const key = mailKey(batch, index);
        if (await sent.has(key)) {
          delivered += 1;
          mails.inc({ outcome: 'skipped_duplicate' });
          continue;
        }
        if (stop === undefined && signal.aborted)
          stop = new RetryableError('the write was aborted before every e-mail was sent', {
            cause: signal.reason,
          });
        if (stop !== undefined) {
          failures.push({ index, error: stop });
          continue;
        }
        const record = batch.records[index]!;
        try {
          await send(build(batch, index, [record], { record, index, batch: scope }), batch);
          if (!(await sent.add(key)))
            logger.warn(
              { key },
              'could not remember a sent e-mail in the store; a take-over or replay of its batch may send it again',
            );
          delivered += 1;
          mails.inc({ outcome: 'sent' });
        } catch (err) {
          const failure = asFailure(err);
          mails.inc({ outcome: failure.error instanceof RetryableError ? 'retryable' : 'fatal' });
          if (failure.scope === 'batch') stop ??= failure.error;
          failures.push({ index, error: failure.scope === 'batch' ? stop! : failure.error });
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(config.sendConcurrency, batch.records.length) }, worker),
    );
    if (failures.length === 0) return;
    // Nothing reached the server and the cause is the server, not a record: report the cause
    // itself rather than one copy per record.
    if (stop !== undefined && delivered === 0 && failures.every((f) => f.error === stop))
      throw stop;
    throw new PartialBatchError(failures);
  };

  return {
    async write(batch, { signal }) {
      if (closed) throw new FatalError('the email destination is closed');
      if (batch.records.length === 0) return;
      if (digest) await writeDigest(batch);
      else await writeRecords(batch, signal);
    },

    async check(): Promise<CheckResult> {
      try {
        await transport.verify();
        return {
          ok: true,
          message: `connected to ${config.smtp.host} and ${config.smtp.auth ? 'authenticated' : 'greeted'}`,
          details: { host: config.smtp.host },
        };
      } catch (err) {
        return {
          ok: false,
          message: redact(mapSmtpError(err).error.message),
          details: { host: config.smtp.host },
        };
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      transport.close();
    },
  };
}
