/**
 * The `template` transform: renders a Liquid template into a field, on the sandboxed engine of
 * `@sluice/core/template`: no file system (includes and layouts resolve against an empty
 * in-memory set), own properties only (no prototype walking), unknown filters are config errors,
 * and parse/render limits bound the work one record can cause.
 *
 * @packageDocumentation
 */
import { isValidTimeZone } from '@sluice/core';
import * as v from 'valibot';
import type { Liquid, Template } from 'liquidjs';
import { ConfigError, compileFieldPath, defineTransform, setField } from '@sluice/core';
import { createSandboxedLiquid as createCoreSandboxedLiquid } from '@sluice/core/template';

/**
 * Creates the sandboxed Liquid engine used by `template` (exported for destinations-agnostic
 * reuse in tests and docs): the engine of `@sluice/core/template` with the transform's settings —
 * missing variables render empty unless `strictVariables`, a render gets 1 s, and the `date`
 * filter uses `timeZone` (UTC by default, so every replica renders the same text).
 *
 * @example
 * ```ts
 * const liquid = createSandboxedLiquid();
 * liquid.parseAndRenderSync('{{ a | upcase }}', { a: 'x' }); // 'X'
 * ```
 */
export function createSandboxedLiquid(
  options: { strictVariables?: boolean; timeZone?: string } = {},
): Liquid {
  return createCoreSandboxedLiquid({
    strictVariables: options.strictVariables ?? false,
    lenientIf: false,
    timeZone: options.timeZone ?? 'UTC',
    limits: { renderLimit: 1_000 },
  });
}

/**
 * `template`: renders `template` with the record's fields as variables (also available as
 * `record`) and stores the text in `field`. With `strictVariables`, a missing variable fails the
 * record instead of rendering as empty.
 *
 * @example
 * ```ts
 * // { kind: 'template', field: 'message', template: '{{ channel }} fell {{ change | round: 1 }} %' }
 * ```
 */
export const templateTransform = defineTransform({
  kind: 'template',
  version: '1.0.0',
  description: 'Renders a sandboxed Liquid template into a field.',
  configSchema: v.strictObject({
    field: v.pipe(
      v.string(),
      v.minLength(1),
      v.description('Field (name or singular JSONPath) that receives the rendered text.'),
      v.metadata({ examples: ['message'] }),
    ),
    template: v.pipe(
      v.string(),
      v.maxLength(100_000),
      v.description(
        "Sandboxed Liquid template; the record's fields are variables (also under `record`).",
      ),
      v.metadata({ examples: ['{{ channel }}: only {{ sessions }} sessions on {{ date }}'] }),
    ),
    strictVariables: v.optional(
      v.pipe(
        v.boolean(),
        v.description(
          'Fail the record when the template reads a missing variable, instead of rendering it empty.',
        ),
      ),
      false,
    ),
    timeZone: v.optional(
      v.pipe(
        v.string(),
        v.check(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin'),
        v.description(
          'Time zone of the `date` filter. Default UTC, so every server renders the same text.',
        ),
      ),
      'UTC',
    ),
  }),
  create({ field, template, strictVariables, timeZone }) {
    const target = compileFieldPath(field, 'field');
    const liquid = createSandboxedLiquid({ strictVariables, timeZone });
    let parsed: Template[];
    try {
      parsed = liquid.parse(template);
    } catch (error) {
      throw new ConfigError([
        { path: 'template', message: `invalid Liquid template: ${(error as Error).message}` },
      ]);
    }
    return (record) => {
      const text = liquid.renderSync(parsed, { ...record, record }) as unknown;
      return setField(record, target, String(text));
    };
  },
});
