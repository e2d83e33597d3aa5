// The confinement under the file destination, with folder handles (/proc/self/fd, Linux) and
// with the path-based checks that platforms without them get.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { confineTo, SymlinkRefusedError } from './confined-root.js';
import { createPluginContext } from '@sluice/core';
import { openForAppend, rotateFile, writeFileAtomic } from './atomic-file.js';
import { appendPiece, type AppendOptions } from './append-file.js';
import { readAppendState, writeAppendState } from './append-state.js';

let base: string;
let counter = 0;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'sluice-confined-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

function freshPlace(): { root: string; outside: string } {
  const n = ++counter;
  const root = join(base, `root-${n}`);
  const outside = join(base, `outside-${n}`);
  mkdirSync(root, { recursive: true });
  mkdirSync(outside, { recursive: true });
  return { root, outside };
}

async function refusal(promise: Promise<unknown>): Promise<SymlinkRefusedError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SymlinkRefusedError);
  return err as SymlinkRefusedError;
}

const ok = (text: string) => [Buffer.from(text)];

/** Appends `text` (after the JSON ending `ending`, when given) the way the destination does. */
function append(
  folder: Parameters<typeof appendPiece>[0],
  name: string,
  text: string,
  ending = '',
) {
  const options: AppendOptions = {
    ending: Buffer.from(ending),
    gzip: false,
    now: Date.now(),
    logger: createPluginContext().logger,
  };
  return appendPiece(
    folder,
    name,
    { key: text, whole: async () => ok(text + ending), addition: async () => Buffer.from(text) },
    options,
  );
}

