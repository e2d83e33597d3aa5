import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPluginContext, parseConfig } from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { fileDestination } from './destination.js';
import type { FileConfig } from './config.js';

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'sluice-dest-file-leftover-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('file destination: leftover temporary files of interrupted atomic writes', () => {
  it('removes them anywhere under the root when it opens, and nothing else; links are not followed', async () => {
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    mkdirSync(join(root, 'out/2026-11-25'), { recursive: true });
    mkdirSync(outside, { recursive: true });
    // What a kill -9 between create and rename leaves (the names tempNameFor makes).
    writeFileSync(join(root, 'out/.data.ndjson.0123456789ab.tmp'), '{"partial":');
    writeFileSync(join(root, 'out/2026-11-25/.email.csv.gz.a1b2c3d4e5f6.tmp'), 'x');
    // Not temporary files of ours: kept.
    writeFileSync(join(root, 'out/data.ndjson'), '{"a":1}\n');
    writeFileSync(join(root, 'out/.notes.tmp'), 'user file');
    writeFileSync(join(root, 'out/.data.ndjson.sluice.json'), '{}');
    // A temporary-looking file outside the root, reachable only through links: untouched.
    writeFileSync(join(outside, '.victim.ndjson.ffffffffffff.tmp'), 'outside');
    symlinkSync(outside, join(root, 'out/linked-folder'));
    symlinkSync(
      join(outside, '.victim.ndjson.ffffffffffff.tmp'),
      join(root, 'out/.link.ndjson.eeeeeeeeeeee.tmp'),
    );

    const config = parseConfig(fileDestination.configSchema, {
      root,
      path: 'out/data.ndjson',
      mode: 'append',
    }) as FileConfig;
    const instance = await fileDestination.create(config, createPluginContext());
    await instance.open?.();
    expect(readdirSync(join(root, 'out')).sort()).toEqual([
      '.data.ndjson.sluice.json',
      '.link.ndjson.eeeeeeeeeeee.tmp',
      '.notes.tmp',
      '2026-11-25',
      'data.ndjson',
      'linked-folder',
    ]);
    expect(readdirSync(join(root, 'out/2026-11-25'))).toEqual([]);
    expect(existsSync(join(outside, '.victim.ndjson.ffffffffffff.tmp'))).toBe(true);
    // Writing still works after the sweep.
    await instance.write(makeBatch([{ a: 2 }]), { signal: new AbortController().signal });
    await instance.close?.();
  });

  it('does not create a missing root when it opens', async () => {
    const root = join(base, 'missing-root');
    const config = parseConfig(fileDestination.configSchema, {
      root,
      path: 'x.ndjson',
    }) as FileConfig;
    const instance = await fileDestination.create(config, createPluginContext());
    await instance.open?.();
    expect(existsSync(root)).toBe(false);
  });
});
