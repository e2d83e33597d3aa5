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
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---- the report ---------------------------------------------------------------------------------

/** PostgreSQL's version, when the local server answers (the suites that need it use it). */
async function postgresVersion() {
  try {
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      connectionString: 'postgres://postgres@127.0.0.1:5432/postgres',
      connectionTimeoutMillis: 2000,
    });
    await client.connect();
    try {
      return (await client.query('SHOW server_version')).rows[0].server_version;
    } finally {
      await client.end();
    }
  } catch {
    return undefined;
  }
}

const fmt = (v) => {
  if (typeof v !== 'number') return typeof v === 'string' ? v : JSON.stringify(v);
  if (Number.isInteger(v)) return Math.abs(v) >= 10_000 ? v.toLocaleString('en-US') : String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3);
};
const cell = (v) => String(v).replaceAll('|', '\\|');
const META = new Set(['suite', 'script', 'bench', 'ratio', 'baseline', 'backend', 'figure']);
const RSS_KEYS = ['peak_rss_mb', 'rss_mb'];

/**
 * Splits one JSON line into the report's columns: the headline figure (the first measured key that
 * has a same-run baseline: `x` beside `baseline_x`, or any `*_per_s` beside `baseline_per_s`),
 * the baseline, the ratio, p50/p99 when it is a latency, the peak RSS, and everything else.
 */
function columnsOf(result) {
  const { suite, script, bench, ratio, baseline, backend, figure: figureName } = result;
  const used = new Set(META);
  const keys = Object.keys(result).filter((k) => !META.has(k) && !k.startsWith('baseline_'));
  let figure = '';
  let base = '';
  const headline = keys.find(
    (k) =>
      typeof result[k] === 'number' &&
      (`baseline_${k}` in result || (k.endsWith('_per_s') && 'baseline_per_s' in result)),
  );
  if (headline && !/^p\d+_ms$/.test(headline)) {
    const baseKey = `baseline_${headline}` in result ? `baseline_${headline}` : 'baseline_per_s';
    figure = `${fmt(result[headline])} ${headline}`;
    base = `${fmt(result[baseKey])}${baseline ? ` (${baseline})` : ''}`;
    used.add(headline).add(baseKey);
  }
  let latency = '';
  if ('p50_ms' in result || 'p99_ms' in result) {
    latency = `${fmt(result.p50_ms)} / ${fmt(result.p99_ms)} ms`;
    used.add('p50_ms').add('p99_ms');
    if ('baseline_p50_ms' in result) {
      latency += ` (baseline ${fmt(result.baseline_p50_ms)} / ${fmt(result.baseline_p99_ms)})`;
      used.add('baseline_p50_ms').add('baseline_p99_ms');
    }
    if (!figure) {
      figure = `p50 ${fmt(result.p50_ms)} ms`;
      base = `p50 ${fmt(result.baseline_p50_ms)} ms${baseline ? ` (${baseline})` : ''}`;
    }
  }
  const rssKey = RSS_KEYS.find((k) => typeof result[k] === 'number');
  if (rssKey) used.add(rssKey);
  if (!base && baseline) base = baseline;
  const details = Object.entries(result)
    .filter(([k]) => !used.has(k))
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(', ');
  const name = [bench ?? script, backend, figureName].filter(Boolean).join(' ');
  return {
    suite,
    name,
    figure,
    base,
    ratio: ratio === undefined ? '' : fmt(ratio),
    latency,
    rss: rssKey ? `${fmt(result[rssKey])} MB` : '',
    details,
  };
}

