// The routing job of issue 19 as a user runs it: `sluice run` (the built CLI, through its bin)
// of a pipeline reading the NDJSON file (a bench-local connector plugin, _ndjson-source.mjs)
// through the 10 rules to 10 append-mode NDJSON files, on an empty PGlite data folder — the whole
// process, start-up and store creation included. Beside it, in the same run: JSON.parse +
// JSON.stringify of the same lines (`routing.cli`). The output files are checked against the
// plain-code oracle before any figure is printed. Also `cli.cold_start`: `sluice run` of a
// one-record pipeline on an empty data folder, and `cli.warm_start`, the same on the folder it
// left, each beside a bare Node process that only opens PGlite on a folder of its own.
// `ROUTING_CLI_RECORDS` (default 200000) sets the record count.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULE_NAMES, baselineRun, checkAgainstOracle, ndjsonChunks, rules } from './_workload.mjs';

const N = Number(process.env.ROUTING_CLI_RECORDS ?? 200_000);
const BATCH = 10_000;
const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
// The bin a user's `sluice` starts (it enables Node's compile cache before loading dist/cli.js).
const cli = join(root, 'apps/server/bin/sluice.js');
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-cli-'));
const round = (n, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/** Runs a command; its wall time and peak RSS (VmHWM, sampled every 20 ms until it exits). */
function measure(command, args, cwd) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let peakKb = 0;
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    const sample = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
      } catch {
        // exited between samples
      }
    }, 20);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(sample);
      const wall = (performance.now() - t0) / 1000;
      if (code !== 0)
        reject(new Error(`${args.join(' ')} exited ${code}:\n${output.slice(-2000)}`));
      else resolve({ wall, rssMb: Math.round(peakKb / 1024) });
    });
  });
}

/** A sluice.yaml (as JSON, which YAML reads) for the routing job. */
function routingConfig(input, out) {
  const destinations = {};
  for (const rule of RULE_NAMES)
    destinations[rule] = {
      kind: 'file',
      root: join(out, rule),
      path: `${rule}.ndjson`,
      mode: 'append',
      maxBatch: BATCH,
      batch: { maxRecords: BATCH, maxWaitMs: 1000 },
    };
  return {
    plugins: [join(root, 'bench/routing/_ndjson-source.mjs')],
    destinations,
    pipelines: {
      routing: {
        source: { kind: 'bench-ndjson-file', path: input, pageSize: 1000 },
        routes: rules('filter'),
      },
    },
  };
}

function oneRecordConfig(out) {
  return {
    destinations: { out: { kind: 'file', root: out, path: 'one.ndjson', mode: 'append' } },
    pipelines: {
      one: { source: { kind: 'sample', total: 1 }, routes: [{ name: 'all', to: ['out'] }] },
    },
  };
}

/** A bare Node process opening PGlite on a new folder (the embedded database alone). */
function barePglite(folder) {
  const script =
    "const { PGlite } = await import('@electric-sql/pglite'); const db = await PGlite.create(process.argv[1]); await db.query('select 1'); await db.close();";
  return measure(
    process.execPath,
    ['--input-type=module', '-e', script, folder],
    join(root, 'packages/store'),
  );
}

try {
  // Start-up: one record, empty data folder, then the same folder again.
  const startDir = join(dir, 'start');
  writeFileSync(join(dir, 'one.yaml'), JSON.stringify(oneRecordConfig(join(dir, 'one-out'))));
  const runOne = ['run', 'one', '--config', join(dir, 'one.yaml'), '--data-dir', startDir];
  const cold = await measure(process.execPath, [cli, ...runOne], dir);
  const warm = await measure(process.execPath, [cli, ...runOne], dir);
  const bareCold = await barePglite(join(dir, 'bare'));
  const bareWarm = await barePglite(join(dir, 'bare'));
  for (const [bench, run, bare] of [
    ['cli.cold_start', cold, bareCold],
    ['cli.warm_start', warm, bareWarm],
  ])
    console.log(
      JSON.stringify({
        bench,
        wall_s: round(run.wall),
        rss_mb: run.rssMb,
        baseline: 'bare node process: PGlite.create on a folder of its own (defaults), one query',
        baseline_wall_s: round(bare.wall),
        baseline_rss_mb: bare.rssMb,
        ratio: round(run.wall / bare.wall, 3),
      }),
    );

  // The routing job, whole process: at N records for the figure, and at 20k and 1M records
  // (ROUTING_CLI_SWEEP=0 skips them) to show whether peak RSS stays flat as the input grows.
  const sizes = process.env.ROUTING_CLI_SWEEP === '0' ? [N] : [...new Set([20_000, N, 1_000_000])];
  const peaks = {};
  for (const n of sizes) {
    const chunks = [...ndjsonChunks(n)];
    const input = join(dir, `input-${n}.ndjson`);
    writeFileSync(input, '');
    for (const chunk of chunks) appendFileSync(input, chunk);
    const out = join(dir, `out-${n}`);
    writeFileSync(join(dir, `routing-${n}.yaml`), JSON.stringify(routingConfig(input, out)));
    const run = await measure(
      process.execPath,
      [
        cli,
        'run',
        'routing',
        '--config',
        join(dir, `routing-${n}.yaml`),
        '--data-dir',
        join(dir, `routing-db-${n}`),
      ],
      dir,
    );
    checkAgainstOracle(chunks, out, `sluice run (${n} records)`);
    rmSync(out, { recursive: true, force: true });
    rmSync(input, { force: true });
    peaks[n] = run.rssMb;
    if (n !== N) continue;
    let baseline = Infinity;
    for (let i = 0; i < 3; i++) baseline = Math.min(baseline, baselineRun(chunks));
    console.log(
      JSON.stringify({
        bench: 'routing.cli',
        records: N,
        records_per_s: Math.round(N / run.wall),
        baseline: 'JSON.parse+JSON.stringify of the same NDJSON lines',
        baseline_per_s: Math.round(N / baseline),
        ratio: round(baseline / run.wall, 3),
        wall_s: round(run.wall),
        rss_mb: run.rssMb,
        jsonpath_rules: '{ filter }',
        data_folder: 'empty (created by the run)',
      }),
    );
  }
  if (sizes.length > 1) {
    const small = peaks[sizes[0]];
    const large = peaks[sizes.at(-1)];
    console.log(
      JSON.stringify({
        bench: 'routing.cli.rss',
        rss_mb: large,
        records: sizes.at(-1),
        baseline: `peak RSS of the same job at ${sizes[0]} records`,
        baseline_rss_mb: small,
        ratio: round(large / small, 3),
        peaks_mb: Object.entries(peaks)
          .map(([n, mb]) => `${n}:${mb}`)
          .join(' '),
      }),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
