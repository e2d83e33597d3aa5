// Symbolic links inside the root are refused, never followed (issue 13, point 6): a linked
// folder, a link at the file's own name, a link made by a path-template value, a link at the
// append state file, and links swapped in while a write runs. Nothing is ever written outside
// the root, and nothing outside is read into it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import {
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
import { FatalError, PartialBatchError, RetryableError, createPluginContext, parseConfig, type SluiceRecord } from '@sluice/core';
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
      return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw).toString('utf8') : raw.toString('latin1');
    })
    .join('\n');
}

/** What a file outside the root looks like, to prove it was not touched. */
function fingerprint(file: string) {
  const stats = lstatSync(file);
  return { bytes: readFileSync(file).toString('base64'), mtimeMs: stats.mtimeMs, size: stats.size, ino: stats.ino };
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
  { label: 'batch mode, json, gzip', config: { mode: 'batch', format: 'json', gzip: true }, ext: 'json.gz' },
  { label: 'batch mode, csv', config: { mode: 'batch', format: 'csv' }, ext: 'csv' },
  { label: 'append mode, ndjson', config: { mode: 'append', format: 'ndjson' }, ext: 'ndjson' },
  { label: 'append mode, json', config: { mode: 'append', format: 'json' }, ext: 'json' },
  { label: 'append mode, csv, rotation', config: { mode: 'append', format: 'csv', csv: { columns: ['a'] }, rotate: { maxBytes: 4 } }, ext: 'csv' },
  { label: 'append mode, ndjson, gzip, rotation', config: { mode: 'append', format: 'ndjson', gzip: true, rotate: { maxAgeMs: 1 } }, ext: 'ndjson.gz' },
] as const;

