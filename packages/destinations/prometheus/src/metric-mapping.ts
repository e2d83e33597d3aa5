/**
 * Turns records into metric updates. Each record is read completely (every value and label of
 * every configured metric) before anything is applied, so a record that cannot be mapped
 * changes nothing and fails alone with the field named.
 *
 * @packageDocumentation
 */
import {
  dotPathReplacement,
  parseFieldPath,
  readField,
  type JsonValue,
  type SluiceRecord,
} from '@sluice/core';
import type { MetricConfig } from './config.js';

/**
 * A record that cannot be turned into a metric update: `field` names the offending config
 * field and record field, e.g. `metrics[0].value (sessions)`.
 *
 * @example
 * ```ts
 * try { mapper.read(record); }
 * catch (err) { if (err instanceof RecordMappingError) console.log(err.field); }
 * ```
 */
export class RecordMappingError extends Error {
  override readonly name = 'RecordMappingError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** One metric update read from a record. */
export interface MetricUpdate {
  labels: Record<string, string>;
  value: number;
}

/** Reads one metric's update from records. */
export interface MetricReader {
  readonly config: MetricConfig;
  readonly labelNames: readonly string[];
  read(record: SluiceRecord): MetricUpdate;
}

/**
 * Compiles the reader of one configured metric.
 *
 * @example
 * ```ts
 * const reader = compileMetricReader({ name: 'x', type: 'gauge', help: 'x', value: 'n', labels: { c: 'channel' } }, 0);
 * reader.read({ n: 3, channel: 'email' }); // { labels: { c: 'email' }, value: 3 }
 * ```
 */
export function compileMetricReader(config: MetricConfig, index: number): MetricReader {
  const where = `metrics[${index}]`;
  const labels = Object.entries(config.labels).map(([name, path]) => ({
    name,
    path,
    get: fieldReader(path),
  }));
  const valuePath = config.value;
  const getValue = valuePath === undefined ? undefined : fieldReader(valuePath);
  return {
    config,
    labelNames: labels.map((l) => l.name),
    read(record) {
      const out: Record<string, string> = {};
      for (const label of labels) {
        out[label.name] = labelValue(
          label.get(record),
          `${where}.labels.${label.name} (record field "${label.path}")`,
        );
      }
      if (getValue === undefined) return { labels: out, value: 1 };
      const field = `${where}.value (record field "${valuePath}")`;
      const value = numericValue(getValue(record), field);
      if (config.type === 'counter' && value < 0) {
        throw new RecordMappingError(field, `${field} is ${value}; a counter can only increase`);
      }
      return { labels: out, value };
    },
  };
}

// Core's field path, compiled once; the deprecated dot paths (`totals.revenue`) still read nested fields.
function fieldReader(text: string): (record: SluiceRecord) => JsonValue | undefined {
  const path = parseFieldPath(text, { dotPaths: true });
  return (record) => readField(record, path);
}

/**
 * The fields of a metric written as deprecated dot paths, each with the spelling to write
 * instead (the destination logs them when it starts).
 *
 * @example
 * ```ts
 * deprecatedFieldPaths({ name: 'x', type: 'gauge', help: 'x', value: 'totals.revenue', labels: {} }, 0);
 * // [{ field: 'metrics[0].value', path: 'totals.revenue', replacement: '$.totals.revenue' }]
 * ```
 */
export function deprecatedFieldPaths(
  config: MetricConfig,
  index: number,
): { field: string; path: string; replacement: string }[] {
  const fields: [string, string | undefined][] = [
    [`metrics[${index}].value`, config.value],
    ...Object.entries(config.labels).map(([name, path]): [string, string] => [
      `metrics[${index}].labels.${name}`,
      path,
    ]),
  ];
  return fields.flatMap(([field, path]) => {
    const replacement = path === undefined ? undefined : dotPathReplacement(path);
    return path !== undefined && replacement !== undefined ? [{ field, path, replacement }] : [];
  });
}

function labelValue(value: JsonValue | undefined, field: string): string {
  if (value === undefined || value === null)
    throw new RecordMappingError(field, `${field} is missing`);
  if (typeof value === 'object') {
    throw new RecordMappingError(
      field,
      `${field} is ${Array.isArray(value) ? 'an array' : 'an object'}, not a label value`,
    );
  }
  return String(value);
}

/** Numbers, numeric strings (warehouses return NUMERIC as text) and booleans (1/0) are accepted. */
function numericValue(value: JsonValue | undefined, field: string): number {
  if (value === undefined || value === null)
    throw new RecordMappingError(field, `${field} is missing`);
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  throw new RecordMappingError(
    field,
    `${field} is ${JSON.stringify(value).slice(0, 60)}, not a number`,
  );
}
