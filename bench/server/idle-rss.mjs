#!/usr/bin/env node
// The quick-start server's idle footprint: `sluice serve` with examples/quickstart/sluice.yaml
// (embedded PGlite store, the example pipelines firing every 5 s) in a process of its own, its
// resident set (VmRSS) after it has been up and idle for IDLE_RSS_SETTLE_MS, on a first start (new
// data folder) and on a restart (same folder); beside a bare `new PGlite(dir)` process (the
// PGlite defaults, one query, same settle time) in the same run. Imports nothing of the packages:
// it runs the BUILT server (apps/server/dist/cli.js). Prints one JSON line per figure.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SETTLE_MS = Number(process.env.IDLE_RSS_SETTLE_MS ?? 20_000);
const emit = (line) => process.stdout.write(JSON.stringify(line) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (n, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** VmRSS of a process, in MB (Linux /proc). */
function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return round(kb / 1024);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Spawns `args` in `cwd`, waits until `ready()` holds, lets it settle, returns its RSS, stops it. */
async function measure(args, cwd, ready) {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const deadline = Date.now() + 120_000;
    while (!(await ready().catch(() => false))) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`process did not become ready: ${stderr}`);
      await sleep(200);
    }
    await sleep(SETTLE_MS);
    return rssMb(child.pid);
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(40_000).then(() => child.kill('SIGKILL'))]);
  }
}

const work = mkdtempSync(join(tmpdir(), 'sluice-idle-rss-'));
try {
  // Baseline: PGlite alone, its defaults, a data folder of its own.
  const marker = join(work, 'pglite-ready');
  writeFileSync(
    join(work, 'pglite-alone.mjs'),
    `import { writeFileSync } from 'node:fs';
const { PGlite } = await import(${JSON.stringify(join(root, 'node_modules/@electric-sql/pglite/dist/index.js'))});
const db = new PGlite(process.argv[2]);
await db.query('select 1');
writeFileSync(process.argv[3], 'ready');
setInterval(() => undefined, 1 << 30);
`,
  );
  const pgliteDir = join(work, 'pglite-alone');
  const readyFile = async () => {
    readFileSync(marker);
    return true;
  };
  const baselineFirst = await measure(
    [join(work, 'pglite-alone.mjs'), pgliteDir, marker],
    work,
    readyFile,
  );
  rmSync(marker, { force: true });
  const baselineRestart = await measure(
    [join(work, 'pglite-alone.mjs'), pgliteDir, marker],
    work,
    readyFile,
  );

  // The quick start, copied so its data folder and outputs are this run's own.
  const app = join(work, 'quickstart');
  cpSync(join(root, 'examples/quickstart'), app, { recursive: true });
  const port = await freePort();
  const config = join(app, 'sluice.yaml');
  writeFileSync(config, readFileSync(config, 'utf8').replace(/port: 8080/, `port: ${port}`));
  const healthy = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  const serve = [join(root, 'apps/server/dist/cli.js'), 'serve', '--config', config];
  for (const [start, baseline] of [
    ['first_start', baselineFirst],
    ['restart', baselineRestart],
  ]) {
    const rss = await measure(serve, app, healthy);
    emit({
      bench: 'server.idle_rss',
      figure: start,
      rss_mb: rss,
      baseline: 'bare new PGlite(dir) process, PGlite defaults',
      baseline_rss_mb: baseline,
      ratio: round(rss / baseline, 2),
      settle_ms: SETTLE_MS,
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
