/**
 * `@sluice/destinations-email`: a Sluice destination that sends records by SMTP (nodemailer) —
 * one e-mail per record or a digest per batch — with liquidjs subject/text/HTML templates,
 * recipients from config or records, CSV/NDJSON attachments and Message-IDs derived from the
 * batch id.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import emailPlugin from '@sluice/destinations-email';
 * const registry = new PluginRegistry().register(emailPlugin);
 * ```
 *
 * @packageDocumentation
 */
import { emailPlugin } from './plugin.js';

export { emailDestination, emailPlugin } from './plugin.js';
export { createEmailDestination } from './destination.js';
export { emailConfigSchema, type EmailConfig, type EmailConfigInput } from './config.js';
export { parseMailbox, parseMailboxList, formatMailbox, type Mailbox } from './address.js';
export { columnsOf, encodeAttachment } from './attachment.js';
export { messageIdFor } from './message-id.js';
export { mapSmtpError, type SmtpFailure } from './errors.js';
export { DEFAULT_DIGEST_HTML, DEFAULT_DIGEST_TEXT } from './digest-templates.js';
export { escapeHtml } from './escape.js';
export {
  TemplateError,
  compileTemplate,
  templateProblem,
  type CompiledTemplate,
  type OutputEscape,
  type TemplateOptions,
} from '@sluice/core/template';

export default emailPlugin;