/** The Markdown report: environment, one row per figure, then one row per script. */
function renderReport({ results, scriptRuns, suites, failed, postgres, seconds }) {
  const rows = results
    .map(columnsOf)
    .map(
      (c) =>
        `| ${[c.suite, c.name, c.figure, c.base, c.ratio, c.latency, c.rss, c.details].map(cell).join(' | ')} |`,
    );
  const scripts = scriptRuns.map(
    (r) =>
      `| ${r.suite}/${r.script} | ${r.seconds.toFixed(1)} s | ${r.peakMb === undefined ? '' : `${r.peakMb.toFixed(0)} MB`} | ${r.status === 0 ? 'ok' : `failed (${r.status})`} |`,
  );
  return [
    '# Benchmark results',
    '',
    `Produced by \`npm run bench\` on ${new Date().toISOString()} in ${(seconds / 60).toFixed(1)} min.`,
    '',
    `- Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${platform()} ${release()}`,
    `- Node.js: ${process.version}`,
    ...(postgres ? [`- PostgreSQL: ${postgres} on 127.0.0.1`] : []),
    `- Suites: ${suites.join(', ')}${failed ? ` (${failed} script(s) failed — see the console output)` : ''}`,
    '',
    'Every figure is printed beside a baseline measured in the same run on the same machine;',
    '`ratio` = figure / baseline. For throughput (…/s) higher is better; for latency, memory and',
    'growth figures lower is better. p50/p99 are given where the figure is a latency; RSS is the',
    "figure's own peak (or current) resident set as the suite measured it.",
    '',
    '| suite | benchmark | figure | baseline (same run) | ratio | p50 / p99 | RSS | details |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    '## Scripts',
    '',
    'Peak RSS of each benchmark process (getrusage maxRSS; the e2e suite reports its server child separately above).',
    '',
    '| script | time | peak RSS | result |',
    '|---|---|---|---|',
    ...scripts,
    '',
  ].join('\n');
}

// ---- the run ------------------------------------------------------------------------------------

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const wanted = args.filter((a) => !a.startsWith('--'));
// A script slower than this is killed and reported as failed (the e2e suite at 1M rows takes a
// few minutes on a 2-core machine).
const SCRIPT_TIMEOUT_MS = Number(process.env.BENCH_SCRIPT_TIMEOUT_MS ?? 15 * 60 * 1000);

const suites = readdirSync(here)
  .filter((d) => statSync(join(here, d)).isDirectory() && d !== 'out')
  .filter((d) => wanted.length === 0 || wanted.includes(d))
  .sort();
for (const w of wanted)
  if (!suites.includes(w)) {
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

// Every script reports its own peak RSS on exit (getrusage maxRSS), so the report has a memory
// figure for every script, not only for the lines that measure one.
const PEAK_MARK = '@@sluice-bench-peak-rss-kb ';
const peakPreload = `data:text/javascript,${encodeURIComponent(
  `process.on('exit', () => process.stdout.write('\\n${PEAK_MARK}' + process.resourceUsage().maxRSS + '\\n'));`,
)}`;

const results = [];
const scriptRuns = [];
let failed = 0;
const benchStarted = Date.now();
for (const suite of suites) {
  const dir = join(here, suite);
  const scripts = readdirSync(dir)
    .filter((f) => f.endsWith('.mjs') && !f.startsWith('_'))
    .sort();
  for (const script of scripts) {
    const started = Date.now();
    console.log(`# ${suite}/${script}`);
    const run = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', peakPreload, join(dir, script)],
      {
        cwd: root,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: SCRIPT_TIMEOUT_MS,
      },
    );
    let peakKb;
    for (const line of (run.stdout ?? '').split('\n')) {
      const text = line.trim();
      if (text.startsWith(PEAK_MARK)) {
        peakKb = Number(text.slice(PEAK_MARK.length));
        continue;
      }
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
    const seconds = (Date.now() - started) / 1000;
    scriptRuns.push({
      suite,
      script,
      seconds,
      peakMb: peakKb === undefined ? undefined : peakKb / 1024,
      status: run.status ?? run.signal ?? run.error?.message,
    });
    if (run.status !== 0) {
      failed++;
      console.error(
        `${suite}/${script} exited with ${run.status ?? run.signal ?? run.error?.message} after ${Math.round(seconds * 1000)} ms`,
      );
    }
  }
}

const postgres = await postgresVersion();
const report = renderReport({
  results,
  scriptRuns,
  suites,
  failed,
  postgres,
  seconds: (Date.now() - benchStarted) / 1000,
});
// Hand-measured sections (e.g. the install footprint) sit below KEPT_MARKER and survive a rewrite.
const KEPT_MARKER = '<!-- bench/run.mjs keeps everything below this line';
const resultsFile = join(here, 'RESULTS.md');
if (wanted.length === 0 || existsSync(resultsFile) === false) {
  const previous = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  const kept = previous.indexOf(KEPT_MARKER);
  writeFileSync(
    resultsFile,
    kept === -1 ? report : `${report.trimEnd()}\n\n${previous.slice(kept)}`,
  );
} else {
  writeFileSync(join(here, 'out-partial.md'), report);
}
// The same table, printed.
console.log('\n' + report);
process.exit(failed ? 1 : 0);
