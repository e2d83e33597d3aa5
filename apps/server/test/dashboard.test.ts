// The dashboard as the real server process serves it (`sluice serve` from apps/server/dist):
// `/` and its assets with the strict CSP, nothing served with `server.dashboard: false` or with
// `server.auth: false`, and the two API additions the dashboard reads (GET /api/v1/key and the
// schedules' next fire time).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startServer,
  tempDir,
  writeConfig,
  type ServerProcess,
} from '../../../test/e2e/harness.js';

const ADMIN = 'dashboard-admin-key-0123';
const READER = 'dashboard-reader-key-0123';

const yaml = (dir: string, server: string) => `
store: { dataDir: ${dir}/data }
server:
${server}
  apiKeys:
    - { name: admin, key: ${ADMIN}, scopes: [admin] }
    - { name: reader, key: ${READER}, scopes: [read] }
destinations:
  out: { kind: file, root: ${dir}/out, path: 'run-{{batch.id}}.ndjson', format: ndjson }
pipelines:
  berlin:
    source: { kind: sample, perRun: 3, pageSize: 3 }
    schedule: { cron: '0 8 * * *', timezone: Europe/Berlin }
    routes:
      - { name: all, to: [out] }
`;

async function serve(server: string): Promise<ServerProcess> {
  const dir = tempDir('dashboard');
  return startServer({ config: writeConfig(dir, yaml(dir, server)), adminKey: ADMIN });
}

describe('dashboard served by the reference server', () => {
  let sluice: ServerProcess;
  beforeAll(async () => {
    sluice = await serve('  dashboard: true');
  });
  afterAll(async () => {
    await sluice?.stop();
  });

  it('serves the app at / with a strict CSP and no inline script', async () => {
    const res = await fetch(`${sluice.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = csp.split(';').map((d) => d.trim());
    expect(directives).toEqual(
      expect.arrayContaining([
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
      ]),
    );
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/src="\/assets\/[^"]+\.js"/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/\bstyle="/);
    expect(html).not.toMatch(/https?:\/\//);

    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${sluice.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('content-security-policy')).toBe(csp);
    expect(js.headers.get('cache-control')).toContain('immutable');
  });

  it('holds no data without a key: the API still answers 401, unknown paths 404', async () => {
    expect((await fetch(`${sluice.url}/api/v1/pipelines`)).status).toBe(401);
    const missing = await fetch(`${sluice.url}/assets/nothing-here.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: expect.any(String) } });
  });

  it("GET /api/v1/key names the calling key's scopes, implied ones included", async () => {
    expect(await sluice.api('GET', '/api/v1/key')).toEqual({
      status: 200,
      body: { name: 'admin', scopes: ['read', 'run', 'admin'] },
    });
    expect(await sluice.api('GET', '/api/v1/key', undefined, READER)).toEqual({
      status: 200,
      body: { name: 'reader', scopes: ['read'] },
    });
    expect((await sluice.api('GET', '/api/v1/key', undefined, 'not-a-key-0123456789')).status).toBe(
      401,
    );
  });

  it("GET /api/v1/schedules gives the next fire time and the pipeline's time zone", async () => {
    const { status, body } = await sluice.api('GET', '/api/v1/schedules');
    expect(status).toBe(200);
    const [item] = body.items;
    expect(item).toMatchObject({ pipeline: 'berlin', timezone: 'Europe/Berlin' });
    const next = new Date(item.nextFireAt);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600_000 + 60_000);
    const berlinHour = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Berlin',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(next);
    expect(berlinHour).toBe('08:00');
  });
});

describe('dashboard switched off', () => {
  for (const [what, server] of [
    ['server.dashboard: false', '  dashboard: false'],
    ['server.auth: false (never served without API keys)', '  auth: false'],
  ] as const) {
    it(`serves nothing at / with ${what}`, async () => {
      const sluice = await serve(server);
      try {
        const res = await fetch(`${sluice.url}/`);
        expect(res.status).toBe(404);
        expect(res.headers.get('content-security-policy')).toBeNull();
        expect((await fetch(`${sluice.url}/index.html`)).status).toBe(404);
        expect((await fetch(`${sluice.url}/healthz`)).status).toBe(200);
      } finally {
        await sluice.stop();
      }
    });
  }
});
