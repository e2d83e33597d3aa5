// The `curl` lines of examples/quickstart/README.md, run the way scripts/ci/quickstart.sh runs
// them (each with `bash -c`, from the repository root), against a loopback stub in place of the
// server: every API line must reach the server with the demo key from `quickstart-api-key`, and no
// line may carry the key itself, where `ps` and /proc/<pid>/cmdline show it to every local user.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const README = readFileSync(join(ROOT, 'examples/quickstart/README.md'), 'utf8');
const KEY = readFileSync(join(ROOT, 'examples/quickstart/quickstart-api-key'), 'utf8').trim();
/** What scripts/ci/quickstart.sh runs: `grep -E '^curl ' examples/quickstart/README.md`. */
const CURL_LINES = README.split('\n').filter((line) => line.startsWith('curl '));

let stub: Server;
let base = '';
const seen: { path: string; authorization: string | undefined; argv: string }[] = [];

/** The command line of the process on the other end of a loopback connection (Linux /proc). */
function peerArgv(request: IncomingMessage): string {
  const port = request.socket.remotePort!.toString(16).toUpperCase().padStart(4, '0');
  const tcp = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
  const row = tcp
    .map((line) => line.trim().split(/\s+/))
    .find((cols) => cols[1]?.endsWith(`:${port}`));
  if (!row) return '';
  const inode = row[9];
  for (const pid of readdirPids()) {
    try {
      const fds = readdirSyncSafe(`/proc/${pid}/fd`);
      if (fds.some((fd) => readlinkSafe(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`)) {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      }
    } catch {
      // the process ended or is not ours
    }
  }
  return '';
}

const readdirPids = () => readdirSync('/proc').filter((name) => /^\d+$/.test(name));
const readdirSyncSafe = (path: string) => {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
};
const readlinkSafe = (path: string) => {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
};

beforeAll(async () => {
  stub = createServer((request, response) => {
    seen.push({
      path: request.url ?? '',
      authorization: request.headers.authorization,
      argv: peerArgv(request),
    });
    request.resume();
    request.on('end', () => {
      response.writeHead(request.method === 'POST' ? 202 : 200, {
        'content-type': 'application/json',
      });
      response.end('{}');
    });
  });
  await new Promise<void>((done) => stub.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((done) => stub.close(done));
});

function runLine(line: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn('bash', ['-c', line.replaceAll('http://127.0.0.1:8080', base)], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => done({ code, stderr }));
  });
}

describe('examples/quickstart/README.md curl lines', () => {
  it('call the API with the key from quickstart-api-key without putting it on any command line', async () => {
    const apiLines = CURL_LINES.filter((line) => line.includes('/api/'));
    expect(apiLines.length).toBeGreaterThanOrEqual(3);
    expect(CURL_LINES.filter((line) => line.includes(KEY))).toEqual([]);
    for (const line of CURL_LINES) {
      const before = seen.length;
      const { code, stderr } = await runLine(line);
      expect({ line, code, stderr }).toEqual({ line, code: 0, stderr: '' });
      expect(seen.length).toBe(before + 1);
      const request = seen.at(-1)!;
      // The client's own argv, read while the request was open: it names no key.
      expect(request.argv).toMatch(/^curl /);
      expect(request.argv).not.toContain(KEY);
      if (line.includes('/api/')) expect(request.authorization).toBe(`Bearer ${KEY}`);
    }
  });
});
