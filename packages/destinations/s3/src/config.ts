/**
 * The S3 destination's config schema (valibot): it validates, fills defaults, types the config
 * and is exported as JSON Schema for docs and editors. Key and partition templates are compiled
 * here, so a syntax error is a `ConfigError` naming the field.
 *
 * @packageDocumentation
 */
import { isValidTimeZone } from '@sluice/core';
import { ssrfOption } from '@sluice/core/net';
import * as v from 'valibot';
import { csvWriterConfigEntries } from '@sluice/core/csv';
import { templateSchema } from '@sluice/core/template';
import { templateProblem } from './template.js';

const int = (min: number, max: number) =>
  v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));

const template = templateSchema({ problem: templateProblem });

const PARTITION_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*$/;

const partitionSpec = v.union(
  [
    v.pipe(
      v.string(),
      v.regex(FIELD_PATH, 'must be a record field such as channel or geo.country'),
    ),
    v.strictObject({
      name: v.pipe(
        v.string(),
        v.regex(PARTITION_NAME, 'must be letters, digits and _ (a Hive column name)'),
        v.description('Partition column name (the `name` of `name=value` in the key).'),
      ),
      value: v.pipe(
        template,
        v.description('Liquid template of the partition value, from the record.'),
        v.metadata({ examples: ['{{ record.date | date: "%Y-%m-%d" }}'] }),
      ),
    }),
  ],
  'must be a record field name or { name, value }',
);

/** Default key: partitions, then one part per batch named by the batch id. */
export const DEFAULT_KEY = '{{ partition }}part-{{ batch.id }}{{ extension }}';

/**
 * Config of the `s3` destination.
 *
 * @example
 * ```ts
 * const config = v.parse(s3ConfigSchema, {
 *   bucket: 'analytics-exports',
 *   prefix: 'ga4/sessions/',
 *   partitionBy: [{ name: 'date', value: '{{ record.date }}' }, 'channel'],
 *   format: 'csv',
 *   gzip: true,
 * });
 * // objects: ga4/sessions/date=2026-11-25/channel=email/part-<batch id>.csv.gz
 * ```
 */
