/**
 * The `s3` destination: writes each batch as objects in S3 (or an S3-compatible store) under
 * deterministic keys derived from the batch id, grouped by Hive-style partitions, as NDJSON,
 * JSON or CSV, optionally gzip, with multipart uploads for large objects.
 *
 * @packageDocumentation
 */
import { HeadBucketCommand, S3Client, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  FatalError,
  PartialBatchError,
  createRedactor,
  type Batch,
  type CheckResult,
  type DestinationInstance,
  type JsonValue,
  type PluginContext,
  type RecordFailure,
  type SluiceError,
} from '@sluice/core';
import { createAddressPolicy, createGuardedAgents } from '@sluice/core/net';
import type { S3Config } from './config.js';
import { encodeObject, extensionOf } from './formats.js';
import { objectKeyProblem } from './object-key.js';
import { PartitionValueError, createPartitioner } from './partition.js';
import { mapS3Error } from './errors.js';
import { createPartitionSuperseder } from './supersede.js';
import { TemplateError, compileTemplate } from './template.js';

/** Things an embedder passes that do not belong in (serialisable) config. */
export interface S3DestinationOptions {
  /** A ready S3 client (custom middleware, credentials provider); the destination will not destroy it. */
  client?: S3Client;
}

/** The batch fields templates see as `batch.*`. */
function batchScope(batch: Batch) {
  return {
    id: batch.id,
    pipeline: batch.pipeline,
    runId: batch.runId,
    source: batch.source,
    route: batch.route ?? '',
    attempt: batch.attempt,
  };
}

/**
 * Builds the S3 client for a config (checksums only when required, so S3-compatible stores that
 * do not understand `aws-chunked` trailers work).
 *
 * @example
 * ```ts
 * const client = createS3Client(parseConfig(s3ConfigSchema, { bucket: 'b', endpoint: 'http://127.0.0.1:9000' }));
 * ```
 */
export function createS3Client(config: S3Config): S3Client {
  // The SDK's own defaults for its agents; the handler destroys them with the client.
  const agents = createGuardedAgents(createAddressPolicy(config.ssrf), {
    keepAlive: true,
    maxSockets: 50,
  });
  return new S3Client({
    region: config.region,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    forcePathStyle: config.forcePathStyle ?? config.endpoint !== undefined,
    // A copy: the SDK annotates the credentials object it is given (`$source`), which would
    // change the caller's config.
    ...(config.credentials === undefined ? {} : { credentials: { ...config.credentials } }),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: config.maxAttempts,
    // Every connection goes through the outgoing-connection guard: the agents check each DNS
    // answer (and literal endpoint hosts) against the ssrf policy. Credentials from the default
    // chain (instance metadata, container endpoints) use their own transport, not these agents.
    requestHandler: {
      requestTimeout: config.requestTimeoutMs,
      connectionTimeout: config.connectionTimeoutMs,
      httpAgent: agents.http,
      httpsAgent: agents.https,
    },
  });
}

/** Runs `task` over `items` with at most `limit` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Creates a live S3 destination from a parsed config. Most users go through
 * {@link s3Destination} and the registry; this is the embedding entry point.
 *
 * @example
 * ```ts
 * const s3 = createS3Destination(parseConfig(s3ConfigSchema, { bucket: 'exports', format: 'csv', gzip: true }), createPluginContext());
 * await s3.write(batch, { signal });
 * await s3.close?.();
 * ```
 */
