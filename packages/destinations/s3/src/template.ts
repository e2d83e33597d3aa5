/**
 * Object-key templates: the sandboxed, strict engine of `@sluice/core/template` (a key that
 * reads a missing field fails with an error naming the template and the variable), with the
 * `date` filter in the configured time zone and one rule of S3's own: a key must not depend on
 * the time of the write.
 *
 * @packageDocumentation
 */
import {
  compileTemplate as compileSandboxed,
  templateProblem as sandboxedTemplateProblem,
  type CompiledTemplate,
} from '@sluice/core/template';

export { TemplateError, type CompiledTemplate } from '@sluice/core/template';

/**
 * Compiles a key template once, its `date` filter in `timeZone`. Throws a `TemplateError` when the
 * syntax is invalid or it uses an unknown filter.
 *
 * @example
 * ```ts
 * const key = compileTemplate('key', 'sessions/{{ record.date | date: "%Y/%m" }}/part-{{ batch.id }}.ndjson');
 * key.render({ record: { date: '2026-11-24' }, batch: { id: 'b1' } }); // "sessions/2026/11/part-b1.ndjson"
 * ```
 */
export function compileTemplate(name: string, source: string, timeZone = 'UTC'): CompiledTemplate {
  return compileSandboxed(name, source, { timeZone });
}

/**
 * The problem with a template source, or `undefined` when it compiles (for config validation).
 * Keys must not depend on the time of the write (a retried batch must hit the same key), so
 * `"now"` and `"today"` are refused.
 *
 * @example
 * ```ts
 * templateProblem('{{ "now" | date: "%Y" }}'); // "must not use the time of the write (\"now\"/\"today\") ..."
 * ```
 */
export function templateProblem(source: string): string | undefined {
  if (/(["'])\s*(now|today)\s*\1/i.test(source)) {
    return 'must not use the time of the write ("now"/"today"): a retried batch must write the same key; take dates from record fields';
  }
  return sandboxedTemplateProblem(source);
}