export const s3ConfigSchema = v.pipe(
  v.strictObject({
    bucket: v.pipe(
      v.string(),
      v.regex(
        /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
        'must be a valid bucket name (3-63 lower-case letters, digits, dots and hyphens)',
      ),
      v.description('Name of the bucket the objects are written to.'),
      v.metadata({ examples: ['analytics-exports'] }),
    ),
    region: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^[a-z0-9-]+$/, 'must be a region such as eu-central-1'),
        v.description('AWS region of the bucket.'),
        v.metadata({ examples: ['eu-central-1'] }),
      ),
      'us-east-1',
    ),
    /** Custom endpoint for S3-compatible stores (MinIO, R2, Ceph, s3rver), e.g. http://127.0.0.1:9000. */
    endpoint: v.optional(
      v.pipe(
        v.string(),
        v.url('must be an absolute URL'),
        v.regex(/^https?:\/\//, 'must be an http(s) URL'),
        v.description('Endpoint of an S3-compatible store (MinIO, R2, Ceph). Absent: AWS S3.'),
        v.metadata({ examples: ['http://127.0.0.1:9000'] }),
      ),
    ),
    /** Outgoing-connection guard for `endpoint` (and AWS endpoints): internal addresses are refused unless allowed. */
    ssrf: ssrfOption,
    /** Path-style URLs (`endpoint/bucket/key`); default true with a custom endpoint. */
    forcePathStyle: v.optional(
      v.pipe(
        v.boolean(),
        v.description(
          'Path-style URLs (`endpoint/bucket/key`). Absent: true with a custom `endpoint`, else false.',
        ),
      ),
    ),
    /** Static credentials; omit to use the AWS SDK's default chain (instance role, profile, ...). */
    credentials: v.optional(
      v.pipe(
        v.strictObject({
          accessKeyId: v.pipe(
            v.string(),
            v.minLength(1, 'must not be empty'),
            v.description(
              'Access key id; use a secret reference such as `${env:AWS_ACCESS_KEY_ID}`.',
            ),
          ),
          secretAccessKey: v.pipe(
            v.string(),
            v.minLength(1, 'must not be empty'),
            v.description(
              'Secret access key; use a secret reference such as `${env:AWS_SECRET_ACCESS_KEY}`.',
            ),
          ),
          sessionToken: v.optional(
            v.pipe(v.string(), v.description('Session token of temporary credentials.')),
          ),
        }),
        v.description(
          "Static credentials. Absent: the AWS SDK's default chain (environment, profile, instance or task role).",
        ),
      ),
    ),
    /** Prepended to every key, e.g. `exports/sessions/`. */
    prefix: v.optional(
      v.pipe(
        v.string(),
        v.check((p) => !p.startsWith('/'), 'must not start with /'),
        v.check(
          (p) => !p.includes('{{') && !p.includes('{%'),
          'is literal text; put placeholders in key',
        ),
        v.description('Literal text prepended to every key (no placeholders).'),
        v.metadata({ examples: ['ga4/sessions/'] }),
      ),
      '',
    ),
    /** Key template after the prefix; sees record, batch, partition and extension. Must use batch.id. */
    key: v.optional(
      v.pipe(
        template,
        v.description(
          'Liquid template of the object key after `prefix`; sees `record`, `batch`, `partition` and `extension`, and must use `{{ batch.id }}`.',
        ),
      ),
      DEFAULT_KEY,
    ),
    /** Hive-style partition columns: record fields or `{ name, value }` templates. */
    partitionBy: v.optional(
      v.pipe(
        v.array(partitionSpec),
        v.description(
          'Hive-style partitions (`name=value/` in the key): a record field name, or `{ name, value }` with a template.',
        ),
        v.metadata({ examples: [[{ name: 'date', value: '{{ record.date }}' }, 'channel']] }),
      ),
      [],
    ),
    /** Each run's objects replace earlier runs' objects in the partitions it writes (restated data). */
    replacePartitions: v.optional(
      v.pipe(
        v.boolean(),
        v.description(
          "Each run's objects replace the objects earlier runs wrote in the partitions this run writes: for sources that re-read whole partitions (a GA4 report restating the last days), so the corrected data does not sit beside the provisional one. Only for partitions a run writes completely: an incremental source that adds to a partition run by run would lose the earlier runs' objects. Needs `partitionBy` and a key that starts with `{{ partition }}`.",
        ),
      ),
      false,
    ),
    format: v.optional(
      v.pipe(
        v.picklist(['ndjson', 'json', 'csv'], 'must be ndjson, json or csv'),
        v.description(
          'Object format: `ndjson` (one JSON object per line), `json` (one array) or `csv`.',
        ),
      ),
      'ndjson',
    ),
    gzip: v.optional(
      v.pipe(v.boolean(), v.description('Compress objects with gzip (the key gets `.gz`).')),
      false,
    ),
    csv: v.optional(
      v.pipe(
        v.strictObject({
          header: v.optional(v.pipe(v.boolean(), v.description('Write a header line.')), true),
          delimiter: v.optional(
            v.pipe(
              v.string(),
              v.length(1, 'must be exactly one character'),
              v.description('The character between cells.'),
            ),
            ',',
          ),
          // nullAs and escapeFormulas (OWASP CSV injection), from core's one CSV writer.
          ...csvWriterConfigEntries,
          columns: v.optional(
            v.pipe(
              v.array(v.pipe(v.string(), v.minLength(1))),
              v.minLength(1, 'declare at least one column'),
              v.description(
                'Record fields written as columns, in order. Absent: the fields of the records in first-seen order.',
              ),
              v.metadata({ examples: [['date', 'channel', 'sessions']] }),
            ),
          ),
        }),
        v.description('CSV options (with `format: csv`).'),
      ),
      {},
    ),
    /** Time zone of the liquid `date` filter in templates. */
    timeZone: v.optional(
      v.pipe(
        v.string(),
        v.check(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin'),
        v.description(
          'IANA time zone of the Liquid `date` filter in `key` and partition templates.',
        ),
        v.metadata({ examples: ['Europe/Berlin'] }),
      ),
      'UTC',
    ),
    serverSideEncryption: v.optional(
      v.pipe(
        v.picklist(
          ['AES256', 'aws:kms', 'aws:kms:dsse'],
          'must be AES256, aws:kms or aws:kms:dsse',
        ),
        v.description("Server-side encryption of the objects. Absent: the bucket's default."),
      ),
    ),
    /** KMS key id or ARN (with aws:kms / aws:kms:dsse). */
    sseKmsKeyId: v.optional(
      v.pipe(
        v.string(),
        v.minLength(1),
        v.description('KMS key id, alias or ARN (with `aws:kms` or `aws:kms:dsse`).'),
        v.metadata({ examples: ['alias/exports'] }),
      ),
    ),
    storageClass: v.optional(
      v.pipe(
        v.picklist(
          [
            'STANDARD',
            'STANDARD_IA',
            'ONEZONE_IA',
            'INTELLIGENT_TIERING',
            'GLACIER',
            'GLACIER_IR',
            'DEEP_ARCHIVE',
            'REDUCED_REDUNDANCY',
            'EXPRESS_ONEZONE',
          ],
          'must be an S3 storage class such as STANDARD or STANDARD_IA',
        ),
        v.description('Storage class of the objects. Absent: `STANDARD`.'),
      ),
    ),
    /** Extra user metadata (`x-amz-meta-*`) on every object. */
    metadata: v.optional(
      v.pipe(
        v.record(
          v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, 'must be lower-case letters, digits and -')),
          v.string(),
        ),
        v.description('User metadata (`x-amz-meta-*`) set on every object.'),
        v.metadata({ examples: [{ source: 'sluice' }] }),
      ),
      {},
    ),
    /** Objects larger than one part go up as multipart uploads. */
    multipart: v.optional(
      v.pipe(
        v.strictObject({
          /** Part size in MiB (S3's minimum is 5). */
          partSizeMb: v.optional(
            v.pipe(int(5, 5_120), v.description("Part size in MiB (S3's minimum is 5).")),
            8,
          ),
          /** Parts uploaded at the same time. */
          queueSize: v.optional(
            v.pipe(int(1, 64), v.description('Parts uploaded at the same time.')),
            4,
          ),
        }),
        v.description('Multipart uploads, used for objects larger than one part.'),
      ),
      {},
    ),
    /** Attempts per request inside the SDK (1 = only the router retries). */
    maxAttempts: v.optional(
      v.pipe(
        int(1, 10),
        v.description('Tries of one request inside the AWS SDK; `1` leaves retries to the router.'),
      ),
      3,
    ),
    requestTimeoutMs: v.optional(
      v.pipe(int(100, 600_000), v.description('Time for one request, in milliseconds.')),
      120_000,
    ),
    connectionTimeoutMs: v.optional(
      v.pipe(int(100, 60_000), v.description('Time to connect, in milliseconds.')),
      5_000,
    ),
    /** Largest batch the router hands over. */
    maxBatch: v.optional(
      v.pipe(
        int(1, 1_000_000),
        v.description('Largest batch the router sends to this destination.'),
      ),
      100_000,
    ),
    /** Batches written at the same time. */
    maxInFlight: v.optional(
      v.pipe(int(1, 64), v.description('Batches written at the same time.')),
      4,
    ),
    /** Objects of one batch uploaded at the same time. */
    uploadConcurrency: v.optional(
      v.pipe(int(1, 64), v.description('Objects of one batch uploaded at the same time.')),
      4,
    ),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const config = dataset.value;
    const at = (key: string, value: unknown): [v.ObjectPathItem] => [
      { type: 'object', origin: 'value', input: config, key, value },
    ];
    if (!/batch\.id/.test(config.key)) {
      addIssue({
        message:
          'must contain {{ batch.id }}: a retried batch must overwrite its own objects and two batches must never share one',
        path: at('key', config.key),
      });
    }
    if (
      config.sseKmsKeyId !== undefined &&
      config.serverSideEncryption !== 'aws:kms' &&
      config.serverSideEncryption !== 'aws:kms:dsse'
    ) {
      addIssue({
        message: 'needs serverSideEncryption: aws:kms (or aws:kms:dsse)',
        path: at('sseKmsKeyId', config.sseKmsKeyId),
      });
    }
    if (
      config.replacePartitions &&
      (config.partitionBy.length === 0 || !/^\{\{\s*partition\s*\}\}/.test(config.key))
    ) {
      addIssue({
        message:
          'replacePartitions needs partitionBy and a key that starts with {{ partition }} (it replaces whole partitions)',
        path: at('replacePartitions', config.replacePartitions),
      });
    }
    if (config.csv.columns !== undefined && config.format !== 'csv') {
      addIssue({ message: 'csv options apply to format csv only', path: at('csv', config.csv) });
    }
  }),
);

/** Raw (input) config of the S3 destination. */
export type S3ConfigInput = v.InferInput<typeof s3ConfigSchema>;

/** Parsed config of the S3 destination, with defaults filled in. */
export type S3Config = v.InferOutput<typeof s3ConfigSchema>;
