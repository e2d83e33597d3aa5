/**
 * The `template` transform: renders a Liquid template (liquidjs) into a field. The engine is
 * sandboxed: no file system (includes and layouts resolve against an empty in-memory set), own
 * properties only (no prototype walking), unknown filters are config errors, and parse/render
 * limits bound the work one record can cause.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { Liquid, type Template } from 'liquidjs';
import { ConfigError, defineTransform } from '@sluice/core';
import { compileFieldPath, setField } from '../field-path.js';

/**
 * Creates the sandboxed Liquid engine used by `template` (exported for destinations-agnostic
 * reuse in tests and docs).
 *
 * @example
 * ```ts
 * const liquid = createSandboxedLiquid();
 * liquid.parseAndRenderSync('{{ a | upcase }}', { a: 'x' }); // 'X'
 * ```
 */
export function createSandboxedLiquid(options: { strictVariables?: boolean } = {}): Liquid {
  return new Liquid({
    templates: {},
    dynamicPartials: false,
    ownPropertyOnly: true,
    strictFilters: true,
    strictVariables: options.strictVariables ?? false,
    parseLimit: 100_000,
    renderLimit: 1_000,
    memoryLimit: 10_000_000,
    cache: false,
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
    field: v.pipe(v.string(), v.minLength(1)),
    template: v.pipe(v.string(), v.maxLength(100_000)),
    strictVariables: v.optional(v.boolean(), false),
  }),
  create({ field, template, strictVariables }) {
    const target = compileFieldPath(field, 'field');
    const liquid = createSandboxedLiquid({ strictVariables });
    let parsed: Template[];
    try {
      parsed = liquid.parse(template);
    } catch (error) {
      throw new ConfigError([{ path: 'template', message: `invalid Liquid template: ${(error as Error).message}` }]);
    }
    return (record) => {
      const text = liquid.renderSync(parsed, { ...record, record }) as unknown;
      return setField(record, target, String(text));
    };
  },
});
