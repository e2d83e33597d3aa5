// A tiny Pushgateway stand-in on 127.0.0.1: records every push (method, path, body) and can be
// told to answer with an error status per path prefix.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Push {
  method: string;
  path: string;
  body: string;
}

export interface FakePushgateway {
  url: string;
  pushes: Push[];
  /** The body of the last push to `path`, or `undefined`. */
  last(path: string): string | undefined;
  failWith(prefix: string, status: number): () => void;
  close(): Promise<void>;
}

export async function startFakePushgateway(): Promise<FakePushgateway> {
  const pushes: Push[] = [];
  const failures = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      for (const [prefix, status] of failures) {
        if (path.startsWith(prefix))
          return void res.writeHead(status).end(`refused with ${status}`);
      }
      pushes.push({ method: req.method ?? '', path, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pushes,
    last: (path) => pushes.filter((p) => p.path === path).at(-1)?.body,
    failWith(prefix, status) {
      failures.set(prefix, status);
      return () => void failures.delete(prefix);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
