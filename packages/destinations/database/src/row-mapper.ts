/**
 * Turns a record into a row: reads each column's field (by name or singular JSONPath), checks it
 * against the column's type and converts it for the driver. A record that does not fit throws a
 * {@link RecordRowError} naming the column and the field, and only that record fails.
 */
import { parseFieldPath, readField, type JsonValue, type SluiceRecord } from '@sluice/core';
import { convertValue, ValueError, type ColumnType, type SqlValue } from './column-types.js';
import type { DialectName } from './identifiers.js';

/** What the mapper needs to know about one column. */
export interface MappedColumn {
  name: string;
  type: ColumnType;
  /** Field path (a field name or a singular JSONPath); defaults to `name`. */
  from?: string | undefined;
  nullable: boolean;
}

/**
 * A record that cannot become a row.
 *
 * @example
 * ```ts
 * err.column; // "sessions"
 * err.field;  // "$.metrics.sessions"
 * ```
 */
export class RecordRowError extends Error {
  override readonly name = 'RecordRowError';
  constructor(
    message: string,
    readonly column: string,
    readonly field: string,
    /** `missing`: a required column has no value; `type`: the value does not fit the column's type. */
    readonly reason: 'missing' | 'type' = 'missing',
  ) {
    super(message);
  }
}

/** A value that does not fit its column's type, reported instead of thrown (see {@link RowMapper}). */
export interface ValueProblem {
  /** Index of the column in the mapper's column list. */
  index: number;
  column: string;
  field: string;
  type: ColumnType;
  value: JsonValue;
  message: string;
  /** Whether the column may hold null instead (a discarded value). */
  nullable: boolean;
}

/**
 * Maps one record to the values of the columns, in column order. With `problems`, a value that
 * does not fit its column (other than a key column) is reported there and mapped to null instead
 * of thrown, for the schema policy to decide.
 */
export type RowMapper = (record: SluiceRecord, problems?: ValueProblem[]) => SqlValue[];

type Reader = (record: SluiceRecord) => JsonValue | undefined;

// Compiled once per column with core's field-path parser (the config schema checked it already).
function reader(from: string): Reader {
  const path = parseFieldPath(from, { root: true });
  return (record) => readField(record, path);
}

/**
 * Compiles the column list into a mapper. `required` names columns that must have a value even
 * when declared nullable (the upsert/dedupe key).
 *
 * @example
 * ```ts
 * const map = createRowMapper('postgres', [{ name: 'n', type: 'integer', nullable: false }]);
 * map({ n: '7' }); // [7]
 * ```
 */
export function createRowMapper(
  dialect: DialectName,
  columns: readonly MappedColumn[],
  required: ReadonlySet<string> = new Set(),
): RowMapper {
  const plan = columns.map((column) => {
    const from = column.from ?? column.name;
    return {
      name: column.name,
      type: column.type,
      from,
      read: reader(from),
      mayBeEmpty: column.nullable && !required.has(column.name),
      isKey: required.has(column.name),
    };
  });
  return (record, problems) => {
    const row = new Array<SqlValue>(plan.length);
    for (let i = 0; i < plan.length; i++) {
      const step = plan[i]!;
      const value = step.read(record);
      if (value === undefined || value === null) {
        if (!step.mayBeEmpty) {
          const why = step.isKey ? 'is a key column and' : 'is not nullable and';
          throw new RecordRowError(
            `column "${step.name}" ${why} field "${step.from}" is ${value === null ? 'null' : 'missing'}`,
            step.name,
            step.from,
          );
        }
        row[i] = null;
        continue;
      }
      try {
        row[i] = convertValue(dialect, step.type, value);
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        if (problems && !step.isKey) {
          problems.push({
            index: i,
            column: step.name,
            field: step.from,
            type: step.type,
            value,
            message: err.message,
            nullable: step.mayBeEmpty,
          });
          row[i] = null;
          continue;
        }
        throw new RecordRowError(
          `column "${step.name}" (${step.type}) from field "${step.from}": ${err.message}`,
          step.name,
          step.from,
          'type',
        );
      }
    }
    return row;
  };
}
