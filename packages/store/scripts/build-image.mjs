// Builds the pre-migrated PGlite data folder the package ships (see src/pglite-image.ts): an
// in-memory PGlite with the store's settings, the bundled migrations applied in the default
// schema and pg-boss's tables installed in the default jobs schema (the reference server's run
// queue; pg-boss migrates them at start should its version differ), dumped as a gzipped tarball
// to dist/pglite-image/data.tar.gz beside the manifest naming what it was made for. Runs after
// `tsc` in the package build; imports the built package.
import { Buffer } from 'node:buffer';
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { PGlite } from '@electric-sql/pglite';
import { PgBoss } from 'pg-boss';
import {
  DEFAULT_JOBS_SCHEMA,
  DEFAULT_SCHEMA,
  PGLITE_SETTINGS,
  createStore,
} from '../dist/create-store.js';
import { bundledMigrations } from '../dist/migrations.js';
import {
  IMAGE_DIR,
  IMAGE_FILE,
  IMAGE_MANIFEST,
  imageKey,
  pgliteVersion,
} from '../dist/pglite-image.js';

const started = performance.now();
const pgBossVersion = createRequire(import.meta.url)('pg-boss/package.json').version;
const version = pgliteVersion();
if (version === undefined)
  throw new Error('build-image: cannot read the version of @electric-sql/pglite');
const migrations = bundledMigrations();
const pglite = await PGlite.create({ postgresqlconf: [...PGLITE_SETTINGS] });
const store = await createStore({ pglite, schema: DEFAULT_SCHEMA });
await store.migrate();
// pg-boss creates its schema on its first start: once here instead of on every new folder.
const boss = new PgBoss({
  ...store.pgBossDb(),
  schema: DEFAULT_JOBS_SCHEMA,
  supervise: false,
  schedule: false,
});
boss.on('error', (error) => {
  throw error;
});
await boss.start();
await boss.stop({ graceful: false });
await store.close();
await pglite.query('CHECKPOINT');
const image = Buffer.from(await (await pglite.dumpDataDir('gzip')).arrayBuffer());
await pglite.close();

mkdirSync(IMAGE_DIR, { recursive: true });
writeFileSync(join(IMAGE_DIR, IMAGE_FILE), image);
writeFileSync(
  join(IMAGE_DIR, IMAGE_MANIFEST),
  JSON.stringify(
    {
      key: imageKey(version, DEFAULT_SCHEMA, PGLITE_SETTINGS, migrations),
      pglite: version,
      schema: DEFAULT_SCHEMA,
      settings: PGLITE_SETTINGS,
      migrations: migrations.map((m) => m.name),
      jobs: { schema: DEFAULT_JOBS_SCHEMA, pgBoss: pgBossVersion },
    },
    null,
    2,
  ) + '\n',
);
process.stdout.write(
  `build-image: ${migrations.length} migrations, ${(image.length / 1048576).toFixed(1)} MB, ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
);
