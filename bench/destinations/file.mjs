// File destination throughput beside baselines measured in the same run.
//
// 1. MB/s of NDJSON: 200k records (~27 MB) in batches of 10 000, in both modes — `batch` (one
//    atomic file per batch) and `append` (appends in place with fdatasync and a committed-length
//    state file, rotated at 64 MiB) — beside a raw fs write stream of the same JSON lines (no
//    fsync). 5 rounds interleaved, the median of each.
// 2. Append mode, records/s, at 500 records a batch (the router's default; 50k records) and at
//    10 000 (200k records), beside the competing approach at its best: the same JSON lines
//    appended with `FileHandle.appendFile` to one open file, with one fdatasync per batch (no state
//    file, no idempotency, no repair). `before_per_s` is the strategy append mode had before
//    (issue 19), rebuilt here from plain fs calls: copy the file, add the piece, fsync, rename,
//    fsync the folder, then a sha256 of the piece and its JSON state of 256 digests written the
//    same atomic way. 5 rounds, the three interleaved, the median of each.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { copyFile, mkdir, open as openFile, rename } from 'node:fs/promises';
import { createHash } from 'node:crypto';
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

function ndjson(start, end) {
  let chunk = '';
  for (let i = start; i < end; i++) chunk += `${JSON.stringify(records[i])}\n`;
  return chunk;
}

async function writeStreamBaseline() {
  const t0 = performance.now();
  const stream = createWriteStream(join(dir, 'baseline.ndjson'));
  for (let start = 0; start < RECORDS; start += BATCH) {
    if (!stream.write(ndjson(start, start + BATCH))) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
  return (performance.now() - t0) / 1000;
}

/** Raw appendFile + one fdatasync per batch to one open file: the same bytes, nothing else. */
async function appendBaseline(batch, name, total = RECORDS) {
  const file = await openFile(join(dir, name), 'a');
  const t0 = performance.now();
  try {
    for (let start = 0; start < total; start += batch) {
      await file.appendFile(ndjson(start, Math.min(total, start + batch)));
      await file.datasync();
    }
  } finally {
    await file.close();
  }
  return (performance.now() - t0) / 1000;
}

/** The copy-on-write append that append mode used before (see the header). */
async function copyingAppend(batch, total, name) {
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true });
  const file = join(folder, 'sessions.ndjson');
  const folderHandle = await openFile(folder, 'r');
  let digests = [];
  const atomically = async (target, fill) => {
    const temp = `${target}.tmp`;
    const handle = await fill(temp);
    await handle.sync();
    await handle.close();
    await rename(temp, target);
    await folderHandle.sync();
  };
  const t0 = performance.now();
  for (let start = 0, n = 0; start < total; start += batch, n++) {
    const body = ndjson(start, Math.min(total, start + batch));
    const digest = createHash('sha256')
      .update(`bench-${n}`)
      .update('\0')
      .update(body)
      .digest('base64url');
    if (digests.includes(digest)) continue;
    await atomically(file, async (temp) => {
      if (n > 0) await copyFile(file, temp);
      const handle = await openFile(temp, n > 0 ? 'r+' : 'w');
      const { size } = await handle.stat();
      await handle.write(body, size);
      return handle;
    });
    digests = [...digests, digest].slice(-256);
    await atomically(join(folder, '.sessions.ndjson.sluice.json'), async (temp) => {
      const handle = await openFile(temp, 'w');
      await handle.writeFile(JSON.stringify({ createdAt: Date.now(), digests }));
      return handle;
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  await folderHandle.close();
  return seconds;
}

async function destination(mode, batch, name, total = RECORDS) {
  const config = parseConfig(fileDestination.configSchema, {
    root: join(dir, name),
    path: 'out/sessions.ndjson',
    mode,
    maxBatch: batch,
    ...(mode === 'append' ? { rotate: { maxBytes: 64 * 1048576 } } : {}),
  });
  const instance = await fileDestination.create(config, createPluginContext());
  await instance.open?.();
  const signal = new AbortController().signal;
  const t0 = performance.now();
  for (let start = 0, n = 0; start < total; start += batch, n++) {
    await instance.write(
      {
        id: `bench-${name}-${n}`,
        records: records.slice(start, start + batch),
        pipeline: 'bench',
        runId: 'r',
        source: 's',
        attempt: 1,
      },
      { signal },
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  await instance.close();
  return seconds;
}

const rss = () => Math.round(process.memoryUsage().rss / 1048576);

try {
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  await writeStreamBaseline(); // warm-up: JIT and page cache
  // 5 rounds, the baseline and both modes interleaved, the median of each (the machine is shared).
  const mbTimes = { baseline: [], batch: [], append: [] };
  for (let round = 0; round < 5; round++) {
    mbTimes.baseline.push(await writeStreamBaseline());
    for (const mode of ['batch', 'append']) {
      mbTimes[mode].push(await destination(mode, BATCH, `${mode}-mb-${round}`));
      rmSync(join(dir, `${mode}-mb-${round}`), { recursive: true, force: true });
    }
  }
  const base = mb / median(mbTimes.baseline);
  for (const mode of ['batch', 'append']) {
    const rate = mb / median(mbTimes[mode]);
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
        rss_mb: rss(),
      }),
    );
  }
  for (const [batch, total] of [
    [500, 50_000],
    [BATCH, RECORDS],
  ]) {
    await appendBaseline(batch, `warm-${batch}.ndjson`, total);
    const times = { figure: [], baseline: [], before: [] };
    for (let round = 0; round < 5; round++) {
      times.figure.push(await destination('append', batch, `append-${batch}-${round}`, total));
      times.baseline.push(await appendBaseline(batch, `raw-${batch}-${round}.ndjson`, total));
      times.before.push(await copyingAppend(batch, total, `copying-${batch}-${round}`));
      rmSync(join(dir, `copying-${batch}-${round}`), { recursive: true, force: true });
    }
    const figure = median(times.figure);
    const baseline = median(times.baseline);
    const before = median(times.before);
    console.log(
      JSON.stringify({
        bench: `destinations.file.ndjson.append.batch_${batch}`,
        records: total,
        batch,
        appends: Math.ceil(total / batch),
        records_per_s: Math.round(total / figure),
        baseline: 'raw FileHandle.appendFile + fdatasync per batch',
        baseline_per_s: Math.round(total / baseline),
        ratio: Number((baseline / figure).toFixed(3)),
        before_per_s: Math.round(total / before),
        speedup_vs_before: Number((before / figure).toFixed(2)),
        rss_mb: rss(),
      }),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
