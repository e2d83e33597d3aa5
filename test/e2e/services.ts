// Loopback services the end-to-end tests control: a TCP proxy whose outage a test switches on
// and off (so the shared PostgreSQL server itself is never stopped), an in-process s3rver and a
// webhook receiver whose answers a test chooses.
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
// @ts-expect-error s3rver ships no typings; only its constructor, run() and close() are used.
import S3rver from 's3rver';

/** The outage proxy lives in `@sluice/testing/fakes` (destination packages use it too). */
export { startTcpProxy, type TcpProxy } from '@sluice/testing/fakes';

export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3Server {
  readonly endpoint: string;
  readonly port: number;
  list(bucket: string, prefix?: string): Promise<string[]>;
  read(bucket: string, key: string): Promise<string>;
  close(): Promise<void>;
}

export async function startS3(buckets: string[]): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'sluice-e2e-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: S3_CREDENTIALS,
  });
  return {
    endpoint,
    port,
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
    async read(bucket, key) {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return object.Body!.transformToString();
    },
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A webhook receiver: answers `script`'s statuses, then `status` (with `retryAfter` seconds on 429), records what it got. */
export interface Receiver {
  readonly url: string;
  readonly requests: {
    path: string;
    headers: IncomingMessage['headers'];
    body: string;
    status: number;
  }[];
  status: number;
  /** Statuses for the next requests, in order; `status` answers once they are used up. */
  script: number[];
  retryAfter?: number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const receiver = {
    url: '',
    requests: [],
    status: 200,
    script: [],
    close: async () => {},
  } as unknown as Receiver & { url: string; close: () => Promise<void> };
  const server = createHttpServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const status = receiver.script.shift() ?? receiver.status;
      receiver.requests.push({ path: req.url ?? '', headers: req.headers, body, status });
      if (status === 429 && receiver.retryAfter !== undefined)
        res.setHeader('retry-after', String(receiver.retryAfter));
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return receiver;
}

/** The records of every 2xx-answered request whose JSON body is a record or an array of records. */
export function receivedRecords(receiver: Receiver): Record<string, unknown>[] {
  return receiver.requests
    .filter((r) => r.status >= 200 && r.status < 300)
    .flatMap((r) => {
      const parsed = JSON.parse(r.body) as unknown;
      return (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[];
    });
}
