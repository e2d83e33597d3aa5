/**
 * Escaping of values inserted into HTML bodies, so a record value cannot inject markup: core's
 * HTML escape (`TEMPLATE_ESCAPES.html` of `@sluice/core/template`), re-exported for code that
 * imported it from here.
 *
 * @packageDocumentation
 */
export { escapeHtml } from '@sluice/core/template';
