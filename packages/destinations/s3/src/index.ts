/**
 * `@sluice/destinations-s3`: a Sluice destination that writes records to Amazon S3 and
 * S3-compatible stores as NDJSON, JSON or CSV objects (optionally gzip), with Hive-style
 * partitions, deterministic per-batch keys (a retried batch overwrites, never duplicates),
 * multipart uploads, server-side encryption and storage classes.
 *
 * @example
 * ```ts
 * import { PluginRegistry } from '@sluice/core';
 * import s3Plugin from '@sluice/destinations-s3';
 * const registry = new PluginRegistry().register(s3Plugin);
 * ```
 *
 * @packageDocumentation
 */
import { s3Plugin } from './plugin.js';

export { s3Destination, s3Plugin } from './plugin.js';
export { createS3Client, createS3Destination, type S3DestinationOptions } from './destination.js';
export { DEFAULT_KEY, s3ConfigSchema, type S3Config, type S3ConfigInput } from './config.js';
export {
  encodeObject,
  extensionOf,
  type CsvOptions,
  type EncodedObject,
  type ObjectFormat,
} from './formats.js';
export {
  HIVE_DEFAULT_PARTITION,
  PartitionValueError,
  createPartitioner,
  escapePartitionValue,
  type PartitionSpec,
  type Partitioner,
} from './partition.js';
export { mapS3Error } from './errors.js';
export { objectKeyProblem } from './object-key.js';
export {
  TemplateError,
  compileTemplate,
  templateProblem,
  type CompiledTemplate,
} from './template.js';

export default s3Plugin;
