import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

/** A temporary folder with a sluice.yaml (and any extra files) in it. */
export function configDir(
  yaml: string,
  files: Record<string, string> = {},
): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-server-'));
  const config = join(dir, 'sluice.yaml');
  writeFileSync(config, yaml);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, config };
}

/** A loopback HTTP receiver whose answers a test controls. */
export interface Receiver {
  url: string;
  requests: { headers: IncomingMessage['headers']; body: string }[];
  /** Status to answer with (default 200). */
  status: number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = { url: '', requests: [], status: 200, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      receiver.requests.push({ headers: req.headers, body });
      res.statusCode = receiver.status;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  receiver.close = () => new Promise((r) => server.close(() => r()));
  return receiver;
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
