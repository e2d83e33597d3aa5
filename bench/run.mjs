#!/usr/bin/env node
// Runs the benchmark suites and writes bench/RESULTS.md.
//
//   npm run bench                 # every suite in bench/*/
//   npm run bench -- router       # one suite
//   npm run bench -- --no-build destinations connectors
//
// A suite is a folder of `*.mjs` scripts; each prints one JSON object per line and per figure,
// always with its same-run baseline and `ratio`. This runner passes those lines through,
// collects them, and renders the report. Nothing here asserts timings.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const wanted = args.filter((a) => !a.startsWith('--'));

const suites = readdirSync(here)
  .filter((d) => statSync(join(here, d)).isDirectory() && d !== 'out')
  .filter((d) => wanted.length === 0 || wanted.includes(d))
  .sort();
for (const w of wanted) if (!suites.includes(w)) {
  console.error(`unknown bench suite "${w}"`);
  process.exit(2);
}

if (!noBuild) {
  const build = spawnSync('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NX_DAEMON: 'false' },
  });
  if (build.status !== 0) {
    console.error('build failed; benchmarks import the built packages');
    process.exit(1);
  }
}

const results = [];
let failed = 0;
for (const suite of suites) {
  const dir = join(here, suite);
  const scripts = readdirSync(dir).filter((f) => f.endsWith('.mjs') && !f.startsWith('_')).sort();
  for (const script of scripts) {
    const started = Date.now();
    const run = spawnSync(process.execPath, ['--expose-gc', join(dir, script)], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 10 * 60 * 1000,
    });
    for (const line of run.stdout.split('\n')) {
      const text = line.trim();
      if (!text.startsWith('{')) {
        if (text) console.log(`  ${text}`);
        continue;
      }
      console.log(text);
      try {
        results.push({ suite, script, ...JSON.parse(text) });
      } catch {
        console.error(`${suite}/${script}: not JSON: ${text}`);
      }
    }
    if (run.status !== 0) {
      failed++;
      console.error(`${suite}/${script} exited with ${run.status ?? run.signal} after ${Date.now() - started} ms`);
    }
  }
}

const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : JSON.stringify(v));
const rows = results.map((r) => {
  const { suite, script, bench, ratio, ...rest } = r;
  const figures = Object.entries(rest)
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(', ');
  return `| ${suite} | ${bench ?? script} | ${figures} | ${ratio === undefined ? '' : fmt(ratio)} |`;
});
const report = [
  '# Benchmark results',
  '',
  `Produced by \`npm run bench\` on ${new Date().toISOString()}.`,
  '',
  `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${platform()} ${release()}`,
  `- Node.js: ${process.version}`,
  `- Suites: ${suites.join(', ')}${failed ? ` (${failed} script(s) failed — see the console output)` : ''}`,
  '',
  'Each figure is printed beside a baseline measured in the same run; `ratio` = figure / baseline',
  '(for latencies, baseline / figure, so higher is always better).',
  '',
  '| suite | benchmark | figures | ratio |',
  '|---|---|---|---|',
  ...rows,
  '',
].join('\n');
if (wanted.length === 0 || existsSync(join(here, 'RESULTS.md')) === false) {
  writeFileSync(join(here, 'RESULTS.md'), report);
} else {
  writeFileSync(join(here, 'out-partial.md'), report);
}
console.log('\n' + rows.join('\n'));
process.exit(failed ? 1 : 0);
