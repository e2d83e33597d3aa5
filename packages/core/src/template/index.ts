/**
 * `@sluice/core/template`: the one sandboxed liquidjs engine behind every Sluice template (message
 * text, object keys, webhook URLs and headers, file paths, the router's `template` transform),
 * with one output escape per context a value lands in ({@link TEMPLATE_ESCAPES}: URL component,
 * path segment, HTML, none). Kept out of the main `@sluice/core`
 * entry so plugins that render no template never load liquidjs.
 *
 * Sandboxed: no file system (includes, renders and layouts find nothing, and their names are
 * never read from data), own properties only (no `constructor` or prototype walking), unknown
 * filters rejected, and parse length, render time and memory capped. Strict by default: reading a
 * missing variable is an error naming the template and the variable.
 *
 * @example
 * ```ts
 * import { compileTemplate, TemplateError } from '@sluice/core/template';
 *
 * const text = compileTemplate('text', ':rotating_light: {{ record.alert }} fired');
 * text.render({ record: { alert: 'disk full' } }); // ":rotating_light: disk full fired"
 * ```
 *
 * @packageDocumentation
 */
export {
  DEFAULT_TEMPLATE_LIMITS,
  createSandboxedLiquid,
  type OutputEscape,
  type SandboxOptions,
  type TemplateLimits,
} from './engine.js';
export {
  TemplateError,
  compileTemplate,
  scalarOutputProblem,
  type OutputCheck,
  isStaticTemplate,
  templateProblem,
  templateReads,
  type CompiledTemplate,
  type TemplateOptions,
} from './compile.js';
export { templateSchema, type TemplateSchemaOptions } from './schema.js';
export {
  TEMPLATE_ESCAPES,
  escapeHtml,
  escapeNone,
  escapePathSegment,
  escapeUrlComponent,
  type TemplateEscapeContext,
} from './escape.js';
