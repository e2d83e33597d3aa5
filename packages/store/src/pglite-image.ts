/**
 * The pre-migrated PGlite data folder shipped with the package: `initdb` plus the bundled
 * migrations in the default schema, dumped at build time (scripts/build-image.mjs) into
 * `dist/pglite-image/`. A new data folder loads it instead of running initdb and nine migrations
 * — seconds and hundreds of MB of WebAssembly memory saved on every first start. It is used only
 * when it was made for exactly this store: the same PGlite version, schema, Postgres settings and
 * migrations (names and checksums); otherwise the folder is created and migrated as before.
 */
import type { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
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

/** The file whose presence makes a folder a data folder (PGlite and the store check it): written last. */
const PG_VERSION = 'PG_VERSION';

/** A NUL-terminated text field of a tar header. */
function headerText(header: Buffer, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

/**
 * Writes the image's files into `dataDir` (an existing, empty or half-written folder), natively:
 * gunzip and plain file writes take a fraction of a second, where PGlite's `loadDataDir` unpacks
 * the same tarball through its WebAssembly file system in about a second and ~150 MB more
 * resident memory. The image is the ustar archive `dumpDataDir` writes: directories and regular
 * files only, anything else is refused. `PG_VERSION` is written last, so a folder left by a
 * killed extraction is not taken for a data folder and is extracted again on the next open.
 *
 * @example
 * ```ts
 * const image = findImage('sluice', PGLITE_SETTINGS, bundledMigrations());
 * if (image) extractImage(image, '.sluice/db');
 * ```
 */
export function extractImage(file: string, dataDir: string): void {
  const root = resolve(dataDir);
  const tar = gunzipSync(readFileSync(file));
  let last: { path: string; data: Buffer; mode: number } | undefined;
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    const name = headerText(header, 0, 100);
    if (name === '') break; // the two zero blocks that end the archive
    const prefix = headerText(header, 345, 155);
    const size = parseInt(headerText(header, 124, 12).trim() || '0', 8);
    const mode = parseInt(headerText(header, 100, 8).trim() || '600', 8) & 0o777;
    const type = String.fromCharCode(header[156]!);
    const data = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    const path = resolve(root, `.${sep}${prefix ? `${prefix}/` : ''}${name}`);
    if (path !== root && !path.startsWith(root + sep))
      throw new Error(`store: the PGlite image ${file} holds a path outside the folder: ${name}`);
    if (type === '5') mkdirSync(path, { recursive: true, mode: mode | 0o700 });
    else if (type === '0' || type === '\0') {
      mkdirSync(dirname(path), { recursive: true });
      if (path === join(root, PG_VERSION)) last = { path, data, mode };
      else writeFileSync(path, data, { mode });
    } else throw new Error(`store: the PGlite image ${file} holds an entry of tar type ${type}`);
  }
  if (last === undefined)
    throw new Error(`store: the PGlite image ${file} holds no ${PG_VERSION}: not a data folder`);
  writeFileSync(last.path, last.data, { mode: last.mode });
}
