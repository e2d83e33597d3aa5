/**
 * `replacePartitions`: a run's objects replace what earlier runs wrote in the partitions it
 * writes. For sources that re-read whole partitions — a GA4 report restating the last days —
 * the corrected objects otherwise sit beside the provisional ones and a query engine reading the
 * partition counts both.
 *
 * After the first object a run writes to a partition, every object under that partition's prefix
 * whose key is not from this run (keys contain the batch id, which contains the run id) is
 * deleted. The new object is written first, so a reader sees old and new for a moment, never
 * neither; a take-over of the run (same run id) keeps what its killed attempt wrote.
 *
 * @packageDocumentation
 */
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** S3 deletes at most this many keys per request. */
const DELETE_CHUNK = 1000;

/**
 * Remembers the (run, partition) pairs already superseded by this instance, and supersedes a
 * partition the first time a run writes to it.
 *
 * @example
 * ```ts
 * const supersede = createPartitionSuperseder(client, 'exports');
 * await supersede('ga4/date=2026-11-24/', batch.runId); // deletes the earlier runs' objects
 * ```
 */
export function createPartitionSuperseder(
  client: S3Client,
  bucket: string,
  onDeleted: (keys: readonly string[]) => void = () => {},
) {
  const done = new Set<string>();
  return async (partitionPrefix: string, runId: string, signal?: AbortSignal): Promise<void> => {
    const memo = `${runId}\u0000${partitionPrefix}`;
    if (done.has(memo)) return;
    const ours = `-${runId}-`;
    const stale: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: partitionPrefix,
          ContinuationToken: token,
        }),
        { abortSignal: signal },
      );
      for (const item of page.Contents ?? []) {
        // Only this partition's own objects: not those of a deeper partition level under it.
        if (
          item.Key &&
          !item.Key.slice(partitionPrefix.length).includes('/') &&
          !item.Key.includes(ours)
        )
          stale.push(item.Key);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    for (let i = 0; i < stale.length; i += DELETE_CHUNK) {
      const chunk = stale.slice(i, i + DELETE_CHUNK);
      await client.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
        }),
        { abortSignal: signal },
      );
      onDeleted(chunk);
    }
    done.add(memo);
  };
}
