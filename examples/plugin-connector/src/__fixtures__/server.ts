// A loopback JSON API with page, offset and cursor paging over the same items, plus fault
// injection, for the plugin's tests.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ItemsServer {
  url: string;
  items: { id: number; name: string; price: number; tags: string[]; note: string | null }[];
  /** Answers the next `times` requests with `status` and `body`. */
  fail(status: number, body?: string, times?: number): () => void;
  requests: string[];
  close(): Promise<void>;
}

export async function startItemsServer(count = 230): Promise<ItemsServer> {
  const items = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    name: `item ${i + 1}`,
    price: Math.round(((i * 37) % 1000) * 1.5) / 100,
    tags: i % 2 ? ['even'] : [],
    note: i % 3 ? null : 'third',
  }));
  let fault: { status: number; body: string; times: number } | undefined;
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname + url.search);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    if (req.headers['x-api-key'] !== 'secret')
      return send(401, { error: 'missing or wrong x-api-key' });
    if (fault && fault.times > 0) {
      fault.times -= 1;
      return send(fault.status, fault.body);
    }
    const n = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
    if (url.pathname === '/pages') {
      const size = n('per_page', 50);
      const page = n('page', 1);
      return send(200, { data: { items: items.slice((page - 1) * size, page * size) } });
    }
    if (url.pathname === '/offsets') {
      const limit = n('limit', 50);
      const offset = n('offset', 0);
      return send(200, items.slice(offset, offset + limit));
    }
    if (url.pathname === '/cursors') {
      const size = n('size', 50);
      const after = n('after', 0);
      const slice = items.filter((i) => i.id > after).slice(0, size);
      const more = slice.length > 0 && slice.at(-1)!.id < items.length;
      return send(200, { results: slice, meta: { next: more ? String(slice.at(-1)!.id) : null } });
    }
    return send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    items,
    requests,
    fail(status, body = '{"error":"injected"}', times = Infinity) {
      fault = { status, body, times };
      return () => {
        fault = undefined;
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
