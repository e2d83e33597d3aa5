// The contract suite and the engine agree on every shape of read(): both go through core's
// connectorPages. A connector whose read() is a sync generator passes neither.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const packageRoot = resolve(import.meta.dirname, '../..');
const vitestBin = join(
  dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
  'vitest.mjs',
);

it('testConnector fails a connector whose read() returns a sync generator, with the message the engine gives', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-contract-shapes-'));
  try {
    const config = join(dir, 'vitest.config.mjs');
    const report = join(dir, 'report.json');
    writeFileSync(
      config,
      `export default { resolve: { conditions: ['@sluice/source', 'node'] }, ssr: { resolve: { conditions: ['@sluice/source', 'node'] } }, test: { include: ['src/contract/__fixtures__/sync-read.suite.ts'] } };\n`,
    );
    const result = await promisify(execFile)(
      process.execPath,
      [
        vitestBin,
        'run',
        '--root',
        packageRoot,
        '--config',
        config,
        '--reporter=json',
        `--outputFile=${report}`,
      ],
      {
        cwd: packageRoot,
        env: { ...process.env, CI: '' },
      },
    ).then(
      () => 'passed',
      () => 'failed',
    );
    expect(result).toBe('failed');
    const json = JSON.parse(readFileSync(report, 'utf8')) as {
      testResults: {
        assertionResults: { title: string; status: string; failureMessages: string[] }[];
      }[];
    };
    const tests = json.testResults.flatMap((f) => f.assertionResults);
    const paging =
      tests.find((t) => t.title.includes('every record')) ??
      tests.find((t) => t.status === 'failed');
    expect(paging?.status).toBe('failed');
    expect(paging?.failureMessages.join('\n')).toContain(
      'read() must return an AsyncIterable<Page> (write it as "async *read(request, signal) { yield { records } }"), but it returned a sync iterable (a function* generator?)',
    );
    // Every test that reads fails; none passes by accident.
    expect(tests.filter((t) => t.status === 'passed').map((t) => t.title)).not.toContain(
      paging?.title,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
