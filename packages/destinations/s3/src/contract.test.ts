import { afterAll, beforeAll } from 'vitest';
import type { SluiceRecord } from '@sluice/core';
import { testDestination } from '@sluice/testing';
import { startS3Server, TEST_CREDENTIALS, type TestS3Server } from './__fixtures__/s3-server.js';
import { startTcpProxy, type TcpProxy } from '@sluice/testing/fakes';
import { s3Destination } from './plugin.js';
import type { S3Config } from './config.js';

const BUCKET = 'sluice-contract';
let s3: TestS3Server;
let proxy: TcpProxy;
let sequence = 0;

beforeAll(async () => {
  s3 = await startS3Server([BUCKET]);
  proxy = await startTcpProxy(s3.port);
});
afterAll(async () => {
  await proxy.close();
  await s3.close();
});

/** Each test writes under its own prefix, through the proxy (so an outage can be simulated). */
const config = (extra: Record<string, unknown> = {}) => ({
  bucket: BUCKET,
  endpoint: `http://127.0.0.1:${proxy.port}`,
  ssrf: { allow: ['127.0.0.1'] }, // s3rver listens on loopback: opt in explicitly
  credentials: { ...TEST_CREDENTIALS },
  prefix: `contract-${++sequence}/`,
  maxAttempts: 1,
  ...extra,
});

async function readBack(c: S3Config): Promise<SluiceRecord[]> {
  const out: SluiceRecord[] = [];
  for (const key of await s3.list(BUCKET, c.prefix)) {
    const text = (await s3.read(BUCKET, key)).toString('utf8');
    if (c.format === 'json') out.push(...(JSON.parse(text) as SluiceRecord[]));
    else
      out.push(
        ...text
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as SluiceRecord),
      );
  }
  return out;
}

const invalidConfigs = [
  { name: 'missing bucket', config: {}, path: 'bucket' },
  { name: 'bucket with upper case', config: { bucket: 'My_Bucket' }, path: 'bucket' },
  { name: 'unknown format', config: { bucket: 'abc', format: 'xml' }, path: 'format' },
  { name: 'key without batch id', config: { bucket: 'abc', key: 'latest.csv' }, path: 'key' },
  {
    name: 'key using the time of write',
    config: { bucket: 'abc', key: '{{ "now" | date: "%Y" }}/{{ batch.id }}' },
    path: 'key',
  },
  {
    name: 'key with a broken tag',
    config: { bucket: 'abc', key: '{% if %}{{ batch.id }}' },
    path: 'key',
  },
  {
    name: 'partition name with a dash',
    config: { bucket: 'abc', partitionBy: [{ name: 'a-b', value: 'x' }] },
    path: 'partitionBy[0].name',
  },
  {
    name: 'part size below S3 minimum',
    config: { bucket: 'abc', multipart: { partSizeMb: 1 } },
    path: 'multipart.partSizeMb',
  },
  {
    name: 'unknown storage class',
    config: { bucket: 'abc', storageClass: 'COLD' },
    path: 'storageClass',
  },
  {
    name: 'kms key without kms encryption',
    config: { bucket: 'abc', sseKmsKeyId: 'k' },
    path: 'sseKmsKeyId',
  },
  { name: 'unknown time zone', config: { bucket: 'abc', timeZone: 'Mars/Base' }, path: 'timeZone' },
  { name: 'typo in a key', config: { bucket: 'abc', prefx: 'x' }, path: 'prefx' },
];

const transientFailure = {
  inject: () => {
    proxy.down();
    return () => proxy.up();
  },
};

testDestination<S3Config>({
  name: 's3 (ndjson, one object per batch)',
  definition: s3Destination,
  config: () => config(),
  readBack,
  invalidConfigs,
  transientFailure,
});

testDestination<S3Config>({
  name: 's3 (json, gzip, Hive partitions)',
  definition: s3Destination,
  config: () => config({ format: 'json', gzip: true, partitionBy: ['active'] }),
  readBack,
  invalidConfigs,
  transientFailure,
  partialFailure: {
    records: [
      { id: 1, active: true },
      { id: 2 },
      { id: 3, active: false },
      { id: 4, active: { nested: 1 } },
    ],
    failed: [1, 3],
  },
});
