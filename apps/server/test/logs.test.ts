// The server's log lines as an operator sees them: the built `sluice serve` in a child process.
// On a pipe (not a terminal) every stdout line is one JSON object with each key once — checked on
// the raw text, since JSON.parse keeps the last of two equal keys and hides the duplicate — and
// the last line says what became of the runs in flight. `--log-format pretty` writes readable lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configDir, eventually } from './helpers.js';

const root = resolve(import.meta.dirname, '../../..');
const cli = join(root, 'apps/server/dist/cli.js');
const KEY = 'logs-test-key-0123456789abcdef0123456789abcdef';

/**
 * Keys that appear twice in one object of a JSON text, as `path.key`. A small tokenizer over the
 * raw text; throws on text that is not JSON.
 */
function duplicateKeys(text: string): string[] {
  let i = 0;
  const found: string[] = [];
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at ${i} in ${text.slice(0, 200)}`);
  };
  const space = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i += 1;
  };
  const string = (): string => {
    const start = i;
    i += 1;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i += 1;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i += 1;
      const seen = new Set<string>();
      space();
      if (text[i] === '}') {
        i += 1;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') fail('expected a key');
        const key = string();
        const at = path ? `${path}.${key}` : key;
        if (seen.has(key)) found.push(at);
        seen.add(key);
        space();
        if (text[i] !== ':') fail('expected ":"');
        i += 1;
        value(at);
        space();
        if (text[i] === ',') {
          i += 1;
          continue;
        }
        if (text[i] !== '}') fail('expected "," or "}"');
        i += 1;
        return;
      }
    }
    if (c === '[') {
      i += 1;
      space();
      if (text[i] === ']') {
        i += 1;
        return;
      }
      for (let n = 0; ; n += 1) {
        value(`${path}[${n}]`);
        space();
        if (text[i] === ',') {
          i += 1;
          continue;
        }
        if (text[i] !== ']') fail('expected "," or "]"');
        i += 1;
        return;
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const literal = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(
      text.slice(i),
    );
    if (!literal) fail('expected a value');
    i += literal![0].length;
  };
  value('');
  space();
  if (i !== text.length) fail('trailing text');
  return found;
}

/** The fields these assertions read from a line. */
interface LogLine {
  msg: string;
  component?: string;
  runId?: string;
  signal?: string;
  finished?: number;
  requeued?: number;
  runs?: { runId: string; pipeline: string; outcome: string }[];
}

interface Served {
  child: ChildProcess;
  url: string;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

/** Starts `sluice serve` on a free port and waits for its "sluice serving on" line. */
async function serve(config: string, args: string[] = []): Promise<Served> {
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--config', config, '--port', '0', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  for (const [stream, lines] of [
    [child.stdout!, stdout],
    [child.stderr!, stderr],
  ] as const) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts.filter((line) => line !== ''));
    });
  }
  let gone = false;
  void exited.then(() => (gone = true));
  const url = await eventually(
    () => {
      if (gone) throw new Error(`the server exited:\n${[...stdout, ...stderr].join('\n')}`);
      return /sluice serving on (\S+)/.exec(stderr.join('\n'))?.[1];
    },
    90_000,
    'the server to serve',
  );
  return { child, url, stdout, stderr, exited };
}

/** A webhook receiver: the first request gets 503, the next ones an answer after `holdMs`. */
async function startReceiver(holdMs: number) {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push(body);
      if (seen.length === 1) {
        res.statusCode = 503;
        res.end('{}');
        return;
      }
      setTimeout(() => res.end('{}'), holdMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

beforeAll(() => {
  expect(existsSync(cli), 'build the server first: npx nx run-many -t build').toBe(true);
});

describe('server logs', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver(1500);
  });
  afterAll(async () => {
    await receiver.close();
  });

  it('tokenizer finds repeated keys that JSON.parse hides', () => {
    const line =
      '{"runId":"a","component":"scheduler","x":{"k":1,"k":2},"list":[{"a":1,"a":1}],"runId":"a"}';
    expect(JSON.parse(line)).toMatchObject({ runId: 'a', x: { k: 2 } });
    expect(duplicateKeys(line)).toEqual(['x.k', 'list[0].a', 'runId']);
    expect(
      duplicateKeys('{"msg":"a \\"quoted\\" \\\\ text","n":-1.5e3,"ok":true,"none":null}'),
    ).toEqual([]);
    expect(() => duplicateKeys('{"a":1} trailing')).toThrow(SyntaxError);
  });

  it('on a pipe: JSON lines, every key once, and a last line with the runs finished or re-queued', async () => {
    const { dir, config } = configDir('');
    const yaml = `
store: { dataDir: ${dir}/data }
server:
  apiKeys: [{ name: test, key: ${KEY}, scopes: [admin] }]
logging: { level: debug }
destinations:
  files: { kind: file, root: ${dir}/out, path: '{{batch.id}}.ndjson', format: ndjson }
  gauges:
    kind: prometheus
    metrics:
      - { name: logs_test_sessions, type: gauge, help: Sessions, value: sessions, labels: { channel: channel } }
  hook:
    kind: webhook
    url: ${receiver.url}/in
    mode: batch
    ssrf: { allow: [127.0.0.1] }
pipelines:
  ticking:
    source: { kind: sample, perRun: 10, pageSize: 5 }
    schedule: { cron: '* * * * * *' }
    routes:
      - { name: all, to: [files, gauges] }
  slow:
    source: { kind: sample, perRun: 2, pageSize: 2 }
    routes:
      - { name: out, to: [hook] }
`;
    writeFileSync(config, yaml);
    const server = await serve(config);
    try {
      await eventually(
        () => (server.stdout.some((l) => l.includes('"run succeeded"')) ? true : undefined),
        60_000,
        'a cron run to succeed',
      );
      const res = await fetch(`${server.url}/api/v1/pipelines/slow/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status, await res.clone().text()).toBe(202);
      const { runId } = (await res.json()) as { runId: string };
      // The first delivery failed (a retry line); the second is held by the receiver: the run is in flight.
      await eventually(
        () => (receiver.seen.length >= 2 ? true : undefined),
        60_000,
        'the retried delivery',
      );
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);

      const lines = server.stdout;
      expect(lines.length).toBeGreaterThan(10);
      const parsed = lines.map((line) => {
        expect(duplicateKeys(line), line).toEqual([]);
        return JSON.parse(line) as LogLine;
      });
      const components = new Set(parsed.map((l) => l.component));
      for (const c of ['scheduler', 'router', 'executor', 'http']) expect(components).toContain(c);
      const retry = parsed.find((l) => l.msg === 'batch write failed; retrying');
      expect(retry).toMatchObject({
        component: 'router',
        pipeline: 'slow',
        runId,
        runAttempt: 1,
        destination: 'hook',
        attempt: 1,
      });
      expect(parsed.find((l) => l.msg === 'run succeeded' && l.runId === runId)).toMatchObject({
        component: 'scheduler',
        pipeline: 'slow',
        runAttempt: 1,
      });

      const last = parsed.at(-1)!;
      expect(last.msg).toMatch(/^sluice stopped: \d+ in-flight runs? finished, 0 re-queued$/);
      expect(last.requeued).toBe(0);
      expect(last.finished).toBeGreaterThanOrEqual(1);
      expect(last.runs).toContainEqual({ runId, pipeline: 'slow', outcome: 'succeeded' });
      // The slow run finished after the shutdown began, before the last line.
      const stopping = parsed.findIndex(
        (l) => l.msg === 'shutting down: finishing or re-queueing running work',
      );
      expect(parsed[stopping]).toMatchObject({ signal: 'SIGTERM' });
      expect(
        parsed.findIndex((l) => l.msg === 'run succeeded' && l.runId === runId),
      ).toBeGreaterThan(stopping);
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 180_000);

  it('--log-format pretty writes readable lines, and logging.format: pretty too', async () => {
    const { dir, config } = configDir('');
    const yaml = (format: string) => `
store: { dataDir: ${dir}/data }
logging: { format: ${format} }
destinations:
  files: { kind: file, root: ${dir}/out, path: 'x.ndjson', format: ndjson }
pipelines:
  idle:
    source: { kind: sample, total: 0 }
    routes:
      - { name: all, to: [files] }
`;
    for (const [format, args] of [
      ['json', ['--log-format', 'pretty']],
      ['pretty', []],
    ] as const) {
      writeFileSync(config, yaml(format));
      const server = await serve(config, [...args]);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(server.stdout.some((l) => l.startsWith('{'))).toBe(false);
      expect(server.stdout.find((l) => l.includes('sluice is serving'))).toMatch(
        /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: sluice is serving \{"url":"http:\/\/127\.0\.0\.1:\d+","store":"pglite"\}$/,
      );
      expect(server.stdout.find((l) => l.includes('Server listening'))).toMatch(
        /INFO: \[http\] Server listening at/,
      );
      expect(server.stdout.at(-1)).toMatch(/INFO: sluice stopped: no run was in flight/);
    }
    const bad = spawn(process.execPath, [cli, 'serve', '--config', config, '--log-format', 'xml'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    bad.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    expect(await new Promise((r) => bad.once('exit', r))).not.toBe(0);
    expect(err).toContain("option '--log-format <format>' argument 'xml' is invalid");
  }, 180_000);
});
