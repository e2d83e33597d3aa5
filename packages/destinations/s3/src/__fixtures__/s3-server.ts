/**
 * A real S3-protocol server for tests: s3rver, in-process, on 127.0.0.1 and an ephemeral port,
 * storing into a fresh temporary folder that is removed on close.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export const TEST_CREDENTIALS: { readonly accessKeyId: string; readonly secretAccessKey: string } =
  { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface TestS3Server {
  endpoint: string;
  port: number;
  client: S3Client;
  /** Keys under a prefix, sorted. */
  list(bucket: string, prefix?: string): Promise<string[]>;
  /** An object's bytes (gunzipped when `gunzip`). */
  read(bucket: string, key: string, gunzip?: boolean): Promise<Buffer>;
  head(bucket: string, key: string): Promise<HeadObjectCommandOutput>;
  close(): Promise<void>;
}

export async function startS3Server(buckets: string[]): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'sluice-s3-test-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { ...TEST_CREDENTIALS },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    port,
    client,
    async list(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const item of page.Contents ?? []) if (item.Key) keys.push(item.Key);
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    async read(bucket, key, gunzip = key.endsWith('.gz')) {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      return gunzip ? gunzipSync(bytes) : bytes;
    },
    head: (bucket, key) => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
