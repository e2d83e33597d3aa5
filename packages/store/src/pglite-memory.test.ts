// The embedded store's memory: a new data folder is unpacked from the shipped image natively (or,
// for a store the image does not fit, created by initdb in a child process whose WebAssembly
// memory goes away with it), and Postgres runs with small shared buffers.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { PGLITE_SETTINGS, createStore } from './create-store.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-store-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('embedded store memory', () => {
  it('creates a data folder without initdb in this process, opens it with 16 MB of shared buffers, and reopens it', async () => {
    expect(PGLITE_SETTINGS).toEqual(['shared_buffers = 16MB']);
    const dataDir = join(dir, 'new-folder');
    const rssBefore = process.memoryUsage.rss();
    const store = await createStore({ dataDir });
    try {
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
      await store.migrate();
      const { rows } = await sql<{ shared_buffers: string }>`show shared_buffers`.execute(store.db);
      expect(rows[0]!.shared_buffers).toBe('16MB');
      // initdb alone grows a process by several hundred MB; creating the folder here does not.
      expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(300 * 1024 * 1024);
      await store.runs.create({ pipeline: 'p', trigger: 'cli' });
    } finally {
      await store.close();
    }
    const again = await createStore({ dataDir });
    try {
      expect((await again.runs.list({ pipeline: 'p' })).items).toHaveLength(1);
    } finally {
      await again.close();
    }
  }, 120_000);

  it('opens with either WebAssembly compiler and refuses any other', async () => {
    for (const wasmCompiler of ['optimizing', 'baseline'] as const) {
      const store = await createStore({
        dataDir: join(dir, `compiler-${wasmCompiler}`),
        wasmCompiler,
      });
      try {
        await store.runs.create({ pipeline: 'p', trigger: 'cli' });
        expect((await store.runs.list({ pipeline: 'p' })).items).toHaveLength(1);
      } finally {
        await store.close();
      }
    }
    await expect(
      createStore({ dataDir: join(dir, 'compiler-bad'), wasmCompiler: 'turbo' as 'baseline' }),
    ).rejects.toThrow(/wasmCompiler/);
  }, 120_000);
});
