// Follow-up of issue 13, point 1: a secret a destination's driver echoes in an error is redacted
// before it is written to the store, not only on the way out of the API (the database and its
// backups hold what was written). Drives the REAL server (`apps/server/dist/cli.js serve`) on a
// PostgreSQL store, so the test reads the store's tables directly with `pg`: every row of
// `dead_letters`, `runs` and `run_logs`, as JSON text.
//
// The destination is a database whose URL names a database that does not exist, with a secret in
// its name: PostgreSQL answers `database "db_<secret>" does not exist`. One pipeline dead-letters
// its records (the default onError), one fails its run (onError: fail-run).
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  pgUrl,
  startServer,
  tempDir,
  triggerRun,
  waitForRun,
  withPg,
  writeConfig,
  type ServerProcess,
} from '../e2e/harness.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const ADMIN = `adm-${hex(16)}`;
const TOKEN = `tok${hex(12)}`;
const PASSWORD = `pw${hex(12)}`;
const SECRETS: Record<string, string> = {
  SEC_ADMIN_KEY: ADMIN,
  SEC_DB_TOKEN: TOKEN,
  SEC_DB_PASSWORD: PASSWORD,
};
const DATABASE = `sluice_stored_secrets_${process.pid}`;

/** Every secret found in `text`, whole or as a 12-character window (a truncated echo), as written or percent-encoded. */
function leaksIn(text: string): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(SECRETS)) {
    for (const form of new Set([value, encodeURIComponent(value)])) {
      for (let i = 0; i + 12 <= form.length; i++) {
        if (text.includes(form.slice(i, i + 12))) {
          found.push(`${name} ("${form.slice(i, i + 12)}")`);
          break;
        }
      }
    }
  }
  return [...new Set(found)];
}

let server: ServerProcess;
let dir: string;

/** Every row of a store table as JSON text. */
async function rowsOf(table: 'dead_letters' | 'runs' | 'run_logs'): Promise<string[]> {
  return withPg(DATABASE, async (client) => {
    const result = await client.query<{ row: string }>(
      `SELECT row_to_json(t)::text AS row FROM sluice.${table} t`,
    );
    return result.rows.map((r) => r.row);
  });
}

beforeAll(async () => {
  await createDatabase(DATABASE);
  dir = tempDir('stored-secrets');
  const config = writeConfig(
    dir,
    `
store:
  url: ${pgUrl(DATABASE)}
server:
  apiKeys:
    - { name: admin, key: '\${env:SEC_ADMIN_KEY}', scopes: [admin] }
destinations:
  warehouse:
    # A database that does not exist: PostgreSQL's error names it, secret included.
    kind: database
    dialect: postgres
    url: postgres://postgres:\${env:SEC_DB_PASSWORD}@127.0.0.1:5432/db_\${env:SEC_DB_TOKEN}
    table: events
    mode: insert
    columns:
      - { name: seq, type: bigint }
    retry: { maxAttempts: 1 }
pipelines:
  lettered:
    source: { kind: sample, perRun: 3, pageSize: 3 }
    routes:
      - { name: all, to: [warehouse] }
  failing:
    source: { kind: sample, perRun: 3, pageSize: 3 }
    routes:
      - { name: all, to: [warehouse], onError: fail-run }
`,
  );
  server = await startServer({ config, adminKey: ADMIN, env: SECRETS });
});

afterAll(async () => {
  await server?.stop();
  await dropDatabase(DATABASE).catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('no secret is written to the store (issue 13 follow-up)', () => {
  it("dead letters, run errors and run log lines hold the driver's error redacted", async () => {
    const lettered = await waitForRun(server, await triggerRun(server, 'lettered'));
    const failing = await waitForRun(server, await triggerRun(server, 'failing'));
    expect(lettered.status).toBe('succeeded');
    expect(lettered.counts.deadLettered).toBe(3);
    expect(failing.status).toBe('failed');

    const letters = await rowsOf('dead_letters');
    const runs = await rowsOf('runs');
    const logs = await rowsOf('run_logs');
    const leaks = [
      ...letters.flatMap((row) =>
        leaksIn(row).map((l) => `dead_letters: ${l} in ${row.slice(0, 300)}`),
      ),
      ...runs.flatMap((row) => leaksIn(row).map((l) => `runs: ${l} in ${row.slice(0, 300)}`)),
      ...logs.flatMap((row) => leaksIn(row).map((l) => `run_logs: ${l} in ${row.slice(0, 300)}`)),
    ];
    expect(leaks).toEqual([]);
    // The rows are there and carry the driver's message, with the secret cut out of it.
    expect(letters).toHaveLength(3);
    for (const row of letters) expect(row).toMatch(/does not exist/);
    for (const row of letters) expect(row).toContain('[redacted]');
    const failedRun = runs.find((row) => row.includes(failing.id));
    expect(failedRun).toContain('[redacted]');
    expect(logs.filter((row) => row.includes('[redacted]')).length).toBeGreaterThan(0);
  }, 120_000);
});
