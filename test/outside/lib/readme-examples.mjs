// Runs every runnable code block of the root README.md, every package README
// (packages/**/README.md) and apps/server/README.md inside a project that installed the packed
// tarballs (issue 17): each block as `example.ts` (or .mjs) in a folder of its own under that
// project, with Node's type stripping, so `@sluice/*` imports resolve to the installed tarballs
// exactly as a user's code would. Markers are described in code-blocks.mjs.
//
// Services the examples may use: PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`),
// the fakes of @sluice/testing/fakes and loopback HTTP. The environment of every example
// has DATABASE_URL pointing at that PostgreSQL and nothing else of this repository.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { codeBlocks, RUNNABLE_LANGUAGES } from './code-blocks.mjs';

/** An example that exits by itself must do so within this time. */
const TIMEOUT_MS = 90_000;
/** An `example-serves` block passes when it still runs this long after its first line of output. */
const SERVES_SETTLE_MS = 1_500;
/** At most this many blocks may be marked not-runnable. */
export const MAX_NOT_RUNNABLE = 4;

/** The READMEs whose examples run, repository-relative, sorted. */
export function readmeFiles(root) {
  const found = ['README.md', 'apps/server/README.md'];
  const walk = (dir) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (['node_modules', 'dist', '__fixtures__'].includes(entry.name)) continue;
        walk(path);
      } else if (entry.name === 'README.md') found.push(path);
    }
  };
  walk('packages');
  return found.sort();
}

function runExample(cwd, file, serves, extraEnv) {
  return new Promise((resolve) => {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR ?? '/tmp',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      NO_COLOR: '1',
      ...extraEnv,
    };
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', file], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    let stoppedByUs = false;
    let serving = false;
    const stop = () => {
      stoppedByUs = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    };
    const timer = setTimeout(stop, TIMEOUT_MS);
    let settle;
    if (serves) {
      child.stdout.once('data', () => {
        settle = setTimeout(() => {
          serving = true;
          stop();
        }, SERVES_SETTLE_MS);
      });
    }
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(settle);
      // A server passes when it printed and was still running when stopped; anything else must exit 0 by itself.
      const ok = serves ? serving : code === 0 && !stoppedByUs;
      const why = ok
        ? ''
        : stoppedByUs
          ? `${serves ? 'printed nothing' : 'did not exit'} within ${TIMEOUT_MS / 1000} s`
          : `exited with ${signal ?? code}${serves ? ' before it was stopped' : ''}`;
      resolve({ ok, why, output });
    });
  });
}

/**
 * Runs the examples in `project` (a folder whose node_modules has the tarballs installed).
 * Calls `check(ok, what)` per example; returns the counts. `only` (optional) keeps the READMEs
 * whose path contains it, for working on one page.
 */
export async function runReadmeExamples({ root, project, check, only }) {
  const counts = { run: 0, passed: 0, notRunnable: 0 };
  const notRunnable = [];
  for (const readme of readmeFiles(root).filter((f) => !only || f.includes(only))) {
    const blocks = codeBlocks(readFileSync(join(root, readme), 'utf8'), readme);
    const files = blocks.filter((b) => 'example-file' in b.markers);
    for (const block of blocks) {
      if (!RUNNABLE_LANGUAGES.has(block.lang) || 'example-file' in block.markers) continue;
      const where = `${readme}:${block.line}`;
      if ('not-runnable' in block.markers) {
        counts.notRunnable++;
        notRunnable.push(where);
        const reason = block.markers['not-runnable'];
        check(
          reason.length > 0,
          `${where} not runnable: ${reason || '(the marker gives no reason)'}`,
        );
        continue;
      }
      const dir = join(
        project,
        'readme-examples',
        `${readme.replace(/\/?README\.md$/, '').replaceAll('/', '-') || 'root'}-${block.line}`,
      );
      mkdirSync(dir, { recursive: true });
      for (const file of files) {
        mkdirSync(dirname(join(dir, file.markers['example-file'])), { recursive: true });
        writeFileSync(join(dir, file.markers['example-file']), file.text);
      }
      const name = ['js', 'javascript', 'mjs'].includes(block.lang) ? 'example.mjs' : 'example.ts';
      writeFileSync(join(dir, name), block.text);
      counts.run++;
      const extraEnv = Object.fromEntries(
        (block.markers['example-env'] ?? '')
          .split(/\s+/)
          .filter(Boolean)
          .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
      );
      const result = await runExample(dir, name, 'example-serves' in block.markers, extraEnv);
      if (result.ok) counts.passed++;
      const detail = result.ok
        ? ''
        : `: ${result.why}\n${result.output
            .trim()
            .split('\n')
            .slice(-15)
            .map((l) => `    ${l}`)
            .join('\n')}`;
      check(result.ok, `${where} (\`\`\`${block.lang}) runs from the tarballs${detail}`);
    }
  }
  // The TypeScript examples also type-check strictly against the installed declarations.
  // skipLibCheck: true only because the store README's pg-boss example imports pg-boss, whose
  // own .d.ts do not compile strictly; every Sluice package's .d.ts is checked with
  // skipLibCheck: false by run.mjs.
  writeFileSync(
    join(project, 'tsconfig.readme-examples.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        skipLibCheck: true,
        noEmit: true,
        types: ['node'],
      },
      include: ['readme-examples/*/example.ts'],
    }),
  );
  let tscOutput = '';
  try {
    execFileSync(
      process.execPath,
      [join(project, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.readme-examples.json'],
      { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (error) {
    tscOutput = `${error.stdout ?? ''}${error.stderr ?? ''}`;
  }
  check(
    tscOutput === '',
    `the TypeScript README examples type-check (strict)${tscOutput ? `:\n${tscOutput}` : ''}`,
  );
  check(
    counts.notRunnable <= MAX_NOT_RUNNABLE,
    `at most ${MAX_NOT_RUNNABLE} README examples marked not-runnable (${counts.notRunnable}: ${notRunnable.join(', ') || 'none'})`,
  );
  return counts;
}
