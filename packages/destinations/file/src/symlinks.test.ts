// Symbolic links inside the root are refused, never followed (issue 13, point 6): a linked
// folder, a link at the file's own name, a link made by a path-template value, a link at the
// append state file, and links swapped in while a write runs. Nothing is ever written outside
// the root, and nothing outside is read into it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  FatalError,
  PartialBatchError,
  RetryableError,
  createPluginContext,
  parseConfig,
  type SluiceRecord,
} from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { fileDestination } from './destination.js';
import type { FileConfig } from './config.js';
import { readRecords } from './__fixtures__/read-files.js';

let base: string;
let counter = 0;
const signal = () => new AbortController().signal;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'sluice-dest-file-links-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** A fresh root (created) and a fresh folder outside it (created, empty). */
function freshPlace(): { root: string; outside: string } {
  const n = ++counter;
  const root = join(base, `root-${n}`);
  const outside = join(base, `outside-${n}`);
  mkdirSync(root, { recursive: true });
  mkdirSync(outside, { recursive: true });
  return { root, outside };
}

async function open(raw: Record<string, unknown>) {
  const config = parseConfig(fileDestination.configSchema, raw) as FileConfig;
  return fileDestination.create(config, createPluginContext());
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (err: unknown) => err,
  );
}

/** Every entry under `dir` (files, folders and links), relative, without following links. */
function everything(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string, prefix: string) => {
    for (const name of readdirSync(at).sort()) {
      const full = join(at, name);
      out.push(prefix + name);
      if (lstatSync(full).isDirectory()) walk(full, `${prefix}${name}/`);
    }
  };
  walk(dir, '');
  return out;
}

/** The content (gunzipped when it is gzip) of every regular file under `dir`, links not followed. */
function contentsUnder(dir: string): string {
  return everything(dir)
    .map((rel) => join(dir, rel))
    .filter((full) => lstatSync(full).isFile())
    .map((full) => {
      const raw = readFileSync(full);
      return raw[0] === 0x1f && raw[1] === 0x8b
        ? gunzipSync(raw).toString('utf8')
        : raw.toString('latin1');
    })
    .join('\n');
}

/** What a file outside the root looks like, to prove it was not touched. */
function fingerprint(file: string) {
  const stats = lstatSync(file);
  return {
    bytes: readFileSync(file).toString('base64'),
    mtimeMs: stats.mtimeMs,
    size: stats.size,
    ino: stats.ino,
  };
}

function expectSymlinkRefusal(err: unknown, link: string) {
  expect(err).toBeInstanceOf(FatalError);
  const fatal = err as FatalError;
  expect(fatal.code).toBe('SLUICE_ERR_FATAL');
  expect(fatal.message).toMatch(/symbolic link/);
  expect(fatal.message).toContain(`"${link}"`);
  expect(fatal.details).toMatchObject({ reason: 'symlink', symlink: link });
}

// A secret outside the root, shaped so that every format would happily append to it.
const SECRET = '[\n{"secret":"s3cr3t-outside-the-root"}\n]\n';

const MODES = [
  { label: 'batch mode, ndjson', config: { mode: 'batch', format: 'ndjson' }, ext: 'ndjson' },
  {
    label: 'batch mode, json, gzip',
    config: { mode: 'batch', format: 'json', gzip: true },
    ext: 'json.gz',
  },
  { label: 'batch mode, csv', config: { mode: 'batch', format: 'csv' }, ext: 'csv' },
  { label: 'append mode, ndjson', config: { mode: 'append', format: 'ndjson' }, ext: 'ndjson' },
  { label: 'append mode, json', config: { mode: 'append', format: 'json' }, ext: 'json' },
  {
    label: 'append mode, csv, rotation',
    config: { mode: 'append', format: 'csv', csv: { columns: ['a'] }, rotate: { maxBytes: 4 } },
    ext: 'csv',
  },
  {
    label: 'append mode, ndjson, gzip, rotation',
    config: { mode: 'append', format: 'ndjson', gzip: true, rotate: { maxAgeMs: 1 } },
    ext: 'ndjson.gz',
  },
] as const;

