// The database destination's schema policy through the real server (issue 21): a source whose
// records grow a column mid-run (the sample connector's records 11..20 carry `coupon`, computed
// as null for seq <= 10 — division by zero — and 1 after) is written once under
// `newColumn: evolve` (the column is added, every row delivered, GET /api/v1/schema-changes
// lists the change) and once under `freeze` (the grown records become dead letters whose error
// names the column; the others are delivered). PostgreSQL store, PostgreSQL destination.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  dropDatabase,
  listDeadLetters,
  pgUrl,
  requireBuiltServer,
  startServer,
  tempDir,
  triggerRun,
  waitForRun,
  withPg,
  writeConfig,
  type ServerProcess,
} from './harness.js';

const ADMIN = 'schema-changes-admin-key-0123456789';
const DB = `sluice_e2e_schema_${process.pid}`;

const destination = (table: string, newColumn: string) => `
    kind: database
    dialect: postgres
    url: '${pgUrl(DB)}'
    table: ${table}
    createTable: true
    columns:
      - { name: seq, type: bigint, primaryKey: true }
      - { name: channel, type: text }
    schema: { newColumn: ${newColumn} }`;

const pipeline = (to: string) => `
    source: { kind: sample, seed: 7, total: 20, perRun: 20, pageSize: 10 }
    routes:
      - name: all
        to: [${to}]
        transform:
          - { kind: pick, fields: [seq, channel] }
          - { kind: compute, field: coupon, expression: "(seq - 10) / max(seq - 10, 0)" }`;

const CONFIG = `
store: { url: '${pgUrl(DB)}' }
server:
  apiKeys: [ { name: admin, key: ${ADMIN}, scopes: [admin] } ]
logging: { level: info }
destinations:
  evolving:${destination('visits_evolve', 'evolve')}
  frozen:${destination('visits_freeze', 'freeze')}
pipelines:
  grows:${pipeline('evolving')}
  frozen:${pipeline('frozen')}
`;

interface SchemaChange {
  destination: string;
  kind: string;
  table: string;
  change: string;
  column: string | null;
  to: string | null;
  statement: string | null;
}

describe('schema changes end to end', () => {
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    requireBuiltServer();
    await createDatabase(DB);
    server = await startServer({ config: writeConfig(tempDir('schema'), CONFIG), adminKey: ADMIN });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await dropDatabase(DB);
  });

  it('evolve: the grown column is added, every row delivered, and the change is listed', async () => {
    const run = await waitForRun(server!, await triggerRun(server!, 'grows'));
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ read: 20, delivered: 20, deadLettered: 0 });

    const { columns, rows } = await withPg(DB, async (client) => ({
      columns: (
        await client.query<{ column_name: string; data_type: string }>(
          "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'visits_evolve' ORDER BY ordinal_position",
        )
      ).rows,
      rows: (
        await client.query<{ seq: string; coupon: string | null }>(
          'SELECT seq, coupon FROM visits_evolve ORDER BY seq',
        )
      ).rows,
    }));
    expect(columns.map((c) => `${c.column_name}:${c.data_type}`)).toEqual([
      'seq:bigint',
      'channel:text',
      'coupon:bigint',
    ]);
    expect(rows).toHaveLength(20);
    expect(rows.filter((r) => r.coupon !== null).map((r) => Number(r.seq))).toEqual([
      11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    ]);

    const listed = await server!.api<{ items: SchemaChange[]; nextCursor: string | null }>(
      'GET',
      '/api/v1/schema-changes?destination=evolving',
    );
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((c) => `${c.change}:${c.column ?? ''}`)).toEqual([
      'add_column:coupon',
      'create_table:',
    ]);
    expect(listed.body.items[0]).toMatchObject({
      destination: 'evolving',
      kind: 'database',
      table: 'visits_evolve',
      to: 'bigint',
      statement: expect.stringMatching(/alter table "visits_evolve" add column "coupon" bigint/i),
    });

    // Pages, and the read scope like every list route.
    const page = await server!.api<{ items: SchemaChange[]; nextCursor: string | null }>(
      'GET',
      '/api/v1/schema-changes?limit=1',
    );
    expect(page.body.items).toHaveLength(1);
    expect(page.body.nextCursor).toEqual(expect.any(String));
    expect(
      (await server!.api('GET', '/api/v1/schema-changes', undefined, 'wrong-key')).status,
    ).toBe(401);
  }, 120_000);

  it('freeze: the grown records become dead letters naming the column; the others are delivered', async () => {
    const run = await waitForRun(server!, await triggerRun(server!, 'frozen'));
    expect(run.counts).toMatchObject({ read: 20, delivered: 10, deadLettered: 10 });

    const seqs = await withPg(DB, async (client) =>
      (await client.query<{ seq: string }>('SELECT seq FROM visits_freeze ORDER BY seq')).rows.map(
        (r) => Number(r.seq),
      ),
    );
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const columns = await withPg(DB, async (client) =>
      (
        await client.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'visits_freeze'",
        )
      ).rows.map((r) => r.column_name),
    );
    expect(columns.sort()).toEqual(['channel', 'seq']);

    const letters = await listDeadLetters(server!, { pipeline: 'frozen' });
    expect(letters.map((l) => Number(l.record.seq)).sort((a, b) => a - b)).toEqual([
      11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    ]);
    const letter = await server!.api<{ error: { message: string } }>(
      'GET',
      `/api/v1/dead-letters/${letters[0]!.id}`,
    );
    expect(letter.body.error.message).toContain(
      'table "visits_freeze" has no column "coupon" for value 1 (it would be bigint); schema.newColumn is freeze',
    );

    const listed = await server!.api<{ items: SchemaChange[] }>(
      'GET',
      '/api/v1/schema-changes?destination=frozen',
    );
    expect(listed.body.items.map((c) => c.change)).toEqual(['create_table']);
  }, 120_000);
});
