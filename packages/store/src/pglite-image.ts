/**
 * The pre-migrated PGlite data folder shipped with the package: `initdb` plus the bundled
 * migrations in the default schema, dumped at build time (scripts/build-image.mjs) into
 * `dist/pglite-image/`. A new data folder loads it instead of running initdb and nine migrations
 * — seconds and hundreds of MB of WebAssembly memory saved on every first start. It is used only
 * when it was made for exactly this store: the same PGlite version, schema, Postgres settings and
 * migrations (names and checksums); otherwise the folder is created and migrated as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrationChecksum, type Migration } from './migrations.js';

/** Where the build puts the image: `dist/pglite-image/`, found from `src/` and `dist/` alike. */
export const IMAGE_DIR = fileURLToPath(new URL('../dist/pglite-image/', import.meta.url));
/** The gzipped tarball of the data folder (PGlite's `dumpDataDir('gzip')`). */
export const IMAGE_FILE = 'data.tar.gz';
/** `{ key, pglite, schema, migrations }`: what the image was made for. */
export const IMAGE_MANIFEST = 'manifest.json';

/** The version of the PGlite this package runs, read from its package.json; undefined when unknown. */
export function pgliteVersion(): string | undefined {
  try {
    // The package's exports do not list package.json: find it beside the resolved entry point.
    let dir = dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite')));
    for (let i = 0; i < 4; i++, dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === '@electric-sql/pglite') return manifest.version;
    }
  } catch {
    // Unresolvable: no image.
  }
  return undefined;
}

/**
 * The key an image is made for: a digest of the PGlite version, the schema, the Postgres settings
 * and every migration's name and checksum.
 *
 * @example
 * ```ts
 * imageKey('0.5.16', 'sluice', ['shared_buffers = 16MB'], bundledMigrations());
 * ```
 */
export function imageKey(
  version: string,
  schema: string,
  settings: readonly string[],
  migrations: readonly Migration[],
): string {
  const parts = [
    version,
    schema,
    ...settings,
    ...migrations.map((m) => `${m.name}:${migrationChecksum(m)}`),
  ];
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

/**
 * The image file to create a new data folder from, when the shipped image was made for this
 * schema, these settings and these migrations on this PGlite; otherwise undefined.
 *
 * @example
 * ```ts
 * findImage('sluice', PGLITE_SETTINGS, bundledMigrations()); // '/…/dist/pglite-image/data.tar.gz'
 * ```
 */
export function findImage(
  schema: string,
  settings: readonly string[],
  migrations: readonly Migration[],
  dir: string = IMAGE_DIR,
): string | undefined {
  const file = join(dir, IMAGE_FILE);
  const manifestFile = join(dir, IMAGE_MANIFEST);
  if (!existsSync(file) || !existsSync(manifestFile)) return undefined;
  const version = pgliteVersion();
  if (version === undefined) return undefined;
  try {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { key?: unknown };
    return manifest.key === imageKey(version, schema, settings, migrations) ? file : undefined;
  } catch {
    return undefined;
  }
}
