/**
 * The pre-migrated PGlite data folder shipped with the package: `initdb` plus the bundled
 * migrations in the default schema, dumped at build time (scripts/build-image.mjs) into
 * `dist/pglite-image/`. A new data folder loads it instead of running initdb and nine migrations
 * — seconds and hundreds of MB of WebAssembly memory saved on every first start. It is used only
 * when it was made for exactly this store: the same PGlite version, schema, Postgres settings and
 * migrations (names and checksums); otherwise the folder is created and migrated as before.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
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
/** Tar's block: headers and the padding of file data are whole blocks. */
const BLOCK = 512;

/** A NUL-terminated text field of a tar header. */
function headerText(header: Buffer, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

/** The file being written: where, how many bytes are still to come, and the padding after them. */
interface OpenEntry {
  fd: number | undefined;
  path: string;
  mode: number;
  remaining: number;
  padding: number;
  /** `PG_VERSION`'s bytes, kept to be written after every other file. */
  kept: Buffer[] | undefined;
}

/**
 * Writes the image's files into `dataDir` (an existing, empty or half-written folder), natively
 * and streaming: gunzip and plain file writes, 64 KB at a time. PGlite's `loadDataDir` unpacks the
 * same tarball through its WebAssembly file system in about a second and ~150 MB more resident
 * memory, and unpacking it in one buffer (40 MB) leaves ~25 MB with the process's allocator for
 * good. The image is the ustar archive `dumpDataDir` writes: directories and regular files only,
 * anything else is refused. `PG_VERSION` is written last, so a folder left by a killed extraction
 * is not taken for a data folder and is extracted again on the next open.
 *
 * @example
 * ```ts
 * const image = findImage('sluice', PGLITE_SETTINGS, bundledMigrations());
 * if (image) await extractImage(image, '.sluice/db');
 * ```
 */
export async function extractImage(file: string, dataDir: string): Promise<void> {
  const root = resolve(dataDir);
  const refuse = (why: string) => new Error(`store: the PGlite image ${file} ${why}`);
  let pgVersion: { path: string; mode: number; data: Buffer } | undefined;
  let entry: OpenEntry | undefined;
  let pending: Buffer = Buffer.alloc(0);
  let ended = false;

  const finishEntry = (done: OpenEntry) => {
    if (done.fd !== undefined) closeSync(done.fd);
    if (done.kept) pgVersion = { path: done.path, mode: done.mode, data: Buffer.concat(done.kept) };
  };
  /** Starts the entry a header block describes; false at the end-of-archive block. */
  const startEntry = (header: Buffer): boolean => {
    const name = headerText(header, 0, 100);
    if (name === '') return false;
    const prefix = headerText(header, 345, 155);
    const size = parseInt(headerText(header, 124, 12).trim() || '0', 8);
    const mode = parseInt(headerText(header, 100, 8).trim() || '600', 8) & 0o777;
    const type = String.fromCharCode(header[156]!);
    const path = resolve(root, `.${sep}${prefix ? `${prefix}/` : ''}${name}`);
    if (path !== root && !path.startsWith(root + sep))
      throw refuse(`holds a path outside the folder: ${name}`);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === '5') {
      mkdirSync(path, { recursive: true, mode: mode | 0o700 });
      entry = { fd: undefined, path, mode, remaining: size, padding, kept: undefined };
    } else if (type === '0' || type === '\0') {
      mkdirSync(dirname(path), { recursive: true });
      const last = path === join(root, PG_VERSION);
      const fd = last ? undefined : openSync(path, 'w', mode);
      entry = { fd, path, mode, remaining: size, padding, kept: last ? [] : undefined };
    } else throw refuse(`holds an entry of tar type ${JSON.stringify(type)}`);
    return true;
  };

  /** Consumes the gunzipped bytes: headers, file data and padding, across chunk boundaries. */
  const unpack = async (tar: AsyncIterable<Buffer>) => {
    for await (const chunk of tar) {
      if (ended) continue;
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      while (!ended) {
        if (entry === undefined) {
          if (pending.length - at < BLOCK) break;
          ended = !startEntry(pending.subarray(at, at + BLOCK));
          at += BLOCK;
          continue;
        }
        const open: OpenEntry = entry;
        if (open.remaining > 0) {
          const data = pending.subarray(at, at + Math.min(open.remaining, pending.length - at));
          if (data.length === 0) break;
          if (open.fd !== undefined)
            for (let done = 0; done < data.length;) done += writeSync(open.fd, data, done);
          if (open.kept) open.kept.push(Buffer.from(data));
          open.remaining -= data.length;
          at += data.length;
          continue;
        }
        const skip = Math.min(open.padding, pending.length - at);
        open.padding -= skip;
        at += skip;
        if (open.padding > 0) break;
        finishEntry(open);
        entry = undefined;
      }
      pending = pending.subarray(at);
    }
  };
  // pipeline: an unreadable or corrupt file rejects here instead of hanging the for-await. When
  // unpack itself refuses the archive, pipeline may reject with the abort of the streams it tears
  // down instead: the refusal is the error to report.
  let refusal: unknown;
  try {
    await pipeline(
      createReadStream(file),
      createGunzip({ chunkSize: 64 * 1024 }),
      async (tar: AsyncIterable<Buffer>) => {
        try {
          await unpack(tar);
        } catch (error) {
          refusal = error;
          throw error;
        }
      },
    );
  } catch (error) {
    throw refusal ?? error;
  }
  if (entry !== undefined) {
    finishEntry(entry);
    throw refuse('ends in the middle of a file');
  }
  if (pgVersion === undefined) throw refuse(`holds no ${PG_VERSION}: not a data folder`);
  writeFileSync(pgVersion.path, pgVersion.data, { mode: pgVersion.mode });
}
