// Drives the REAL server: `node apps/server/dist/cli.js serve` as a child process on an
// ephemeral port, reached over loopback like any client would. Shared by every end-to-end test.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'apps/server/dist/cli.js');
export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const pgUrl = (database: string) => `postgres://postgres@127.0.0.1:5432/${database}`;

/** Fails with a clear message when the server has not been built (`.ci/run` builds before testing). */
export function requireBuiltServer(): void {
  if (!existsSync(CLI)) {
    throw new Error(
      `${CLI} is missing: build the workspace first (npx nx run-many -t build) — the end-to-end tests run the built server as a child process`,
    );
  }
}

/** A fresh temporary folder. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `sluice-e2e-${prefix}-`));
}

/** (Re)creates a PostgreSQL database owned by the test. */
export async function createDatabase(name: string): Promise<void> {
  const admin = new pg.Client(PG_ADMIN_URL);
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client(PG_ADMIN_URL);
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Runs `fn` with a client of `database`, closing it afterwards. */
export async function withPg<T>(
  database: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client(pgUrl(database));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Every stdout/stderr line so far (pino JSON lines and anything else). */
  readonly lines: string[];
  /** Calls the REST API with the admin key; JSON in and out. */
  api<T = any>(
    method: string,
    path: string,
    body?: unknown,
    key?: string,
  ): Promise<{ status: number; body: T }>;
  /** `kill -9`: no shutdown hook runs. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

export interface StartOptions {
  config: string;
  /** Extra environment (secrets referenced as ${env:..}). */
  env?: Record<string, string>;
  adminKey: string;
  /** How long to wait for "sluice is serving". */
  timeoutMs?: number;
}

/** Servers still running; killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `sluice serve` and resolves once it logged `sluice is serving` with its URL. */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  requireBuiltServer();
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--config', options.config, '--port', '0', '--host', '127.0.0.1'],
    {
      cwd: dirname(options.config),
      env: { ...process.env, ...options.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  const lines: string[] = [];
  let exited: number | string | null | undefined;
  const exit = new Promise<void>((done) =>
    child.once('exit', (code, signal) => {
      exited = code ?? signal;
      running.delete(child);
      done();
    }),
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `the server did not start within ${options.timeoutMs ?? 60_000} ms:\n${lines.slice(-30).join('\n')}`,
          ),
        ),
      options.timeoutMs ?? 60_000,
    );
    const onLine = (line: string) => {
      lines.push(line);
      if (lines.length > 20_000) lines.splice(0, 10_000);
      if (!line.includes('sluice is serving')) return;
      try {
        const parsed = JSON.parse(line) as { url?: string };
        if (parsed.url) {
          clearTimeout(timer);
          resolveUrl(parsed.url);
        }
      } catch {
        // not a JSON line
      }
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        rest += chunk;
        const parts = rest.split('\n');
        rest = parts.pop() ?? '';
        for (const part of parts) if (part.trim()) onLine(part);
      });
    }
    void exit.then(() => {
      clearTimeout(timer);
      reject(
        new Error(
          `the server exited (${String(exited)}) before serving:\n${lines.slice(-30).join('\n')}`,
        ),
      );
    });
  });
  return {
    url,
    child,
    lines,
    async api(method, path, body, key = options.adminKey) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async kill9() {
      if (exited === undefined) {
        child.kill('SIGKILL');
        await exit;
      }
    },
    async stop() {
      if (exited === undefined) {
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exit;
        clearTimeout(force);
      }
    },
  };
}

/** Writes a config file into `dir` and returns its path. */
export function writeConfig(dir: string, yaml: string): string {
  const path = join(dir, 'sluice.yaml');
  writeFileSync(path, yaml);
  return path;
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > until)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface RunView {
  id: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  counts: {
    read?: number;
    delivered?: number;
    deadLettered?: number;
    dropped?: number;
    failed?: number;
  };
  /** Counts by route, destination and expectation (`GET /api/v1/runs/{id}`); `null` on older runs. */
  breakdown?: {
    routes: Record<string, { matched: number }>;
    destinations: Record<string, { delivered: number; failed: number; deadLettered: number }>;
    expectations?: Record<string, Record<string, { checked: number; violations: number }>>;
    destinationExpectations?: Record<
      string,
      Record<string, { checked: number; violations: number }>
    >;
  } | null;
  error?: { message: string } | null;
  trigger: string;
}

/** Starts a run through the API and returns its id. */
export async function triggerRun(
  server: ServerProcess,
  pipeline: string,
  params?: Record<string, unknown>,
): Promise<string> {
  const res = await server.api<{ runId: string }>(
    'POST',
    `/api/v1/pipelines/${pipeline}/runs`,
    params ? { params } : {},
  );
  if (res.status !== 202)
    throw new Error(
      `starting a run of ${pipeline}: HTTP ${res.status} ${JSON.stringify(res.body)}`,
    );
  return res.body.runId;
}

/** Waits until a run finished (succeeded, failed or cancelled). */
export async function waitForRun(
  server: ServerProcess,
  runId: string,
  timeoutMs = 60_000,
): Promise<RunView> {
  return eventually(
    async () => {
      const { status, body } = await server.api<RunView>('GET', `/api/v1/runs/${runId}`);
      return status === 200 && ['succeeded', 'failed', 'cancelled'].includes(body.status)
        ? body
        : undefined;
    },
    timeoutMs,
    `run ${runId} to finish`,
  );
}

/** Every dead letter of a pipeline with the given status (pages through the API). */
export async function listDeadLetters(
  server: ServerProcess,
  query: Record<string, string>,
): Promise<{ id: string; destination: string; record: Record<string, unknown>; status: string }[]> {
  const out = [];
  let cursor: string | null = null;
  do {
    const qs: URLSearchParams = new URLSearchParams({
      ...query,
      limit: '500',
      ...(cursor ? { cursor } : {}),
    });
    const res: { status: number; body: { items: any[]; nextCursor: string | null } } =
      await server.api<{ items: any[]; nextCursor: string | null }>(
        'GET',
        `/api/v1/dead-letters?${qs}`,
      );
    if (res.status !== 200)
      throw new Error(`listing dead letters: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
  } while (cursor);
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
