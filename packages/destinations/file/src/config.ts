/**
 * The file destination's config schema. The path template, the time zone and the combinations
 * of options are checked here so a bad config fails at load time with the path of the field.
 */
import { isValidTimeZone } from '@sluice/core';
import * as v from 'valibot';
import { csvWriterConfigEntries } from '@sluice/core/csv';
import { parsePathTemplate } from './path-template.js';

const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));

const csvColumn = v.union(
  [
    v.pipe(v.string(), v.minLength(1, 'must not be empty')),
    v.strictObject({
      field: v.pipe(
        v.string(),
        v.minLength(1, 'must not be empty'),
        v.description('Record field written in this column.'),
      ),
      header: v.optional(
        v.pipe(v.string(), v.description('Header of the column. Absent: the field name.')),
      ),
    }),
  ],
  'must be a field name or { field, header }',
);

const csvOptions = v.strictObject({
  /** Write a header line at the start of each file. Default true. */
  header: v.optional(
    v.pipe(v.boolean(), v.description('Write a header line at the start of each file.')),
    true,
  ),
  /** One character between cells. Default `,`. */
  delimiter: v.optional(
    v.pipe(
      v.string(),
      v.length(1, 'must be exactly one character'),
      v.description('The character between cells.'),
    ),
    ',',
  ),
  /** The quote character. Default `"`. */
  quote: v.optional(
    v.pipe(
      v.string(),
      v.length(1, 'must be exactly one character'),
      v.description('The quote character.'),
    ),
    '"',
  ),
  /** Quote every cell, not only those that need it. Default false. */
  quoteAll: v.optional(
    v.pipe(v.boolean(), v.description('Quote every cell, not only those that need it.')),
    false,
  ),
  /** `nullAs` (how null/missing is written) and `escapeFormulas` (OWASP CSV injection), from core's one CSV writer. */
  ...csvWriterConfigEntries,
  /** Columns in order (record field, with an optional header). Default: the fields of the batch's records in first-seen order. */
  columns: v.optional(
    v.pipe(
      v.array(csvColumn),
      v.minLength(1, 'declare at least one column'),
      v.description(
        "Columns in order: a field name or `{ field, header }`. Absent: the fields of the batch's records in first-seen order (required to append).",
      ),
      v.metadata({ examples: [['date', 'channel', { field: 'sessions', header: 'Sessions' }]] }),
    ),
  ),
});

const rotateOptions = v.strictObject({
  /** Start a new file before the current one would grow past this many bytes. */
  maxBytes: v.optional(
    v.pipe(
      positiveInt,
      v.description('Start a new file before the current one would grow past this many bytes.'),
    ),
  ),
  /** Start a new file once the current one is this old. */
  maxAgeMs: v.optional(
    v.pipe(
      positiveInt,
      v.description('Start a new file once the current one is this many milliseconds old.'),
    ),
  ),
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
    root: v.pipe(
      v.string(),
      v.minLength(1, 'must not be empty'),
      v.description('Folder every file is written under; nothing is ever written outside it.'),
      v.metadata({ examples: ['/var/lib/sluice/exports'] }),
    ),
    /** File path template, relative to root. */
    path: v.pipe(
      v.string(),
      v.minLength(1, 'must not be empty'),
      v.description(
        'File path under `root`, a template of the one Liquid engine with placeholders: `{{date}}` (the date of the write, in `timeZone`), `{{batch.id}}`, `{{batch.source}}`, `{{pipeline}}`, `{{route}}`, `{{runId}}` or a record field such as `{{channel}}` (`{{record.date}}` for a field named like a placeholder); each value becomes one path segment.',
      ),
      v.metadata({ examples: ['sessions/{{date}}/{{batch.id}}.ndjson'] }),
    ),
    format: v.optional(
      v.pipe(
        v.picklist(['ndjson', 'json', 'csv'], 'must be ndjson, json or csv'),
        v.description(
          'File format: `ndjson` (one JSON object per line), `json` (one array per file) or `csv`.',
        ),
      ),
      'ndjson',
    ),
    /**
     * `batch` writes one file per batch (the batch id goes into the name: idempotent);
     * `append` adds every batch to the file the template names.
     */
    mode: v.optional(
      v.pipe(
        v.picklist(['batch', 'append'], 'must be batch or append'),
        v.description(
          '`batch` writes one file per batch (put `{{batch.id}}` in the path: idempotent); `append` adds every batch to the file the path names.',
        ),
      ),
      'batch',
    ),
    csv: v.optional(v.pipe(csvOptions, v.description('CSV options (with `format: csv`).')), {}),
    /** Compress with gzip (name your files `.gz`). Appends add gzip members. Default false. */
    gzip: v.optional(
      v.pipe(
        v.boolean(),
        v.description('Compress with gzip (name the files `.gz`); appends add gzip members.'),
      ),
      false,
    ),
    /** Time zone of `{{date}}`. Default UTC. */
    timeZone: v.optional(
      v.pipe(
        v.string(),
        v.check(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin'),
        v.description('IANA time zone of the `{{date}}` placeholder.'),
        v.metadata({ examples: ['Europe/Berlin'] }),
      ),
      'UTC',
    ),
    /** Rotation of appended files (append mode only). */
    rotate: v.optional(
      v.pipe(rotateOptions, v.description('When to start a new file (with `mode: append` only).')),
    ),
    /** Largest batch the router sends. Default 10 000. */
    maxBatch: v.optional(
      v.pipe(positiveInt, v.description('Largest batch the router sends to this destination.')),
      10_000,
    ),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const config = dataset.value;
    const at = (key: string, value: unknown) =>
      [{ type: 'object', origin: 'value', input: config, key, value }] as [v.ObjectPathItem];
    const parsed = parsePathTemplate(config.path, 'path');
    if ('issues' in parsed)
      for (const issue of parsed.issues)
        addIssue({ message: issue.message, path: at('path', config.path) });
    if (config.rotate !== undefined && config.mode !== 'append') {
      addIssue({
        message: 'rotation applies to mode append only',
        path: at('rotate', config.rotate),
      });
    }
    if (config.format === 'csv' && config.mode === 'append' && config.csv.columns === undefined) {
      addIssue({
        message:
          'appending CSV needs a fixed column list, so every appended row lines up with the header',
        path: [
          ...at('csv', config.csv),
          { type: 'object', origin: 'value', input: config.csv, key: 'columns', value: undefined },
        ],
      });
    }
  }),
);

/** The parsed config of the file destination. */
export type FileConfig = v.InferOutput<typeof fileConfigSchema>;