for (const handles of [true, false]) {
  describe(`confineTo (${handles ? 'folder handles' : 'path checks'})`, () => {
    it('creates missing folders and writes, appends and rotates inside them', async () => {
      const { root } = freshPlace();
      const folder = await confineTo(root, { handles }).openFolder('a/b');
      try {
        expect(folder.relative).toBe('a/b');
        await writeFileAtomic(folder, 'x.json', ok('[\n1\n]\n'));
        await append(folder, 'x.json', ',\n2', '\n]\n');
        expect(JSON.parse(readFileSync(join(root, 'a/b/x.json'), 'utf8'))).toEqual([1, 2]);
        const appended = await readAppendState(folder, 'x.json');
        expect(appended).toMatchObject({ seq: 1, keys: [',\n2'] });
        await writeAppendState(folder, 'x.json', {
          createdAt: 5,
          file: '1:2',
          length: 3,
          keys: ['d1'],
          seq: 2,
        });
        expect(await readAppendState(folder, 'x.json')).toEqual({
          createdAt: 5,
          file: '1:2',
          length: 3,
          keys: ['d1'],
          seq: 2,
        });
        const rotated = await rotateFile(folder, 'x.json', Date.UTC(2026, 0, 1), false);
        expect(rotated).toBe('x.20260101T000000000Z.json');
        expect(readdirSync(join(root, 'a/b')).sort()).toEqual(['.x.json.sluice.json', rotated]);
      } finally {
        await folder.close();
      }
    });

    it('refuses a linked folder and creates nothing through it', async () => {
      const { root, outside } = freshPlace();
      mkdirSync(join(root, 'a'));
      symlinkSync(outside, join(root, 'a', 'b'));
      const err = await refusal(confineTo(root, { handles }).openFolder('a/b/c'));
      expect(err.link).toBe('a/b');
      expect(err.target).toBe(outside);
      expect(err.message).toContain(`"a/b" under ${root} is a symbolic link (to ${outside})`);
      expect(readdirSync(outside)).toEqual([]);
    });

    it('refuses a link at a file name for lstat, open, exclusive create, write, append and rotate', async () => {
      const { root, outside } = freshPlace();
      const victim = join(outside, 'victim');
      writeFileSync(victim, 'keep');
      mkdirSync(join(root, 'd'));
      symlinkSync(victim, join(root, 'd', 'f'));
      const folder = await confineTo(root, { handles }).openFolder('d');
      try {
        expect((await refusal(folder.lstat('f'))).link).toBe('d/f');
        await refusal(folder.open('f', constants.O_RDONLY));
        await refusal(
          folder.open('f', constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o666),
        );
        await refusal(writeFileAtomic(folder, 'f', ok('x')));
        await refusal(append(folder, 'f', 'x'));
        await refusal(openForAppend(folder, 'f'));
        await refusal(rotateFile(folder, 'f', 0, false));
        await refusal(
          readAppendState(folder, 'g').then(async () => {
            symlinkSync(victim, join(root, 'd', '.g.sluice.json'));
            return readAppendState(folder, 'g');
          }),
        );
      } finally {
        await folder.close();
      }
      expect(readFileSync(victim, 'utf8')).toBe('keep');
      expect(readdirSync(join(root, 'd')).sort()).toEqual(['.g.sluice.json', 'f']);
    });

    it('follows a root that is itself a link once, to its real path', async () => {
      const { root } = freshPlace();
      const link = join(base, `link-${++counter}`);
      symlinkSync(root, link);
      const confined = confineTo(link, { handles });
      expect(await confined.realRoot()).toBe(root);
      const folder = await confined.openFolder('');
      try {
        await writeFileAtomic(folder, 'f', ok('x'));
      } finally {
        await folder.close();
      }
      expect(readFileSync(join(root, 'f'), 'utf8')).toBe('x');
    });

    it('refuses when the resolved root folder itself was replaced by a link', async () => {
      const { root, outside } = freshPlace();
      const confined = confineTo(root, { handles });
      await confined.pin();
      renameSync(root, `${root}.moved`);
      symlinkSync(outside, root);
      const err = await refusal(confined.openFolder('a'));
      expect(err.link).toBe('');
      expect(err.message).toMatch(/^the root folder is a symbolic link/);
      expect(readdirSync(outside)).toEqual([]);
    });

    it('refuses names that are not one segment', async () => {
      const { root } = freshPlace();
      const folder = await confineTo(root, { handles }).openFolder('');
      try {
        for (const name of ['', '.', '..', 'a/b'])
          expect(() => folder.entry(name)).toThrow(/not a single file name/);
      } finally {
        await folder.close();
      }
      await expect(confineTo(root, { handles }).openFolder('a/../b')).rejects.toThrow(
        /not a single file name/,
      );
    });
  });
}

describe('a link swapped in above an opened folder', () => {
  function swapInLink(root: string, outside: string) {
    renameSync(join(root, 'a'), join(root, 'a-moved'));
    mkdirSync(join(outside, 'b'));
    symlinkSync(outside, join(root, 'a'));
  }

  it('with folder handles: the write still lands in the opened folder, inside the root', async () => {
    const { root, outside } = freshPlace();
    const folder = await confineTo(root, { handles: true }).openFolder('a/b');
    try {
      swapInLink(root, outside);
      await writeFileAtomic(folder, 'x', ok('data'));
      await append(folder, 'x', '+more');
    } finally {
      await folder.close();
    }
    expect(readdirSync(join(outside, 'b'))).toEqual([]);
    expect(readFileSync(join(root, 'a-moved/b/x'), 'utf8')).toBe('data+more');
  });

  it('with path checks: the write is refused before a byte is written', async () => {
    const { root, outside } = freshPlace();
    const folder = await confineTo(root, { handles: false }).openFolder('a/b');
    try {
      swapInLink(root, outside);
      const err = await refusal(writeFileAtomic(folder, 'x', ok('data')));
      expect(err.link).toBe('a');
    } finally {
      await folder.close();
    }
    expect(readdirSync(join(outside, 'b'))).toEqual([]);
    expect(lstatSync(join(root, 'a')).isSymbolicLink()).toBe(true);
  });
});
