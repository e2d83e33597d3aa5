/**
 * The `compute` transform: stores the result of an arithmetic expression in a field.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { ConfigError, compileFieldPath, defineTransform, setField } from '@sluice/core';
import {
  compileExpression,
  ExpressionSyntaxError,
  type CompiledExpression,
} from '../expression.js';

/**
 * `compute`: evaluates `expression` (see {@link compileExpression}) and stores the number, or
 * `null` when an operand is missing or a division is by zero.
 *
 * @example
 * ```ts
 * // { kind: 'compute', field: 'change_pct',
 * //   expression: 'round((sessions - previous_sessions) / previous_sessions * 100, 1)' }
 * ```
 */
export const computeTransform = defineTransform({
  kind: 'compute',
  version: '1.0.0',
  description: 'Computes an arithmetic expression over fields.',
  configSchema: v.strictObject({
    field: v.pipe(
      v.string(),
      v.minLength(1),
      v.description('Field (name or singular JSONPath) that receives the result.'),
      v.metadata({ examples: ['conversion_rate'] }),
    ),
    expression: v.pipe(
      v.string(),
      v.minLength(1, 'must not be empty'),
      v.description(
        'Arithmetic over record fields (names or singular JSONPaths): `+ - * / %`, parentheses, `abs round floor ceil min max coalesce`. A missing operand or a division by zero gives null.',
      ),
      v.metadata({ examples: ['round(conversions / sessions * 100, 2)'] }),
    ),
  }),
  create({ field, expression }) {
    const target = compileFieldPath(field, 'field');
    let compiled: CompiledExpression;
    try {
      compiled = compileExpression(expression);
    } catch (error) {
      if (error instanceof ExpressionSyntaxError) {
        throw new ConfigError([{ path: 'expression', message: error.message }], {
          details: { position: error.position },
        });
      }
      throw error;
    }
    return (record) => setField(record, target, compiled(record));
  },
});
