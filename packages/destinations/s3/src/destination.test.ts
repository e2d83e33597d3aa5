import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { S3Client } from '@aws-sdk/client-s3';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  createPluginContext,
  parseConfig,
  type SluiceRecord,
} from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { startTcpProxy } from '@sluice/testing/fakes';
import { startS3Server, TEST_CREDENTIALS, type TestS3Server } from './__fixtures__/s3-server.js';
import { createS3Destination } from './destination.js';
import { s3ConfigSchema } from './config.js';
import { escapePartitionValue } from './partition.js';
import { objectKeyProblem } from './object-key.js';

const BUCKET = 'sluice-dest-s3-test';
let s3: TestS3Server;
let sequence = 0;
const signal = new AbortController().signal;

beforeAll(async () => {
  s3 = await startS3Server([BUCKET]);
});
afterAll(() => s3.close());

function configFor(extra: Record<string, unknown> = {}) {
  return parseConfig(s3ConfigSchema, {
    bucket: BUCKET,
    endpoint: s3.endpoint,
    ssrf: { allow: ['127.0.0.1'] }, // s3rver listens on loopback: opt in explicitly
    credentials: { ...TEST_CREDENTIALS },
    prefix: `t-${++sequence}/`,
    maxAttempts: 1,
    ...extra,
  });
}

/** A client that records every command it sends and the headers of every request. */
function recordingClient() {
  const commands: string[] = [];
  const headers: Record<string, string>[] = [];
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { ...TEST_CREDENTIALS },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName ?? '?');
      headers.push({ ...((args.request as { headers?: Record<string, string> }).headers ?? {}) });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordCommands' },
  );
  return { client, commands, headers };
}

const sessions: SluiceRecord[] = [
  { ts: '2026-11-25T08:00:00Z', channel: 'email', sessions: 1204, paid: false },
  { ts: '2026-11-25T09:00:00Z', channel: 'paid search', sessions: 880, paid: true },
  { ts: '2026-11-24T23:30:00Z', channel: 'email', sessions: 97, paid: false },
  {
    ts: '2026-11-25T10:00:00Z',
    channel: 'email',
    sessions: 15,
    paid: false,
    extra: { campaign: 'bf' },
  },
];

