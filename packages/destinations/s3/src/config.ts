/**
 * The S3 destination's config schema (valibot): it validates, fills defaults, types the config
 * and is exported as JSON Schema for docs and editors. Key and partition templates are compiled
 * here, so a syntax error is a `ConfigError` naming the field.
 *
 * @packageDocumentation
 */
import * as v from 'valibot';
import { templateProblem } from './template.js';

const int = (min: number, max: number) => v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const template = v.pipe(
  v.string(),
  v.minLength(1, 'must not be empty'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = templateProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);

const PARTITION_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*$/;

const partitionSpec = v.union(
  [
    v.pipe(v.string(), v.regex(FIELD_PATH, 'must be a record field such as channel or geo.country')),
    v.strictObject({
      name: v.pipe(v.string(), v.regex(PARTITION_NAME, 'must be letters, digits and _ (a Hive column name)')),
      value: template,
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
      v.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name (3-63 lower-case letters, digits, dots and hyphens)'),
    ),
    region: v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, 'must be a region such as eu-central-1')), 'us-east-1'),
    /** Custom endpoint for S3-compatible stores (MinIO, R2, Ceph, s3rver), e.g. http://127.0.0.1:9000. */
    endpoint: v.optional(v.pipe(v.string(), v.url('must be an absolute URL'), v.regex(/^https?:\/\//, 'must be an http(s) URL'))),
    /** Path-style URLs (`endpoint/bucket/key`); default true with a custom endpoint. */
    forcePathStyle: v.optional(v.boolean()),
    /** Static credentials; omit to use the AWS SDK's default chain (instance role, profile, ...). */
    credentials: v.optional(
      v.strictObject({
        accessKeyId: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
        secretAccessKey: v.pipe(v.string(), v.minLength(1, 'must not be empty')),
        sessionToken: v.optional(v.string()),
      }),
    ),
    /** Prepended to every key, e.g. `exports/sessions/`. */
    prefix: v.optional(
      v.pipe(v.string(), v.check((p) => !p.startsWith('/'), 'must not start with /'), v.check((p) => !p.includes('{{') && !p.includes('{%'), 'is literal text; put placeholders in key')),
      '',
    ),
    /** Key template after the prefix; sees record, batch, partition and extension. Must use batch.id. */
    key: v.optional(template, DEFAULT_KEY),
    /** Hive-style partition columns: record fields or `{ name, value }` templates. */
    partitionBy: v.optional(v.array(partitionSpec), []),
    format: v.optional(v.picklist(['ndjson', 'json', 'csv'], 'must be ndjson, json or csv'), 'ndjson'),
    gzip: v.optional(v.boolean(), false),
    csv: v.optional(
      v.strictObject({
        header: v.optional(v.boolean(), true),
        delimiter: v.optional(v.pipe(v.string(), v.length(1, 'must be exactly one character')), ','),
        columns: v.optional(v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1, 'declare at least one column'))),
      }),
      {},
    ),
    /** Time zone of the liquid `date` filter in templates. */
    timeZone: v.optional(v.pipe(v.string(), v.check(isTimeZone, 'must be an IANA time zone such as Europe/Berlin')), 'UTC'),
    serverSideEncryption: v.optional(v.picklist(['AES256', 'aws:kms', 'aws:kms:dsse'], 'must be AES256, aws:kms or aws:kms:dsse')),
    /** KMS key id or ARN (with aws:kms / aws:kms:dsse). */
    sseKmsKeyId: v.optional(v.pipe(v.string(), v.minLength(1))),
    storageClass: v.optional(
      v.picklist(
        ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'GLACIER_IR', 'DEEP_ARCHIVE', 'REDUCED_REDUNDANCY', 'EXPRESS_ONEZONE'],
        'must be an S3 storage class such as STANDARD or STANDARD_IA',
      ),
    ),
    /** Extra user metadata (`x-amz-meta-*`) on every object. */
    metadata: v.optional(v.record(v.pipe(v.string(), v.regex(/^[a-z0-9-]+$/, 'must be lower-case letters, digits and -')), v.string()), {}),
    /** Objects larger than one part go up as multipart uploads. */
    multipart: v.optional(
      v.strictObject({
        /** Part size in MiB (S3's minimum is 5). */
        partSizeMb: v.optional(int(5, 5_120), 8),
        /** Parts uploaded at the same time. */
        queueSize: v.optional(int(1, 64), 4),
      }),
      {},
    ),
    /** Attempts per request inside the SDK (1 = only the router retries). */
    maxAttempts: v.optional(int(1, 10), 3),
    requestTimeoutMs: v.optional(int(100, 600_000), 120_000),
    connectionTimeoutMs: v.optional(int(100, 60_000), 5_000),
    /** Largest batch the router hands over. */
    maxBatch: v.optional(int(1, 1_000_000), 100_000),
    /** Batches written at the same time. */
    maxInFlight: v.optional(int(1, 64), 4),
    /** Objects of one batch uploaded at the same time. */
    concurrency: v.optional(int(1, 64), 4),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const config = dataset.value;
    const at = (key: string, value: unknown): [v.ObjectPathItem] => [{ type: 'object', origin: 'value', input: config, key, value }];
    if (!/batch\.id/.test(config.key)) {
      addIssue({ message: 'must contain {{ batch.id }}: a retried batch must overwrite its own objects and two batches must never share one', path: at('key', config.key) });
    }
    if (config.sseKmsKeyId !== undefined && config.serverSideEncryption !== 'aws:kms' && config.serverSideEncryption !== 'aws:kms:dsse') {
      addIssue({ message: 'needs serverSideEncryption: aws:kms (or aws:kms:dsse)', path: at('sseKmsKeyId', config.sseKmsKeyId) });
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