describe('file destination: symbolic links inside the root', () => {
  for (const mode of MODES) {
    describe(mode.label, () => {
      // batch mode names the file with the batch id; append mode appends to the name as given.
      const fileName = mode.config.mode === 'batch' ? `b-1.${mode.ext}` : `data.${mode.ext}`;
      const template =
        mode.config.mode === 'batch' ? `{{batch.id}}.${mode.ext}` : `data.${mode.ext}`;
      const batch = () => makeBatch([{ a: 1 }, { a: 2 }], { id: 'b-1' });

      it('refuses a linked folder inside the root; nothing appears outside', async () => {
        const { root, outside } = freshPlace();
        symlinkSync(outside, join(root, 'out'));
        const instance = await open({ root, path: `out/{{date}}/${template}`, ...mode.config });
        const err = await failure(instance.write(batch(), { signal: signal() }));
        expectSymlinkRefusal(err, 'out');
        expect((err as Error).message).toContain(outside);
        expect(everything(outside)).toEqual([]);
        expect(lstatSync(join(root, 'out')).isSymbolicLink()).toBe(true);
      });

      it('refuses a linked folder deeper inside the root; the file of that name outside is unchanged', async () => {
        const { root, outside } = freshPlace();
        const victim = join(outside, fileName);
        writeFileSync(victim, SECRET);
        utimesSync(victim, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
        const before = fingerprint(victim);
        mkdirSync(join(root, 'a'));
        symlinkSync(outside, join(root, 'a', 'b'));
        const instance = await open({ root, path: `a/b/${template}`, ...mode.config });
        const err = await failure(instance.write(batch(), { signal: signal() }));
        expectSymlinkRefusal(err, 'a/b');
        expect(everything(outside)).toEqual([fileName]);
        expect(fingerprint(victim)).toEqual(before);
        expect(contentsUnder(root)).not.toContain('s3cr3t');
      });

      it('refuses a link at the file name; the linked file outside is neither changed nor copied in', async () => {
        const { root, outside } = freshPlace();
        const victim = join(outside, 'victim');
        writeFileSync(victim, SECRET);
        utimesSync(victim, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
        const before = fingerprint(victim);
        mkdirSync(join(root, 'out'));
        symlinkSync(victim, join(root, 'out', fileName));
        const instance = await open({ root, path: `out/${template}`, ...mode.config });
        const err = await failure(instance.write(batch(), { signal: signal() }));
        expectSymlinkRefusal(err, `out/${fileName}`);
        expect(fingerprint(victim)).toEqual(before);
        expect(everything(outside)).toEqual(['victim']);
        // The link is left as it was (not replaced, not followed), and no copy of the secret is in the root.
        expect(lstatSync(join(root, 'out', fileName)).isSymbolicLink()).toBe(true);
        expect(readlinkSync(join(root, 'out', fileName))).toBe(victim);
        expect(contentsUnder(root)).not.toContain('s3cr3t');
      });

      const rotates = 'rotate' in mode.config;
      it(
        mode.config.mode === 'batch'
          ? 'replaces (never writes into) a hard link at the file name; its other name outside is unchanged'
          : rotates
            ? 'rotates a hard link at the file name aside unread; its other name outside is unchanged'
            : 'refuses a hard link at the file name; its other name outside is neither changed nor copied in',
        async () => {
          const { root, outside } = freshPlace();
          const victim = join(outside, 'victim');
          writeFileSync(victim, SECRET);
          utimesSync(victim, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
          const before = fingerprint(victim);
          mkdirSync(join(root, 'out'));
          linkSync(victim, join(root, 'out', fileName));
          const instance = await open({ root, path: `out/${template}`, ...mode.config });
          const err = await failure(instance.write(batch(), { signal: signal() }));
          if (mode.config.mode === 'append' && !rotates) {
            expect(err).toBeInstanceOf(FatalError);
            expect((err as FatalError).details).toMatchObject({
              reason: 'hardlink',
              file: `out/${fileName}`,
              links: 2,
            });
            expect((err as Error).message).toContain(
              `"out/${fileName}" under ${root} has 2 hard links`,
            );
          } else {
            expect(err).toBeUndefined();
          }
          expect(fingerprint(victim)).toEqual(before);
          expect(everything(outside)).toEqual(['victim']);
          // Apart from the planted names of the outside file itself, nothing in the root holds its bytes.
          const planted = everything(root).filter(
            (rel) => lstatSync(join(root, rel)).ino === before.ino,
          );
          expect(planted.length).toBe(mode.config.mode === 'batch' ? 0 : 1);
          for (const rel of planted) rmSync(join(root, rel));
          const written = contentsUnder(root);
          expect(written).not.toContain('s3cr3t');
          // Where the write went ahead, the records are in a file of their own.
          if (err === undefined) expect(written).toMatch(/1[\s\S]*2/);
        },
      );

      it('refuses a folder the path template names when it is a link; other records are written', async () => {
        const { root, outside } = freshPlace();
        symlinkSync(outside, join(root, 'email'));
        const instance = await open({ root, path: `{{channel}}/${template}`, ...mode.config });
        const records: SluiceRecord[] = [
          { channel: 'email', a: 1 },
          { channel: 'web', a: 2 },
          { channel: 'email', a: 3 },
        ];
        const err = await failure(
          instance.write(makeBatch(records, { id: 'b-1' }), { signal: signal() }),
        );
        expect(err).toBeInstanceOf(PartialBatchError);
        const failures = (err as PartialBatchError).failures;
        expect(failures.map((f) => f.index)).toEqual([0, 2]);
        for (const f of failures) expectSymlinkRefusal(f.error, 'email');
        expect(everything(outside)).toEqual([]);
        expect(everything(root)).toContain(`web/${fileName}`);
        const written = contentsUnder(join(root, 'web'));
        expect(written).toContain('2');
        expect(written).not.toContain('"a":1');
      });

      it('writes normally when nothing is linked, and when the root itself is a link', async () => {
        const { root, outside } = freshPlace();
        const linkedRoot = join(outside, 'root-link');
        symlinkSync(root, linkedRoot);
        const instance = await open({
          root: linkedRoot,
          path: `out/{{channel}}/${template}`,
          ...mode.config,
        });
        await instance.write(makeBatch([{ channel: 'web', a: 1 }], { id: 'b-1' }), {
          signal: signal(),
        });
        await instance.write(makeBatch([{ channel: 'web', a: 2 }], { id: 'b-2' }), {
          signal: signal(),
        });
        const files = everything(join(root, 'out', 'web')).filter((f) => !f.startsWith('.'));
        expect(files.length).toBeGreaterThanOrEqual(mode.config.mode === 'batch' ? 2 : 1);
        expect(contentsUnder(join(root, 'out'))).toMatch(/1[\s\S]*2|2[\s\S]*1/);
        expect(everything(join(root, 'out', 'web')).some((f) => f.endsWith('.tmp'))).toBe(false);
      });
    });
  }

  it('resolves a linked root once: re-pointing the link later does not move the writes', async () => {
    const { root, outside } = freshPlace();
    const link = join(base, `root-link-${++counter}`);
    symlinkSync(root, link);
    const instance = await open({ root: link, path: 'out/{{batch.id}}.ndjson' });
    await instance.write(makeBatch([{ a: 1 }], { id: 'first' }), { signal: signal() });
    rmSync(link);
    symlinkSync(outside, link);
    await instance.write(makeBatch([{ a: 2 }], { id: 'second' }), { signal: signal() });
    expect(everything(outside)).toEqual([]);
    expect(
      readRecords(root, 'ndjson')
        .map((r) => r.a)
        .sort(),
    ).toEqual([1, 2]);
  });

  it('refuses a link at the append state file; the linked file outside is unchanged', async () => {
    const { root, outside } = freshPlace();
    const victim = join(outside, 'state');
    writeFileSync(victim, '{"createdAt":0,"digests":[]}');
    utimesSync(victim, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    const before = fingerprint(victim);
    const instance = await open({ root, path: 'out/data.ndjson', mode: 'append' });
    await instance.write(makeBatch([{ a: 1 }]), { signal: signal() });
    const state = join(root, 'out', '.data.ndjson.sluice.json');
    rmSync(state);
    symlinkSync(victim, state);
    const err = await failure(instance.write(makeBatch([{ a: 2 }]), { signal: signal() }));
    expectSymlinkRefusal(err, 'out/.data.ndjson.sluice.json');
    expect(fingerprint(victim)).toEqual(before);
    expect(lstatSync(state).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(root, 'out', 'data.ndjson'), 'utf8')).toBe('{"a":1}\n');
  });

  it('refuses a hard-linked append state file; its other name outside is unchanged', async () => {
    const { root, outside } = freshPlace();
    const victim = join(outside, 'state');
    writeFileSync(victim, '{"createdAt":0,"digests":["s3cr3t-digest"]}');
    const instance = await open({ root, path: 'out/data.ndjson', mode: 'append' });
    await instance.write(makeBatch([{ a: 1 }]), { signal: signal() });
    const state = join(root, 'out', '.data.ndjson.sluice.json');
    rmSync(state);
    linkSync(victim, state);
    const before = fingerprint(victim);
    const err = await failure(instance.write(makeBatch([{ a: 2 }]), { signal: signal() }));
    expect(err).toBeInstanceOf(FatalError);
    expect((err as FatalError).details).toMatchObject({
      reason: 'hardlink',
      file: 'out/.data.ndjson.sluice.json',
    });
    expect(fingerprint(victim)).toEqual(before);
    expect(readFileSync(join(root, 'out', 'data.ndjson'), 'utf8')).toBe('{"a":1}\n');
  });

  it('finishes a rotation a crash interrupted between link and unlink, instead of refusing the file', async () => {
    const { root } = freshPlace();
    const instance = await open({
      root,
      path: 'out/log.ndjson',
      mode: 'append',
      rotate: { maxBytes: 1000 },
    });
    await instance.write(makeBatch([{ i: 1 }]), { signal: signal() });
    // What a crash right after rotateFile's link() leaves: both names on one file.
    linkSync(join(root, 'out', 'log.ndjson'), join(root, 'out', 'log.20260101T000000000Z.ndjson'));
    await instance.write(makeBatch([{ i: 2 }]), { signal: signal() });
    expect(readFileSync(join(root, 'out', 'log.20260101T000000000Z.ndjson'), 'utf8')).toBe(
      '{"i":1}\n',
    );
    expect(readFileSync(join(root, 'out', 'log.ndjson'), 'utf8')).toBe('{"i":2}\n');
    expect(lstatSync(join(root, 'out', 'log.ndjson')).nlink).toBe(1);
  });

  it('check() probes the real root when the root is a link, and leaves nothing behind', async () => {
    const { root } = freshPlace();
    const link = join(base, `root-link-${++counter}`);
    symlinkSync(root, link);
    const instance = await open({ root: link, path: 'out/x.ndjson' });
    const result = await instance.check!();
    expect(result.ok).toBe(true);
    expect(result.message).toBe(`${root} is writable`);
    expect(everything(root)).toEqual([]);
  });
});

/**
 * An attacker process that keeps swapping `root/out` between the real folder and a link to
 * `outside`, until it is killed. It says "ready" once it is looping, then its round count every
 * 1000 rounds.
 */
const SWAP_FOLDER = `
const fs = require('node:fs');
const [root, outside] = process.argv.slice(1);
const out = root + '/out', away = root + '/out.away';
process.stdout.write('ready\\n');
for (let round = 1; ; round++) {
  if (round % 1000 === 0) process.stdout.write(round + '\\n');
  try { fs.renameSync(out, away); } catch {}
  try { fs.symlinkSync(outside, out); } catch {}
  for (let i = 0; i < 2000; i++);
  try { if (fs.lstatSync(out).isSymbolicLink()) fs.unlinkSync(out); } catch {}
  try { fs.renameSync(away, out); } catch { try { fs.rmSync(away, { recursive: true, force: true }); } catch {} }
  for (let i = 0; i < 2000; i++);
}
`;

/** Keeps swapping the appended file `root/out/data.ndjson` and its state file with links to `victim`. */
const SWAP_FILE = `
const fs = require('node:fs');
const [root, victim] = process.argv.slice(1);
const names = [root + '/out/data.ndjson', root + '/out/.data.ndjson.sluice.json'];
process.stdout.write('ready\\n');
for (let round = 1; ; round++) {
  if (round % 1000 === 0) process.stdout.write(round + '\\n');
  const file = names[round % 2], away = file + '.away';
  try { fs.renameSync(file, away); } catch {}
  try { fs.symlinkSync(victim, file); } catch {}
  for (let i = 0; i < 2000; i++);
  try { if (fs.lstatSync(file).isSymbolicLink()) fs.unlinkSync(file); } catch {}
  try { fs.renameSync(away, file); } catch {}
  for (let i = 0; i < 2000; i++);
}
`;

/** Runs `work` while the attacker script runs; returns its result and how many rounds the attacker made. */
async function withAttacker<T>(
  script: string,
  args: string[],
  work: () => Promise<T>,
): Promise<T & { attackerRounds: number }> {
  const child = spawn(process.execPath, ['-e', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let attackerRounds = 0;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (text: string) => {
    for (const line of text.split('\n')) if (/^\d+$/.test(line)) attackerRounds = Number(line);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    void exited.then(() => reject(new Error('the attacker process exited before it started')));
  });
  try {
    return { ...(await work()), attackerRounds };
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

function unlinkIfLink(file: string): void {
  try {
    if (lstatSync(file).isSymbolicLink()) rmSync(file);
  } catch {
    // not there: nothing to undo
  }
}

interface RaceTally {
  rounds: number;
  written: number;
  refused: number;
  retryable: number;
}

/**
 * Writes at least `rounds` times, and on (up to ten times as many) until the attacker was caught
 * once: on a loaded machine its process may get few time slices at first.
 */
async function race(write: (i: number) => Promise<void>, rounds: number): Promise<RaceTally> {
  const tally: RaceTally = { rounds: 0, written: 0, refused: 0, retryable: 0 };
  for (let i = 0; i < rounds || (tally.refused === 0 && i < rounds * 10); i++) {
    tally.rounds++;
    const err = await failure(write(i));
    const errors =
      err instanceof PartialBatchError
        ? err.failures.map((f) => f.error)
        : err === undefined
          ? []
          : [err];
    if (errors.length === 0) tally.written++;
    else if (
      errors.every(
        (e) => e instanceof FatalError && (e as FatalError).details?.reason === 'symlink',
      )
    )
      tally.refused++;
    else if (
      errors.every(
        (e) =>
          e instanceof RetryableError ||
          (e instanceof FatalError && (e as FatalError).details?.reason === 'symlink'),
      )
    )
      tally.retryable++;
    else throw err;
  }
  return tally;
}

describe('file destination: links swapped in during writes (race, best effort)', () => {
  const ROUNDS = 300;
  // Up to ten times ROUNDS writes when the attacker is slow to get a time slice (see race()).
  const RACE_TIMEOUT_MS = 120_000;

  for (const mode of ['batch', 'append'] as const) {
    it(
      `${mode} mode: ${ROUNDS} writes while a folder is swapped for a link never put bytes outside the root`,
      async () => {
        const { root, outside } = freshPlace();
        mkdirSync(join(root, 'out'));
        const instance = await open({
          root,
          path: mode === 'batch' ? 'out/{{batch.id}}.ndjson' : 'out/data.ndjson',
          mode,
        });
        const tally = await withAttacker(SWAP_FOLDER, [root, outside], () =>
          race(
            (i) =>
              instance.write(makeBatch([{ i, pad: 'x'.repeat(64) }], { id: `race-${i}` }), {
                signal: signal(),
              }),
            ROUNDS,
          ),
        );
        console.log(JSON.stringify({ race: { kind: 'folder', mode, ...tally } }));
        expect(everything(outside)).toEqual([]);
        expect(tally.written + tally.refused + tally.retryable).toBe(tally.rounds);
        // The attacker did get its link in place while writes ran.
        expect(tally.refused).toBeGreaterThan(0);
        // Once the attacker is gone (its last link removed), writes work again.
        unlinkIfLink(join(root, 'out'));
        await instance.write(makeBatch([{ after: true }], { id: 'after' }), { signal: signal() });
        expect(contentsUnder(join(root, 'out'))).toContain('"after":true');
      },
      RACE_TIMEOUT_MS,
    );
  }

  it(
    `append mode: ${ROUNDS} appends while the file and its state are swapped for links never change or leak the linked file`,
    async () => {
      const { root, outside } = freshPlace();
      const victim = join(outside, 'victim');
      writeFileSync(victim, SECRET);
      utimesSync(victim, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
      const before = fingerprint(victim);
      const instance = await open({ root, path: 'out/data.ndjson', mode: 'append' });
      await instance.write(makeBatch([{ i: -1 }]), { signal: signal() });
      const tally = await withAttacker(SWAP_FILE, [root, victim], () =>
        race(
          (i) => instance.write(makeBatch([{ i }], { id: `race-${i}` }), { signal: signal() }),
          ROUNDS,
        ),
      );
      console.log(JSON.stringify({ race: { kind: 'file', mode: 'append', ...tally } }));
      expect(fingerprint(victim)).toEqual(before);
      expect(everything(outside)).toEqual(['victim']);
      expect(contentsUnder(root)).not.toContain('s3cr3t');
      expect(tally.written + tally.refused + tally.retryable).toBe(tally.rounds);
      expect(tally.refused).toBeGreaterThan(0);
      unlinkIfLink(join(root, 'out', 'data.ndjson'));
      unlinkIfLink(join(root, 'out', '.data.ndjson.sluice.json'));
      await instance.write(makeBatch([{ after: true }]), { signal: signal() });
      expect(readFileSync(join(root, 'out', 'data.ndjson'), 'utf8')).toContain('"after":true');
    },
    RACE_TIMEOUT_MS,
  );
});