describe('s3 destination: layout', () => {
  it('groups a batch into Hive partitions with deterministic keys, as gzip CSV', async () => {
    const config = configFor({
      partitionBy: [{ name: 'date', value: '{{ record.ts | date: "%Y-%m-%d" }}' }, 'channel'],
      format: 'csv',
      gzip: true,
      csv: { columns: ['ts', 'channel', 'sessions', 'paid'] },
      metadata: { team: 'growth' },
    });
    const destination = createS3Destination(config, createPluginContext());
    const batch = makeBatch(sessions, { id: 'daily-7f3a-0001' });
    await destination.write(batch, { signal });
    const keys = await s3.list(BUCKET, config.prefix);
    expect(keys).toEqual([
      `${config.prefix}date=2026-11-24/channel=email/part-daily-7f3a-0001.csv.gz`,
      `${config.prefix}date=2026-11-25/channel=email/part-daily-7f3a-0001.csv.gz`,
      `${config.prefix}date=2026-11-25/channel=paid search/part-daily-7f3a-0001.csv.gz`,
    ]);
    const rows = parse((await s3.read(BUCKET, keys[1]!)).toString('utf8'), {
      columns: true,
    }) as Record<string, string>[];
    expect(rows).toEqual([
      { ts: '2026-11-25T08:00:00Z', channel: 'email', sessions: '1204', paid: 'false' },
      { ts: '2026-11-25T10:00:00Z', channel: 'email', sessions: '15', paid: 'false' },
    ]);
    const head = await s3.head(BUCKET, keys[1]!);
    expect(head.ContentType).toBe('application/gzip');
    expect(head.Metadata).toMatchObject({
      team: 'growth',
      'sluice-batch-id': 'daily-7f3a-0001',
      'sluice-records': '2',
    });
    // A retried batch overwrites the same objects: still three, same content.
    await destination.write({ ...batch, attempt: 2 }, { signal });
    expect(await s3.list(BUCKET, config.prefix)).toEqual(keys);
    expect(parse((await s3.read(BUCKET, keys[1]!)).toString('utf8'), { columns: true })).toEqual(
      rows,
    );
    await destination.close?.();
  });

  it('formats dates in the configured time zone and writes NDJSON with nested values intact', async () => {
    const config = configFor({
      key: '{{ record.ts | date: "%Y/%m/%d" }}/{{ batch.pipeline }}-{{ batch.id }}{{ extension }}',
      timeZone: 'Europe/Berlin',
    });
    const destination = createS3Destination(config, createPluginContext());
    await destination.write(makeBatch(sessions, { id: 'b-tz' }), { signal });
    const keys = await s3.list(BUCKET, config.prefix);
    expect(keys).toEqual([`${config.prefix}2026/11/25/contract-b-tz.ndjson`]);
    const lines = (await s3.read(BUCKET, keys[0]!))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as SluiceRecord);
    expect(lines).toEqual(sessions);
  });

  it('escapes partition values like Hive and puts null values in the default partition', async () => {
    expect(escapePartitionValue('a/b=c?%')).toBe('a%2Fb%3Dc%3F%25');
    const config = configFor({ partitionBy: ['geo.country'] });
    const destination = createS3Destination(config, createPluginContext());
    await destination.write(
      makeBatch([{ geo: { country: '../x' } }, { geo: { country: null } }], { id: 'b-esc' }),
      { signal },
    );
    expect(await s3.list(BUCKET, config.prefix)).toEqual([
      `${config.prefix}country=..%2Fx/part-b-esc.ndjson`,
      `${config.prefix}country=__HIVE_DEFAULT_PARTITION__/part-b-esc.ndjson`,
    ]);
  });

  it('uploads an object above the part size as a multipart upload, and reads back whole', async () => {
    const { client, commands } = recordingClient();
    const config = configFor({ multipart: { partSizeMb: 5, queueSize: 2 } });
    const destination = createS3Destination(config, createPluginContext(), { client });
    const records = Array.from({ length: 30_000 }, (_, i) => ({ i, pad: 'x'.repeat(200) }));
    await destination.write(makeBatch(records, { id: 'b-big' }), { signal });
    expect(commands).toContain('CreateMultipartUploadCommand');
    expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(2);
    expect(commands).toContain('CompleteMultipartUploadCommand');
    const [key] = await s3.list(BUCKET, config.prefix);
    const body = await s3.read(BUCKET, key!);
    expect(body.length).toBeGreaterThan(5 * 1024 * 1024);
    const lines = body.toString('utf8').trim().split('\n');
    expect(lines).toHaveLength(30_000);
    expect(JSON.parse(lines[29_999]!)).toEqual(records[29_999]);
    client.destroy();
  });

  it('sends server-side encryption and the storage class', async () => {
    const { client, headers } = recordingClient();
    const config = configFor({ serverSideEncryption: 'AES256', storageClass: 'STANDARD_IA' });
    const destination = createS3Destination(config, createPluginContext(), { client });
    await destination.write(makeBatch([{ a: 1 }], { id: 'b-sse' }), { signal });
    expect(headers.at(-1)).toMatchObject({
      'x-amz-server-side-encryption': 'AES256',
      'x-amz-storage-class': 'STANDARD_IA',
    });
    const [key] = await s3.list(BUCKET, config.prefix);
    expect((await s3.head(BUCKET, key!)).StorageClass).toBe('STANDARD_IA');
    client.destroy();
  });
});

