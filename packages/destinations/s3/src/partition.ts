/**
 * Hive-style partitions (`date=2026-11-25/channel=email/`): values are read from record fields or
 * rendered from templates, then escaped the way Hive escapes path names, so a value can never add
 * a folder level or an `=`.
 *
 * @packageDocumentation
 */
import { parseDotPath, readField, type FieldPath, type SluiceRecord } from '@sluice/core';
import { compileTemplate, type CompiledTemplate } from './template.js';

/** Hive's name for the partition of null or empty values. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/** A partition column as configured: a record field, or a name and a value template. */
export type PartitionSpec = string | { name: string; value: string };

/** A record whose partition value cannot be computed. */
export class PartitionValueError extends Error {
  override readonly name = 'PartitionValueError';
  constructor(
    message: string,
    readonly partition: string,
  ) {
    super(message);
  }
}

/**
 * Escapes a partition value like Hive's `FileUtils.escapePathName`: control characters and
 * `"#%'*\/:=?\\{[]^` become `%XX`.
 *
 * @example
 * ```ts
 * escapePartitionValue('a/b=c'); // "a%2Fb%3Dc"
 * ```
 */
export function escapePartitionValue(value: string): string {
  return value.replace(
    // eslint-disable-next-line no-control-regex -- escaping control characters is the point
    /[\x00-\x1f\x7f"#%'*/:=?\\{[\]^]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** Computes the partition path of one record. */
export interface Partitioner {
  /** `name=value/...` with a trailing `/`, or `''` without partitions. */
  pathOf(record: SluiceRecord, scope: object): string;
}

/**
 * Compiles partition specs once.
 *
 * @example
 * ```ts
 * const p = createPartitioner(['channel', { name: 'date', value: '{{ record.ts | date: "%Y-%m-%d" }}' }]);
 * p.pathOf({ channel: 'email', ts: '2026-11-25T08:00:00Z' }, scope); // "channel=email/date=2026-11-25/"
 * ```
 */
export function createPartitioner(specs: readonly PartitionSpec[], timeZone = 'UTC'): Partitioner {
  // A field partition is core's field path in its dot form (`geo.country`), named by its last key.
  type Compiled =
    { name: string; field: FieldPath; text: string } | { name: string; template: CompiledTemplate };
  const compiled = specs.map((spec, i): Compiled => {
    if (typeof spec !== 'string')
      return {
        name: spec.name,
        template: compileTemplate(`partitionBy[${i}].value`, spec.value, timeZone),
      };
    const field = parseDotPath(spec);
    return { name: String(field.at(-1)), field, text: spec };
  });
  return {
    pathOf(record, scope) {
      let out = '';
      for (const part of compiled) {
        let value: string;
        if ('field' in part) {
          const raw = readField(record, part.field);
          const field = part.text;
          if (raw === undefined)
            throw new PartitionValueError(
              `partition ${part.name}: field ${field} is missing`,
              part.name,
            );
          if (raw !== null && typeof raw === 'object')
            throw new PartitionValueError(
              `partition ${part.name}: field ${field} is an ${Array.isArray(raw) ? 'array' : 'object'}, not a text or number`,
              part.name,
            );
          value = raw === null ? '' : String(raw);
        } else {
          value = part.template.render(scope).trim();
        }
        out += `${part.name}=${value === '' ? HIVE_DEFAULT_PARTITION : escapePartitionValue(value)}/`;
      }
      return out;
    },
  };
}
