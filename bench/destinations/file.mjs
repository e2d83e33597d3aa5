// File destination NDJSON throughput (MB/s) beside a raw fs write stream of the same bytes in the
// same run. 200k records (~30 MB of NDJSON) in batches of 10 000, in both modes: `batch` (one
// atomic file per batch) and `append` (crash-safe copy-on-write appends to one file, rotated at
// 64 MiB). The baseline JSON.stringify-s the same records into a plain write stream (no fsync).
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPluginContext, parseConfig } from '@sluice/core';
import { fileDestination } from '@sluice/destinations-file';

const RECORDS = 200_000;
const BATCH = 10_000;
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-file-'));

const records = Array.from({ length: RECORDS }, (_, i) => ({
  id: i,
  date: '2026-11-24',
  channel: ['email', 'web', 'social', 'paid'][i % 4],
  campaign: `campaign-${i % 997}`,
  sessions: (i * 7) % 10_000,
  revenue: (i % 1000) * 3.25,
  bounce_rate: (i % 100) / 100,
  active: i % 3 === 0,
}));
const bytes = records.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)) + 1, 0);
const mb = bytes / 1048576;

async function baseline() {
  const t0 = performance.now();
  const stream = createWriteStream(join(dir, 'baseline.ndjson'));
  for (let start = 0; start < RECORDS; start += BATCH) {
    let chunk = '';
    for (let i = start; i < start + BATCH; i++) chunk += `${JSON.stringify(records[i])}\n`;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
  return mb / ((performance.now() - t0) / 1000);
}

async function destination(mode) {
  const config = parseConfig(fileDestination.configSchema, {
    root: join(dir, mode),
    path: 'out/{{date}}/sessions.ndjson',
    mode,
    maxBatch: BATCH,
    ...(mode === 'append' ? { rotate: { maxBytes: 64 * 1048576 } } : {}),
  });
  const instance = await fileDestination.create(config, createPluginContext());
  const signal = new AbortController().signal;
  const t0 = performance.now();
  for (let start = 0, n = 0; start < RECORDS; start += BATCH, n++) {
    await instance.write(
      { id: `bench-${n}`, records: records.slice(start, start + BATCH), pipeline: 'bench', runId: 'r', source: 's', attempt: 1 },
      { signal },
    );
  }
  const rate = mb / ((performance.now() - t0) / 1000);
  await instance.close();
  return rate;
}

try {
  await baseline(); // warm-up: JIT and page cache
  const base = await baseline();
  for (const mode of ['batch', 'append']) {
    const rate = await destination(mode);
    console.log(
      JSON.stringify({
        bench: `destinations.file.ndjson.${mode}`,
        records: RECORDS,
        batch: BATCH,
        mb: Number(mb.toFixed(1)),
        mb_per_s: Number(rate.toFixed(1)),
        baseline: 'raw fs write stream',
        baseline_mb_per_s: Number(base.toFixed(1)),
        ratio: Number((rate / base).toFixed(3)),
        rss_mb: Math.round(process.memoryUsage().rss / 1048576),
      }),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