describe('s3 destination: replacePartitions (restated data, issue 18)', () => {
  const partitioned = (extra: Record<string, unknown> = {}) =>
    configFor({
      partitionBy: [{ name: 'date', value: '{{ record.date }}' }],
      format: 'ndjson',
      replacePartitions: true,
      ...extra,
    });
  const batchOf = (runId: string, n: number, records: SluiceRecord[]) =>
    makeBatch(records, {
      id: `daily-lake-${runId}-3f9c0a21be-${String(n).padStart(6, '0')}`,
      runId,
      pipeline: 'daily',
    });

  it("a later run's objects replace the earlier runs' objects in the partitions it writes, and only there", async () => {
    const config = partitioned();
    const lake = createS3Destination(config, createPluginContext());
    await lake.write(
      batchOf('run1', 1, [
        { date: '2026-11-23', sessions: 10 },
        { date: '2026-11-24', sessions: 20 },
      ]),
      { signal },
    );
    // Run 2 restates 2026-11-24 in two batches: both stay, run 1's object of that day goes.
    await lake.write(batchOf('run2', 1, [{ date: '2026-11-24', sessions: 21 }]), { signal });
    await lake.write(batchOf('run2', 2, [{ date: '2026-11-24', sessions: 22 }]), { signal });
    await lake.close?.();
    const keys = await s3.list(BUCKET, config.prefix);
    expect(keys).toEqual([
      `${config.prefix}date=2026-11-23/part-daily-lake-run1-3f9c0a21be-000001.ndjson`,
      `${config.prefix}date=2026-11-24/part-daily-lake-run2-3f9c0a21be-000001.ndjson`,
      `${config.prefix}date=2026-11-24/part-daily-lake-run2-3f9c0a21be-000002.ndjson`,
    ]);
    const day = await Promise.all(
      keys
        .slice(1)
        .map(async (k) => JSON.parse((await s3.read(BUCKET, k)).toString('utf8')) as SluiceRecord),
    );
    expect(day.map((r) => r.sessions)).toEqual([21, 22]);
  });

  it('is refused without partitions, or with a key that does not start with the partition', () => {
    expect(() => configFor({ replacePartitions: true })).toThrow(
      /replacePartitions needs partitionBy/,
    );
    expect(() =>
      partitioned({ key: 'x/{{ partition }}part-{{ batch.id }}{{ extension }}' }),
    ).toThrow(/replacePartitions needs partitionBy/);
  });
});

describe('s3 destination: bad records and errors', () => {
  it('fails only the records whose key cannot be built, naming the template and variable', async () => {
    const config = configFor({ key: '{{ record.day }}/{{ record.name }}-{{ batch.id }}.ndjson' });
    const destination = createS3Destination(config, createPluginContext());
    const err = await destination
      .write(
        makeBatch(
          [
            { day: 'mon', name: 'a' },
            { name: 'b' },
            { day: 'tue', name: 'line\nbreak' },
            { day: 'mon', name: 'a' },
          ],
          { id: 'b-bad' },
        ),
        { signal },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialBatchError);
    const failures = (err as PartialBatchError).failures;
    expect(failures.map((f) => f.index)).toEqual([1, 2]);
    expect(failures[0]!.error.message).toBe('template key: variable record.day is missing');
    expect(failures[1]!.error.message).toContain('contains a control character');
    for (const f of failures) expect(f.error).toBeInstanceOf(FatalError);
    expect(await s3.list(BUCKET, config.prefix)).toEqual([`${config.prefix}mon/a-b-bad.ndjson`]);
  });

  it('NoSuchBucket is fatal', async () => {
    const config = configFor({ bucket: 'no-such-bucket' });
    const err = await createS3Destination(config, createPluginContext())
      .write(makeBatch([{ a: 1 }]), { signal })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect((err as FatalError).details).toMatchObject({ s3Error: 'NoSuchBucket', httpStatus: 404 });
  });

  it('refused credentials are fatal and the secret never appears in the error', async () => {
    const config = configFor({
      credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'very-secret-value' },
    });
    const err = await createS3Destination(config, createPluginContext())
      .write(makeBatch([{ a: 1 }]), { signal })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FatalError);
    expect((err as FatalError).details?.httpStatus).toBe(403);
    expect((err as Error).message).not.toContain('very-secret-value');
  });

  it('an unreachable endpoint is retryable', async () => {
    const config = configFor({ endpoint: 'http://127.0.0.1:1', connectionTimeoutMs: 1000 });
    const err = await createS3Destination(config, createPluginContext())
      .write(makeBatch([{ a: 1 }]), { signal })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
  });

  it('check() reports a reachable bucket and a missing one', async () => {
    await expect(
      createS3Destination(configFor(), createPluginContext()).check!(),
    ).resolves.toMatchObject({ ok: true });
    const missing = await createS3Destination(
      configFor({ bucket: 'no-such-bucket' }),
      createPluginContext(),
    ).check!();
    expect(missing).toMatchObject({ ok: false, message: 'bucket no-such-bucket does not exist' });
  });

  it('objectKeyProblem refuses keys that break path-based tools', () => {
    expect(objectKeyProblem('a/b.csv')).toBeUndefined();
    expect(objectKeyProblem('a//b.csv')).toBe('has an empty segment (//)');
    expect(objectKeyProblem('a/../b.csv')).toBe('has a . or .. segment');
    expect(objectKeyProblem('/a.csv')).toBe('starts with /');
    expect(objectKeyProblem('a/')).toBe('ends with / (names a folder, not an object)');
    expect(objectKeyProblem('é'.repeat(513))).toBe('is longer than 1024 bytes');
  });
});

