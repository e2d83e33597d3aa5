import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStore } from './create-store.js';
import { makeFolders } from './make-folders.js';

describe('data folders', () => {
  it('are created with their missing parents', async () => {
    const base = mkdtempSync(join(tmpdir(), 'sluice-make-folders-'));
    try {
      await makeFolders(join(base, 'a/b/c'));
      await makeFolders(join(base, 'a/b/c'));
      expect(statSync(join(base, 'a/b/c')).isDirectory()).toBe(true);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  // Node's recursive mkdir never returns under /proc; createStore used to hang there for ever.
  it.runIf(existsSync('/proc/self'))(
    'under a parent that refuses new entries (/proc) fail at once, naming the folder',
    async () => {
      const started = Date.now();
      await expect(createStore({ dataDir: '/proc/sluice-store-test/data' })).rejects.toThrow(
        /cannot create the data folder \/proc\/sluice-store-test: ENOENT/,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
    },
    10_000,
  );
});
