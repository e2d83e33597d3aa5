// A new embedded data folder is made from the pre-migrated image the build ships
// (dist/pglite-image/), only when the image was made for this store's schema, settings and
// migrations; any other store is created by initdb and migrated as before.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { PgBoss } from 'pg-boss';
import {
  DEFAULT_JOBS_SCHEMA,
  DEFAULT_SCHEMA,
  PGLITE_SETTINGS,
  createStore,
} from './create-store.js';
import { bundledMigrations } from './migrations.js';
import { extractImage, findImage } from './pglite-image.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-store-image-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const names = bundledMigrations().map((m) => m.name);

describe('pre-migrated PGlite image', () => {
  it('is shipped for the default schema, settings and bundled migrations, and for nothing else', () => {
    const image = findImage(DEFAULT_SCHEMA, PGLITE_SETTINGS, bundledMigrations());
    // The package build (`npm run build -w @sluice/store`) writes it; the test command builds first.
    expect(image, 'dist/pglite-image is missing or stale: build @sluice/store').toMatch(
      /pglite-image[/\\]data\.tar\.gz$/,
    );
    expect(findImage('reporting', PGLITE_SETTINGS, bundledMigrations())).toBeUndefined();
    expect(
      findImage(DEFAULT_SCHEMA, ['shared_buffers = 8MB'], bundledMigrations()),
    ).toBeUndefined();
    const extra = [...bundledMigrations(), { name: '9999_extra', sql: 'SELECT 1;' }];
    expect(findImage(DEFAULT_SCHEMA, PGLITE_SETTINGS, extra)).toBeUndefined();
    const edited = bundledMigrations().map((m, i) =>
      i === 0 ? { ...m, sql: `${m.sql}\n-- edited` } : m,
    );
    expect(findImage(DEFAULT_SCHEMA, PGLITE_SETTINGS, edited)).toBeUndefined();
  });

  it('makes a new data folder already migrated, its migrations dated now, and the store works', async () => {
    const startedAt = Date.now();
    const store = await createStore({ dataDir: join(dir, 'from-image') });
    try {
      const result = await store.migrate();
      expect(result).toEqual({ applied: [], skipped: names });
      for (const state of await store.migrationStatus()) {
        expect(state.state).toBe('applied');
        expect(Date.parse(state.appliedAt!)).toBeGreaterThanOrEqual(startedAt - 1000);
      }
      const { rows } = await sql<{ shared_buffers: string }>`show shared_buffers`.execute(store.db);
      expect(rows[0]!.shared_buffers).toBe('16MB');
      const run = await store.runs.create({ pipeline: 'p', trigger: 'cli' });
      expect((await store.runs.get(run.id))?.pipeline).toBe('p');
      // pg-boss's tables are there already, at the version of the pg-boss installed here, and
      // pg-boss starts on them and runs a job.
      const pgBoss = createRequire(import.meta.url)('pg-boss/package.json') as { version: string };
      const manifest = JSON.parse(
        readFileSync(new URL('../dist/pglite-image/manifest.json', import.meta.url), 'utf8'),
      ) as { jobs: { schema: string; pgBoss: string } };
      expect(manifest.jobs).toEqual({ schema: DEFAULT_JOBS_SCHEMA, pgBoss: pgBoss.version });
      const installed = await sql<{ version: number }>`
        SELECT version FROM ${sql.id(DEFAULT_JOBS_SCHEMA)}.version`.execute(store.db);
      expect(installed.rows).toHaveLength(1);
      const boss = new PgBoss({ ...store.pgBossDb(), schema: DEFAULT_JOBS_SCHEMA });
      boss.on('error', () => {});
      await boss.start();
      try {
        await boss.createQueue('image-check');
        const id = await boss.send('image-check', { n: 1 });
        const [job] = await boss.fetch('image-check');
        expect(job?.id).toBe(id);
      } finally {
        await boss.stop({ graceful: false });
      }
    } finally {
      await store.close();
    }
  }, 120_000);

  it('creates and migrates a folder for another schema as before', async () => {
    const store = await createStore({ dataDir: join(dir, 'other-schema'), schema: 'reporting' });
    try {
      expect(await store.migrate()).toEqual({ applied: names, skipped: [] });
      await store.runs.create({ pipeline: 'p', trigger: 'cli' });
    } finally {
      await store.close();
    }
  }, 120_000);

  it('unpacks the image with PG_VERSION and modes, and refuses an archive leaving the folder', async () => {
    const image = findImage(DEFAULT_SCHEMA, PGLITE_SETTINGS, bundledMigrations())!;
    const target = join(dir, 'unpacked');
    mkdirSync(target);
    await extractImage(image, target);
    expect(readFileSync(join(target, 'PG_VERSION'), 'utf8').trim()).toMatch(/^\d+$/);
    expect(statSync(join(target, 'pg_wal')).isDirectory()).toBe(true);
    expect(statSync(join(target, 'global/pg_control')).mode & 0o777).toBe(0o600);

    // A hand-made ustar archive: one file whose name climbs out of the folder.
    const header = Buffer.alloc(512);
    header.write('../outside', 0);
    header.write('0000600\0', 100);
    header.write('00000000001\0', 124);
    header.write('0', 156);
    const evil = join(dir, 'evil.tar.gz');
    writeFileSync(evil, gzipSync(Buffer.concat([header, Buffer.alloc(512 * 3)])));
    const victim = join(dir, 'victim');
    mkdirSync(victim);
    await expect(extractImage(evil, victim)).rejects.toThrow(/outside the folder/);
    expect(existsSync(join(dir, 'outside'))).toBe(false);
  });
});
