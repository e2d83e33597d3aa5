/**
 * The file destination's config schema. The path template, the time zone and the combinations
 * of options are checked here so a bad config fails at load time with the path of the field.
 */
import * as v from 'valibot';
import { parsePathTemplate } from './path-template.js';

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const csvColumn = v.union(
  [
    v.pipe(v.string(), v.minLength(1, 'must not be empty')),
    v.strictObject({ field: v.pipe(v.string(), v.minLength(1, 'must not be empty')), header: v.optional(v.string()) }),
  ],
  'must be a field name or { field, header }',
);

const csvOptions = v.strictObject({
  /** Write a header line at the start of each file. Default true. */
  header: v.optional(v.boolean(), true),
  /** One character between cells. Default `,`. */
  delimiter: v.optional(v.pipe(v.string(), v.length(1, 'must be exactly one character')), ','),
  /** The quote character. Default `"`. */
  quote: v.optional(v.pipe(v.string(), v.length(1, 'must be exactly one character')), '"'),
  /** Quote every cell, not only those that need it. Default false. */
  quoteAll: v.optional(v.boolean(), false),
  /** Columns in order (record field, with an optional header). Default: the fields of the batch's records in first-seen order. */
  columns: v.optional(v.pipe(v.array(csvColumn), v.minLength(1, 'declare at least one column'))),
});

const rotateOptions = v.strictObject({
  /** Start a new file before the current one would grow past this many bytes. */
  maxBytes: v.optional(positiveInt),
  /** Start a new file once the current one is this old. */
  maxAgeMs: v.optional(positiveInt),
});

/**
 * The config of the file destination.
 *
 * @example
 * ```ts
 * const config = parseConfig(fileConfigSchema, {
 *   root: '/var/lib/sluice/exports',
 *   path: 'sessions/{{date}}/{{channel}}.csv',
 *   format: 'csv',
 *   csv: { columns: ['date', 'channel', 'sessions'] },
 * });
 * ```
 */
export const fileConfigSchema = v.pipe(
  v.strictObject({
    /** Folder every file is written under; nothing is ever written outside it. */
    root: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
    /** File path template, relative to root. */
    path: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
    format: v.optional(v.picklist(['ndjson', 'json', 'csv'], 'must be ndjson, json or csv'), 'ndjson'),
    /**
     * `batch` writes one file per batch (the batch id goes into the name: idempotent);
     * `append` adds every batch to the file the template names.
     */
    mode: v.optional(v.picklist(['batch', 'append'], 'must be batch or append'), 'batch'),
    csv: v.optional(csvOptions, {}),
    /** Compress with gzip (name your files `.gz`). Appends add gzip members. Default false. */
    gzip: v.optional(v.boolean(), false),
    /** Time zone of `{{date}}`. Default UTC. */
    timeZone: v.optional(v.pipe(v.string(), v.check(isTimeZone, 'must be an IANA time zone such as Europe/Berlin')), 'UTC'),
    /** Rotation of appended files (append mode only). */
    rotate: v.optional(rotateOptions),
    /** Largest batch the router sends. Default 10 000. */
    maxBatch: v.optional(positiveInt, 10_000),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const config = dataset.value;
    const at = (key: string, value: unknown) => [{ type: 'object', origin: 'value', input: config, key, value }] as [v.ObjectPathItem];
    const parsed = parsePathTemplate(config.path, 'path');
    if ('issues' in parsed) for (const issue of parsed.issues) addIssue({ message: issue.message, path: at('path', config.path) });
    if (config.rotate !== undefined && config.mode !== 'append') {
      addIssue({ message: 'rotation applies to mode append only', path: at('rotate', config.rotate) });
    }
    if (config.format === 'csv' && config.mode === 'append' && config.csv.columns === undefined) {
      addIssue({
        message: 'appending CSV needs a fixed column list, so every appended row lines up with the header',
        path: [...at('csv', config.csv), { type: 'object', origin: 'value', input: config.csv, key: 'columns', value: undefined }],
      });
    }
  }),
);

/** The parsed config of the file destination. */
export type FileConfig = v.InferOutput<typeof fileConfigSchema>;
