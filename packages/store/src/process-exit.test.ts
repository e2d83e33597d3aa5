// A script that opens the embedded store and closes it must end: close() closes the PGlite the
// store opened even when no query went through kysely (whose destroy() then skips its driver),
// and leaves no PGlite timer behind (the idle-statistics timer of PostgreSQL kept the README's
// pg-boss example alive past its last line).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sluice-store-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runScript(body: string) {
  const script = `import { createStore } from '@sluice/store';\n${body}`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: here,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('a process using the embedded store', () => {
  it('exits after close(), on a new folder and on the folder it left, with or without a query', () => {
    const open = `const store = await createStore({ dataDir: ${JSON.stringify(join(dir, 'db'))} });`;
    for (const body of [
      `${open}\nawait store.close();`,
      `${open}\nawait store.close();`,
      `${open}\nawait store.ping();\nawait store.close();`,
    ]) {
      const started = Date.now();
      const result = runScript(body);
      expect(result.signal, `killed after ${Date.now() - started} ms: ${result.stderr}`).toBeNull();
      expect(result.status, result.stderr).toBe(0);
    }
  }, 120_000);
});