describe('file destination: symbolic links inside the root', () => {
  for (const mode of MODES) {
    describe(mode.label, () => {
      // batch mode names the file with the batch id; append mode appends to the name as given.
      const fileName = mode.config.mode === 'batch' ? `b-1.${mode.ext}` : `data.${mode.ext}`;
      const template = mode.config.mode === 'batch' ? `{{batch.id}}.${mode.ext}` : `data.${mode.ext}`;
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

      it('refuses a linked folder deeper inside the root', async () => {
        const { root, outside } = freshPlace();
        mkdirSync(join(root, 'a'));
        symlinkSync(outside, join(root, 'a', 'b'));
        const instance = await open({ root, path: `a/b/c/${template}`, ...mode.config });
        const err = await failure(instance.write(batch(), { signal: signal() }));
        expectSymlinkRefusal(err, 'a/b');
        expect(everything(outside)).toEqual([]);
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

      it('refuses a folder the path template names when it is a link; other records are written', async () => {
        const { root, outside } = freshPlace();
        symlinkSync(outside, join(root, 'email'));
        const instance = await open({ root, path: `{{channel}}/${template}`, ...mode.config });
        const records: SluiceRecord[] = [
          { channel: 'email', a: 1 },
          { channel: 'web', a: 2 },
          { channel: 'email', a: 3 },
        ];
        const err = await failure(instance.write(makeBatch(records, { id: 'b-1' }), { signal: signal() }));
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
        const instance = await open({ root: linkedRoot, path: `out/{{channel}}/${template}`, ...mode.config });
        await instance.write(makeBatch([{ channel: 'web', a: 1 }], { id: 'b-1' }), { signal: signal() });
        await instance.write(makeBatch([{ channel: 'web', a: 2 }], { id: 'b-2' }), { signal: signal() });
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
    expect(readRecords(root, 'ndjson').map((r) => r.a).sort()).toEqual([1, 2]);
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
 * `outside`, until it is killed. It says "ready" once it is looping.
 */
const SWAP_FOLDER = `
const fs = require('node:fs');
const [root, outside] = process.argv.slice(1);
const out = root + '/out', away = root + '/out.away';
process.stdout.write('ready\\n');
for (;;) {
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
for (let round = 0; ; round++) {
  const file = names[round % 2], away = file + '.away';
  try { fs.renameSync(file, away); } catch {}
  try { fs.symlinkSync(victim, file); } catch {}
  for (let i = 0; i < 2000; i++);
  try { if (fs.lstatSync(file).isSymbolicLink()) fs.unlinkSync(file); } catch {}
  try { fs.renameSync(away, file); } catch {}
  for (let i = 0; i < 2000; i++);
}
`;

async function withAttacker<T>(script: string, args: string[], work: () => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, ['-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the attacker process exited (${String(code)}) before it started`)));
  });
  try {
    return await work();
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
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
  written: number;
  refused: number;
  retryable: number;
}

async function race(write: (i: number) => Promise<void>, rounds: number): Promise<RaceTally> {
  const tally: RaceTally = { written: 0, refused: 0, retryable: 0 };
  for (let i = 0; i < rounds; i++) {
    const err = await failure(write(i));
    const errors = err instanceof PartialBatchError ? err.failures.map((f) => f.error) : err === undefined ? [] : [err];
    if (errors.length === 0) tally.written++;
    else if (errors.every((e) => e instanceof FatalError && (e as FatalError).details?.reason === 'symlink')) tally.refused++;
    else if (errors.every((e) => e instanceof RetryableError || (e instanceof FatalError && (e as FatalError).details?.reason === 'symlink'))) tally.retryable++;
    else throw err;
  }
  return tally;
}

describe('file destination: links swapped in during writes (race, best effort)', () => {
  const ROUNDS = 300;

  for (const mode of ['batch', 'append'] as const) {
    it(`${mode} mode: a folder swapped for a link ${ROUNDS} times never gets bytes outside the root`, async () => {
      const { root, outside } = freshPlace();
      mkdirSync(join(root, 'out'));
      const instance = await open({ root, path: mode === 'batch' ? 'out/{{batch.id}}.ndjson' : 'out/data.ndjson', mode });
      const tally = await withAttacker(SWAP_FOLDER, [root, outside], () =>
        race((i) => instance.write(makeBatch([{ i, pad: 'x'.repeat(64) }], { id: `race-${i}` }), { signal: signal() }), ROUNDS),
      );
      expect(everything(outside)).toEqual([]);
      expect(tally.written + tally.refused + tally.retryable).toBe(ROUNDS);
      // The attacker did get its link in place while writes ran.
      expect(tally.refused).toBeGreaterThan(0);
      // Once the attacker is gone (its last link removed), writes work again.
      unlinkIfLink(join(root, 'out'));
      await instance.write(makeBatch([{ after: true }], { id: 'after' }), { signal: signal() });
      expect(contentsUnder(join(root, 'out'))).toContain('"after":true');
      console.log(JSON.stringify({ race: { kind: 'folder', mode, rounds: ROUNDS, ...tally } }));
    });
  }

  it(`append mode: the appended file and its state swapped for links ${ROUNDS} times never change or leak the linked file`, async () => {
    const { root, outside } = freshPlace();
    const victim = join(outside, 'victim');
    writeFileSync(victim, SECRET);
    utimesSync(victim, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
    const before = fingerprint(victim);
    const instance = await open({ root, path: 'out/data.ndjson', mode: 'append' });
    await instance.write(makeBatch([{ i: -1 }]), { signal: signal() });
    const tally = await withAttacker(SWAP_FILE, [root, victim], () =>
      race((i) => instance.write(makeBatch([{ i }], { id: `race-${i}` }), { signal: signal() }), ROUNDS),
    );
    expect(fingerprint(victim)).toEqual(before);
    expect(everything(outside)).toEqual(['victim']);
    expect(contentsUnder(root)).not.toContain('s3cr3t');
    expect(tally.written + tally.refused + tally.retryable).toBe(ROUNDS);
    expect(tally.refused).toBeGreaterThan(0);
    unlinkIfLink(join(root, 'out', 'data.ndjson'));
    unlinkIfLink(join(root, 'out', '.data.ndjson.sluice.json'));
    await instance.write(makeBatch([{ after: true }]), { signal: signal() });
    expect(readFileSync(join(root, 'out', 'data.ndjson'), 'utf8')).toContain('"after":true');
    console.log(JSON.stringify({ race: { kind: 'file', mode: 'append', rounds: ROUNDS, ...tally } }));
  });
});
