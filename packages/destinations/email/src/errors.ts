/**
 * Maps what nodemailer throws onto Sluice errors, and says whether the failure concerns one
 * e-mail (the others can still be sent) or the connection/server (stop the batch).
 *
 * @packageDocumentation
 */
import { FatalError, RetryableError, type SluiceError } from '@sluice/core';
import { findBlockedAddressError } from '@sluice/core/net';

/** A mapped SMTP failure. */
export interface SmtpFailure {
  error: SluiceError;
  /** `record`: only this e-mail failed; `batch`: every further e-mail would fail too. */
  scope: 'record' | 'batch';
}

/** Network-level error codes of nodemailer and Node: the server could not be reached or went away. */
const NETWORK = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ETIME',
]);
/** Replies that are about the server or session, not one message. */
const SESSION_REPLIES = new Set([421, 454, 530, 534, 535, 538]);
/** Commands whose failure concerns the session or the sender rather than one e-mail. */
const SESSION_COMMANDS = /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH|MAIL)/i;

interface SmtpErrorShape {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  message?: unknown;
}

/**
 * Classifies a nodemailer error: 4xx replies, refused connections and timeouts are retryable;
 * 5xx replies are fatal (per e-mail, or for the batch when the session itself was refused, e.g.
 * 535 authentication failed).
 *
 * @example
 * ```ts
 * try { await transport.sendMail(mail); }
 * catch (err) { const { error, scope } = mapSmtpError(err); }
 * ```
 */
export function mapSmtpError(err: unknown): SmtpFailure {
  // The outgoing-connection guard refused smtp.host's address: fatal for the batch, never retried.
  const blocked = findBlockedAddressError(err);
  if (blocked) return { error: blocked.forField('smtp.host'), scope: 'batch' };
  const e = (err ?? {}) as SmtpErrorShape;
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const response =
    typeof e.response === 'string'
      ? e.response
      : typeof e.message === 'string'
        ? e.message
        : String(err);
  const command = typeof e.command === 'string' ? ` after ${e.command}` : '';
  const details = {
    ...(reply === undefined ? {} : { smtpReply: reply }),
    ...(code === undefined ? {} : { smtpCode: code }),
  };
  if (code === 'EAUTH') {
    return {
      error: new FatalError(`the SMTP server refused the credentials: ${response}`, {
        cause: err,
        details,
      }),
      scope: 'batch',
    };
  }
  if (code === 'ETLS') {
    return {
      error: new FatalError(
        `TLS with the SMTP server failed: ${response} (check smtp.secure, smtp.startTls and smtp.tls)`,
        { cause: err, details },
      ),
      scope: 'batch',
    };
  }
  // Replies to the greeting, EHLO or MAIL FROM concern the session or the sender: every
  // further e-mail would get them too. Replies to RCPT TO and DATA concern this e-mail.
  const sessionWide =
    (reply !== undefined && SESSION_REPLIES.has(reply)) ||
    (typeof e.command === 'string' && SESSION_COMMANDS.test(e.command));
  if (reply !== undefined && reply >= 400 && reply < 500) {
    return {
      error: new RetryableError(`the SMTP server deferred the e-mail${command}: ${response}`, {
        cause: err,
        details,
      }),
      scope: sessionWide ? 'batch' : 'record',
    };
  }
  if (reply !== undefined && reply >= 500) {
    return {
      error: new FatalError(`the SMTP server rejected the e-mail${command}: ${response}`, {
        cause: err,
        details,
      }),
      scope: sessionWide ? 'batch' : 'record',
    };
  }
  if (code === 'EENVELOPE' || code === 'EMESSAGE') {
    return {
      error: new FatalError(`the e-mail cannot be sent: ${response}`, { cause: err, details }),
      scope: 'record',
    };
  }
  // Refused connections, resets, timeouts, protocol hiccups and anything unexpected: transient.
  const reason = code !== undefined && NETWORK.has(code) ? `${code}: ${response}` : response;
  return {
    error: new RetryableError(`the SMTP server is unavailable: ${reason}`, { cause: err, details }),
    scope: 'batch',
  };
}