export function createS3Destination(
  config: S3Config,
  ctx: PluginContext,
  options: S3DestinationOptions = {},
): DestinationInstance {
  const keyTemplate = compileTemplate('key', config.key, config.timeZone);
  const partitioner = createPartitioner(config.partitionBy, config.timeZone);
  const keyPerRecord = keyTemplate.globals.includes('record') || config.partitionBy.length > 0;
  const extension = extensionOf(config.format, config.gzip);
  const ownsClient = options.client === undefined;
  const client = options.client ?? createS3Client(config);
  const redact = createRedactor(
    config.credentials
      ? [
          config.credentials.secretAccessKey,
          ...(config.credentials.sessionToken ? [config.credentials.sessionToken] : []),
        ]
      : [],
  );
  const logger = ctx.logger.child({ destination: 's3', bucket: config.bucket });
  const objects = ctx.metrics.counter({
    name: 's3_objects_total',
    help: 'S3 objects written by outcome (written, retryable, fatal)',
    labelNames: ['outcome'],
  });
  const bytes = ctx.metrics.counter({
    name: 's3_bytes_total',
    help: 'Bytes uploaded to S3 (after compression)',
  });
  const partSize = config.multipart.partSizeMb * 1024 * 1024;
  let closed = false;

  // The partition prefix of each key this instance rendered (replacePartitions).
  const partitionOf = new Map<string, string>();
  const superseded = ctx.metrics.counter({
    name: 's3_objects_superseded_total',
    help: 'Objects of earlier runs deleted by replacePartitions',
  });
  const supersede = config.replacePartitions
    ? createPartitionSuperseder(client, config.bucket, (keys) => superseded.inc({}, keys.length))
    : undefined;

  const keyFor = (batch: Batch, index: number): string => {
    const record = batch.records[index]!;
    const scope = { record, batch: batchScope(batch), extension, partition: '' };
    scope.partition = partitioner.pathOf(record, scope);
    const key = config.prefix + keyTemplate.render(scope);
    const problem = objectKeyProblem(key);
    if (problem)
      throw new FatalError(`the rendered key ${JSON.stringify(key)} ${problem}`, {
        details: { field: 'key' },
      });
    if (supersede) partitionOf.set(key, config.prefix + scope.partition);
    return key;
  };

  const asRecordError = (err: unknown): Error => {
    if (err instanceof TemplateError) {
      return new FatalError(err.message, {
        cause: err,
        details: {
          field: err.template,
          ...(err.variable ? { variable: err.variable } : {}),
        } as Record<string, JsonValue>,
      });
    }
    if (err instanceof PartitionValueError)
      return new FatalError(err.message, {
        cause: err,
        details: { field: 'partitionBy', partition: err.partition },
      });
    return err as Error;
  };

  const upload = async (
    key: string,
    batch: Batch,
    indexes: readonly number[],
    signal: AbortSignal,
  ) => {
    const encoded = await encodeObject(
      indexes.map((i) => batch.records[i]!),
      config.format,
      config.gzip,
      config.csv,
    );
    const params: PutObjectCommandInput = {
      Bucket: config.bucket,
      Key: key,
      Body: encoded.body,
      ContentType: encoded.contentType,
      Metadata: {
        ...config.metadata,
        'sluice-batch-id': batch.id,
        'sluice-pipeline': batch.pipeline,
        'sluice-records': String(indexes.length),
      },
      ...(config.serverSideEncryption ? { ServerSideEncryption: config.serverSideEncryption } : {}),
      ...(config.sseKmsKeyId ? { SSEKMSKeyId: config.sseKmsKeyId } : {}),
      ...(config.storageClass ? { StorageClass: config.storageClass } : {}),
    };
    // lib-storage sends one PutObject below partSize and a multipart upload above it, aborting
    // the multipart upload (no orphaned parts) when a part fails.
    const transfer = new Upload({
      client,
      params,
      partSize,
      queueSize: config.multipart.queueSize,
      leavePartsOnError: false,
    });
    const onAbort = () => void transfer.abort().catch(() => undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await transfer.done();
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    bytes.inc({}, encoded.body.length);
  };

  return {
    async write(batch, { signal }) {
      if (closed) throw new FatalError('the s3 destination is closed');
      if (batch.records.length === 0) return;
      const failures: RecordFailure[] = [];
      const groups = new Map<string, number[]>();
      if (keyPerRecord) {
        for (let index = 0; index < batch.records.length; index++) {
          try {
            const key = keyFor(batch, index);
            const group = groups.get(key);
            if (group) group.push(index);
            else groups.set(key, [index]);
          } catch (err) {
            failures.push({ index, error: asRecordError(err) });
          }
        }
      } else {
        // The key does not depend on records: render it once (with the first record in scope).
        try {
          groups.set(
            keyFor(batch, 0),
            batch.records.map((_, i) => i),
          );
        } catch (err) {
          const error = asRecordError(err);
          throw error instanceof FatalError
            ? error
            : new FatalError(error.message, { cause: error });
        }
      }
      const recordFailures = failures.length;
      const uploadErrors: SluiceError[] = [];
      await eachLimited([...groups], config.uploadConcurrency, async ([key, indexes]) => {
        try {
          if (signal.aborted) throw signal.reason;
          await upload(key, batch, indexes, signal);
          objects.inc({ outcome: 'written' });
          const partition = partitionOf.get(key);
          if (supersede && partition !== undefined) {
            partitionOf.delete(key);
            await supersede(partition, batch.runId, signal);
          }
        } catch (err) {
          const error = mapS3Error(err, key);
          error.message = redact(error.message);
          objects.inc({ outcome: error instanceof FatalError ? 'fatal' : 'retryable' });
          uploadErrors.push(error);
          for (const index of indexes) failures.push({ index, error });
        }
      });
      if (failures.length === 0) {
        logger.debug({ batch: batch.id, objects: groups.size }, 'batch written');
        return;
      }
      // Every object failed for the same kind of reason (an outage, a missing bucket): report
      // that reason itself rather than one copy per record.
      if (
        recordFailures === 0 &&
        failures.length === batch.records.length &&
        uploadErrors.every((e) => e.constructor === uploadErrors[0]!.constructor)
      ) {
        throw uploadErrors[0]!;
      }
      throw new PartialBatchError(failures);
    },

    async check(): Promise<CheckResult> {
      try {
        await client.send(new HeadBucketCommand({ Bucket: config.bucket }));
        return {
          ok: true,
          message: `bucket ${config.bucket} is reachable`,
          details: { bucket: config.bucket },
        };
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata
          ?.httpStatusCode;
        const error = mapS3Error(err, config.bucket);
        const message =
          status === 404
            ? `bucket ${config.bucket} does not exist`
            : status === 403
              ? `access to bucket ${config.bucket} is denied: check the credentials and the bucket policy`
              : error.message;
        return {
          ok: false,
          message: redact(message),
          details: {
            bucket: config.bucket,
            ...(status === undefined ? {} : { httpStatus: status }),
          },
        };
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      if (ownsClient) client.destroy();
    },
  };
}
