/**
 * The valibot schema of a template field in a plugin's config, so a syntax error or an unknown
 * filter is a `ConfigError` naming the field at load time rather than a failure per record.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { templateProblem, type TemplateOptions } from './compile.js';

/** Options of {@link templateSchema}. */
export interface TemplateSchemaOptions extends TemplateOptions {
  /**
   * Finds what is wrong with a source, replacing the default check ({@link templateProblem} with
   * these options), for fields with rules of their own. Returns `undefined` when it is fine.
   */
  problem?: (source: string) => string | undefined;
}

/**
 * A non-empty string that compiles as a sandboxed template.
 *
 * @example
 * ```ts
 * import * as v from 'valibot';
 * import { templateSchema } from '@sluice/core/template';
 *
 * const config = v.object({ subject: templateSchema(), html: v.optional(templateSchema({ escape: escapeHtml })) });
 * v.safeParse(config, { subject: '{{ record.x | nope }}' }).issues?.[0].message; // "undefined filter: nope, line:1, col:1"
 * ```
 */
export function templateSchema(options: TemplateSchemaOptions = {}) {
  const { problem = (source: string) => templateProblem(source, options) } = options;
  return v.pipe(
    v.string(),
    v.minLength(1, 'must not be empty'),
    v.rawCheck<string>(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const found = problem(dataset.value);
      if (found) addIssue({ message: found });
    }),
  );
}