describe('s3 destination: outgoing-connection guard on endpoint', () => {
  it('refuses loopback and metadata endpoints without opt-in: coded error, no TCP connection; writes with it', async () => {
    const proxy = await startTcpProxy(s3.port, '127.0.0.1', { listenHost: '::' });
    try {
      for (const host of [
        '127.0.0.1',
        'localhost',
        '[::1]',
        '[::ffff:127.0.0.1]',
        '[::127.0.0.1]',
        '2130706433',
        '169.254.169.254',
      ]) {
        const config = parseConfig(s3ConfigSchema, {
          bucket: BUCKET,
          endpoint: `http://${host}:${proxy.port}`,
          credentials: { ...TEST_CREDENTIALS },
          prefix: `guard-${++sequence}/`,
          maxAttempts: 1,
          connectionTimeoutMs: 1000,
        });
        const destination = createS3Destination(config, createPluginContext());
        const err = await destination
          .write(makeBatch([{ a: 1 }]), { signal })
          .catch((e: unknown) => e);
        expect(err, host).toBeInstanceOf(FatalError);
        expect(err, host).toMatchObject({
          code: 'SLUICE_ERR_BLOCKED_ADDRESS',
          details: { field: 'endpoint' },
        });
        expect((err as Error).message, host).toMatch(
          /^endpoint: refusing to connect to .*(loopback|linkLocal) addresses are blocked/,
        );
        expect(await destination.check!(), host).toMatchObject({
          ok: false,
          message: expect.stringMatching(/refusing to connect/),
        });
        await destination.close?.();
      }
      expect(proxy.accepted).toBe(0);

      const prefix = `guard-${++sequence}/`;
      const allowed = createS3Destination(
        parseConfig(s3ConfigSchema, {
          bucket: BUCKET,
          endpoint: `http://127.0.0.1:${proxy.port}`,
          ssrf: { allow: ['127.0.0.1'] },
          credentials: { ...TEST_CREDENTIALS },
          prefix,
          maxAttempts: 1,
        }),
        createPluginContext(),
      );
      await allowed.write(makeBatch([{ a: 1 }]), { signal });
      expect(proxy.accepted).toBeGreaterThan(0);
      expect(await s3.list(BUCKET, prefix)).toHaveLength(1);
      await allowed.close?.();
    } finally {
      await proxy.close();
    }
  });
});
