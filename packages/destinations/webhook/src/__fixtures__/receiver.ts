// A real HTTP server on 127.0.0.1 that records what the webhook destination sends, and can be
// told to misbehave (status codes, hangs, mid-response disconnects, redirects) per path prefix.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** Handles a request instead of the default 200; return `false` to fall through to the default. */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, body: string) => boolean | void;

export interface Receiver {
  origin: string;
  port: number;
  received: Received[];
  /** Requests whose path starts with `prefix`, de-duplicated by idempotency key when `dedupe`. */
  at(prefix: string, dedupe?: boolean): Received[];
  behave(prefix: string, behaviour: Behaviour): () => void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const behaviours = new Map<string, Behaviour>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '/';
      for (const [prefix, behaviour] of behaviours) {
        if (path.startsWith(prefix) && behaviour(req, res, body) !== false) return;
      }
      received.push({ method: req.method ?? '', path, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    received,
    at(prefix, dedupe = true) {
      const hits = received.filter((r) => r.path.startsWith(prefix));
      if (!dedupe) return hits;
      const seen = new Set<string>();
      return hits.filter((r) => {
        const key = r.headers['idempotency-key'];
        if (typeof key !== 'string') return true;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    },
    behave(prefix, behaviour) {
      behaviours.set(prefix, behaviour);
      return () => void behaviours.delete(prefix);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
