// Append mode without copying, effectively once (issues 18 and 19): a piece is appended in place
// and committed in the state file; a repeat is skipped; bytes beyond the committed length (a
// crash mid-append) are cut on the next append and when the destination opens. Real files in a
// temporary folder; crashes simulated by extending and cutting files, and by kill -9 of a child
// process that appends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  PartialBatchError,
  createPluginContext,
  parseConfig,
  type Batch,
  type Clock,
  type SluiceRecord,
} from '@sluice/core';
import { makeBatch } from '@sluice/testing';
import { fileDestination } from './destination.js';
import type { FileConfig } from './config.js';
import { batchOf, PER_BATCH } from './__fixtures__/append-batches.js';
import {
  parseAppendState,
  readAppendState,
  STATE_SLOT_BYTES,
  writeAppendState,
} from './append-state.js';
import { confineTo } from './confined-root.js';

let base: string;
let counter = 0;
const signal = () => new AbortController().signal;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'sluice-dest-file-append-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

function configOf(raw: Record<string, unknown>): FileConfig {
  return parseConfig(fileDestination.configSchema, {
    root: join(base, `root-${++counter}`),
    mode: 'append',
    ...raw,
  }) as FileConfig;
}

async function open(config: FileConfig, clock?: Clock) {
  const instance = await fileDestination.create(
    config,
    createPluginContext(clock ? { clock } : {}),
  );
  await instance.open!();
  return instance;
}

/** A batch as the router builds it: record keys from the source position. */
function routed(
  id: string,
  records: SluiceRecord[],
  firstSeq: number,
  overrides: Partial<Batch> = {},
): Batch {
  return makeBatch(records, {
    id,
    recordKeys: records.map(
      (_, i) => `p-d-run-0000000000-r${String(firstSeq + i).padStart(6, '0')}`,
    ),
    ...overrides,
  });
}

const lines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SluiceRecord);
const state = (file: string) =>
  parseAppendState(readFileSync(join(file, '..', `.${file.split('/').pop()!}.sluice.json`)))!;

describe('file destination, append mode', () => {
  it('appends in place and skips a repeat of a batch, also from a new instance (a take-over)', async () => {
    const config = configOf({ path: 'out/data.ndjson' });
    const file = join(config.root, 'out/data.ndjson');
    const first = await open(config);
    const b1 = routed('b-000000', [{ a: 1 }, { a: 2 }], 0);
    const b2 = routed('b-000002', [{ a: 3 }], 2);
    await first.write(b1, { signal: signal() });
    const inode = statSync(file).ino;
    await first.write(b2, { signal: signal() });
    await first.write({ ...b1, attempt: 2 }, { signal: signal() });
    // Extended in place, not copied and renamed.
    expect(statSync(file).ino).toBe(inode);
    const takeOver = await open(config);
    await takeOver.write(b1, { signal: signal() });
    await takeOver.write(b2, { signal: signal() });
    await takeOver.write(routed('b-000003', [{ a: 4 }], 3), { signal: signal() });
    expect(lines(readFileSync(file, 'utf8'))).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }]);
    expect(state(file).length).toBe(statSync(file).size);
    expect(state(file).keys).toEqual([
      'p-d-run-0000000000-r000000+2',
      'p-d-run-0000000000-r000002+1',
      'p-d-run-0000000000-r000003+1',
    ]);
    expect(readdirSync(join(config.root, 'out')).sort()).toEqual([
      '.data.ndjson.sluice.json',
      'data.ndjson',
    ]);
  });

  it('cuts a torn tail beyond the committed length on the next append', async () => {
    const config = configOf({ path: 'data.ndjson' });
    const file = join(config.root, 'data.ndjson');
    const instance = await open(config);
    await instance.write(routed('b-0', [{ a: 1 }], 0), { signal: signal() });
    // What a kill during the next append leaves: part of a piece that was never acknowledged.
    appendFileSync(file, '{"a":2}\n{"a":');
    await instance.write(routed('b-1', [{ a: 2 }, { a: 3 }], 1), { signal: signal() });
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"a":2}\n{"a":3}\n');
  });

  it('cuts a torn tail when it opens, for a file no later batch appends to', async () => {
    const config = configOf({ path: 'day/data.ndjson' });
    const file = join(config.root, 'day/data.ndjson');
    await (await open(config)).write(routed('b-0', [{ a: 1 }], 0), { signal: signal() });
    appendFileSync(file, '{"a":2}\n{"a"');
    await open(config);
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n');
  });

  it('repairs a JSON array whose closing bracket an interrupted append overwrote', async () => {
    const config = configOf({ path: 'data.json', format: 'json' });
    const file = join(config.root, 'data.json');
    const instance = await open(config);
    await instance.write(routed('b-0', [{ a: 1 }], 0), { signal: signal() });
    const committed = readFileSync(file, 'utf8');
    // The next piece overwrites `\n]\n` with `,\n{…}\n]\n`; killed halfway through.
    truncateSync(file, committed.length - 3);
    appendFileSync(file, ',\n{"a":');
    await open(config);
    expect(readFileSync(file, 'utf8')).toBe(committed);
    // Killed after just two bytes: the file is as long as before, but its ending is gone.
    truncateSync(file, committed.length - 3);
    appendFileSync(file, ',\n ');
    await instance.write(routed('b-1', [{ a: 2 }], 1), { signal: signal() });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('appends gzip members and cuts a torn member', async () => {
    const config = configOf({ path: 'data.ndjson.gz', gzip: true });
    const file = join(config.root, 'data.ndjson.gz');
    const instance = await open(config);
    await instance.write(routed('b-0', [{ a: 1 }], 0), { signal: signal() });
    await instance.write(routed('b-1', [{ a: 2 }], 1), { signal: signal() });
    const torn = gzipSync('{"a":3}\n');
    appendFileSync(file, torn.subarray(0, torn.length - 5));
    await instance.write(routed('b-2', [{ a: 3 }, { a: 4 }], 2), { signal: signal() });
    await instance.write(routed('b-1', [{ a: 2 }], 1), { signal: signal() });
    expect(lines(gunzipSync(readFileSync(file)).toString('utf8'))).toEqual([
      { a: 1 },
      { a: 2 },
      { a: 3 },
      { a: 4 },
    ]);
  });

  it('gzip JSON: appends members before the closing member, and repairs it', async () => {
    const config = configOf({ path: 'data.json.gz', format: 'json', gzip: true });
    const file = join(config.root, 'data.json.gz');
    const instance = await open(config);
    await instance.write(routed('b-0', [{ a: 1 }], 0), { signal: signal() });
    const ending = gzipSync('\n]\n');
    const committed = readFileSync(file);
    truncateSync(file, committed.length - ending.length);
    appendFileSync(file, gzipSync(',\n{"a":9}').subarray(0, 10));
    await instance.write(routed('b-1', [{ a: 2 }], 1), { signal: signal() });
    expect(JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'))).toEqual([
      { a: 1 },
      { a: 2 },
    ]);
  });

  it('reads the previous state when a crash tore the write of the newest one', async () => {
    const config = configOf({ path: 'data.ndjson' });
    const file = join(config.root, 'data.ndjson');
    const statePath = join(config.root, '.data.ndjson.sluice.json');
    const instance = await open(config);
    await instance.write(routed('b-0', [{ a: 1 }], 0), { signal: signal() });
    await instance.write(routed('b-1', [{ a: 2 }], 1), { signal: signal() });
    const newest = state(file);
    expect(newest.length).toBe(statSync(file).size);
    // Garble the newest slot, as a write cut short by a crash would.
    const bytes = readFileSync(statePath);
    const at = (newest.seq % 2) * STATE_SLOT_BYTES + 20;
    bytes[at] = bytes[at] === 0x30 ? 0x31 : 0x30;
    writeFileSync(statePath, bytes);
    expect(state(file)).toMatchObject({ seq: newest.seq - 1, length: '{"a":1}\n'.length });
    // b-1 was never acknowledged: the take-over cuts its bytes and sends it again, once.
    const takeOver = await open(config);
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n');
    await takeOver.write(routed('b-1', [{ a: 2 }], 1), { signal: signal() });
    await takeOver.write(routed('b-0', [{ a: 1 }], 0), { signal: signal() });
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
  });

  it('reads a state file of the earlier format (one JSON text) and takes its file as it is', async () => {
    const config = configOf({ path: 'data.ndjson', rotate: { maxAgeMs: 60_000 } });
    mkdirSync(config.root, { recursive: true });
    writeFileSync(join(config.root, 'data.ndjson'), '{"a":0}\n');
    writeFileSync(
      join(config.root, '.data.ndjson.sluice.json'),
      JSON.stringify({ createdAt: Date.now(), digests: ['old'] }),
    );
    const instance = await open(config);
    await instance.write(routed('b-1', [{ a: 1 }], 1), { signal: signal() });
    expect(readFileSync(join(config.root, 'data.ndjson'), 'utf8')).toBe('{"a":0}\n{"a":1}\n');
  });

  it('keeps the newest keys that fit a state slot when long keys would overflow it', async () => {
    const root = join(base, `root-${++counter}`);
    const folder = await confineTo(root).openFolder('');
    try {
      const keys = Array.from(
        { length: 256 },
        (_, i) => `${String(i).padStart(3, '0')}-${'k'.repeat(500)}`,
      );
      await writeAppendState(folder, 'big.ndjson', {
        createdAt: 1,
        file: '1:1',
        length: 10,
        keys,
        seq: 1,
      });
      const read = await readAppendState(folder, 'big.ndjson');
      expect(read).toMatchObject({ seq: 1, length: 10 });
      expect(read!.keys.length).toBeGreaterThan(64);
      expect(read!.keys.length).toBeLessThan(256);
      expect(read!.keys).toEqual(keys.slice(-read!.keys.length));
      expect(statSync(join(root, '.big.ndjson.sluice.json')).size).toBeLessThanOrEqual(
        2 * STATE_SLOT_BYTES,
      );
    } finally {
      await folder.close();
    }
  });

  it('refills a new file a crash interrupted before its first piece was committed', async () => {
    const config = configOf({ path: 'data.csv', format: 'csv', csv: { columns: ['a'] } });
    const file = join(config.root, 'data.csv');
    const instance = await open(config);
    await instance.write(routed('b-0', [{ a: 1 }], 0), { signal: signal() });
    // The state says "this file, 0 bytes committed": what the start of a new file records first.
    const statePath = join(config.root, '.data.csv.sluice.json');
    const recorded = parseAppendState(readFileSync(statePath))!;
    writeFileSync(statePath, JSON.stringify({ ...recorded, length: 0, keys: [] }));
    await instance.write(routed('b-0', [{ a: 1 }], 0), { signal: signal() });
    expect(readFileSync(file, 'utf8')).toBe('a\n1\n');
  });

  it('rotates by size, and a repeat after a rotation is still skipped', async () => {
    const config = configOf({ path: 'out/log.ndjson', rotate: { maxBytes: 40 } });
    const instance = await open(config);
    const batches = [0, 1, 2, 3, 4].map((i) => routed(`b-${i}`, [{ i, pad: 'xxxxxxxx' }], i));
    for (const batch of batches) await instance.write(batch, { signal: signal() });
    for (const batch of batches)
      await instance.write({ ...batch, attempt: 2 }, { signal: signal() });
    const names = readdirSync(join(config.root, 'out')).filter((n) => !n.startsWith('.'));
    expect(names.length).toBeGreaterThan(1);
    const all = names.flatMap((n) => lines(readFileSync(join(config.root, 'out', n), 'utf8')));
    expect(all.map((r) => r.i).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('cuts a torn tail before rotating by age, so the rotated file holds committed pieces only', async () => {
    let now = Date.UTC(2026, 0, 1);
    const clock: Clock = { now: () => now, sleep: async () => {} };
    const config = configOf({ path: 'log.ndjson', rotate: { maxAgeMs: 60_000 } });
    const instance = await open(config, clock);
    await instance.write(routed('b-0', [{ i: 1 }], 0), { signal: signal() });
    appendFileSync(join(config.root, 'log.ndjson'), '{"i":2}\n');
    now += 61_000;
    await instance.write(routed('b-1', [{ i: 2 }], 1), { signal: signal() });
    expect(readFileSync(join(config.root, 'log.20260101T000000000Z.ndjson'), 'utf8')).toBe(
      '{"i":1}\n',
    );
    expect(readFileSync(join(config.root, 'log.ndjson'), 'utf8')).toBe('{"i":2}\n');
  });

  it('takes a file it has no state for as it is, and a file replaced by hand as a new one', async () => {
    const config = configOf({ path: 'data.ndjson' });
    const file = join(config.root, 'data.ndjson');
    mkdirSync(config.root, { recursive: true });
    writeFileSync(file, '{"old":true}\n');
    const instance = await open(config);
    await instance.write(routed('b-0', [{ a: 1 }], 0), { signal: signal() });
    expect(readFileSync(file, 'utf8')).toBe('{"old":true}\n{"a":1}\n');
    // Replaced (another inode: written beside it and renamed over it): the state's committed length is not applied to it.
    writeFileSync(`${file}.new`, '{"by":"hand"}\n{"more":1}\n');
    renameSync(`${file}.new`, file);
    await instance.write(routed('b-1', [{ a: 2 }], 1), { signal: signal() });
    expect(readFileSync(file, 'utf8')).toBe('{"by":"hand"}\n{"more":1}\n{"a":2}\n');
  });

  it('a partial retry followed by a take-over repeats nothing: pieces are keyed by record position', async () => {
    const config = configOf({ path: '{{group}}.ndjson' });
    const instance = await open(config);
    const records = [
      { group: 'a', n: 1 },
      { group: 'b', n: 2 },
      { group: 'a', n: 3 },
    ];
    const batch = routed('b-000000', records, 0);
    // b.ndjson cannot be written (a folder in its place): only group a lands.
    mkdirSync(join(config.root, 'b.ndjson'), { recursive: true });
    const err = await instance.write(batch, { signal: signal() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartialBatchError);
    expect((err as PartialBatchError).failed).toEqual([1]);
    rmSync(join(config.root, 'b.ndjson'), { recursive: true });
    // The router's partial retry: the failed record only, under a derived id.
    await instance.write(
      makeBatch([records[1]!], { id: 'b-000000-r2', recordKeys: [batch.recordKeys![1]!] }),
      { signal: signal() },
    );
    // A take-over re-reads the page and re-sends the first batch whole.
    await (await open(config)).write(batch, { signal: signal() });
    expect(lines(readFileSync(join(config.root, 'a.ndjson'), 'utf8'))).toEqual([
      records[0],
      records[2],
    ]);
    expect(lines(readFileSync(join(config.root, 'b.ndjson'), 'utf8'))).toEqual([records[1]]);
  });
});

describe('file destination, batches that mix routes', () => {
  for (const mode of ['append', 'batch'] as const) {
    it(`${mode} mode: {{route}} puts each record in its own route's file`, async () => {
      const config = configOf({
        path: mode === 'batch' ? '{{route}}/{{batch.id}}.ndjson' : '{{route}}.ndjson',
        mode,
      });
      const instance = await open(config);
      const records = [{ n: 1 }, { n: 1 }, { n: 2 }, { n: 3 }];
      await instance.write(
        makeBatch(records, { id: 'mixed', route: undefined, routes: ['web', 'all', 'all', 'web'] }),
        { signal: signal() },
      );
      const read = (route: string) =>
        lines(
          readFileSync(
            join(config.root, mode === 'batch' ? `${route}/mixed.ndjson` : `${route}.ndjson`),
            'utf8',
          ),
        );
      expect(read('web')).toEqual([{ n: 1 }, { n: 3 }]);
      expect(read('all')).toEqual([{ n: 1 }, { n: 2 }]);
      expect(
        readdirSync(config.root)
          .filter((n) => !n.startsWith('.'))
          .sort(),
      ).toEqual(mode === 'batch' ? ['all', 'web'] : ['all.ndjson', 'web.ndjson']);
    });
  }

  it('a template without {{route}} keeps one file for a mixed batch', async () => {
    const config = configOf({ path: 'all.ndjson' });
    const instance = await open(config);
    await instance.write(
      makeBatch([{ n: 1 }, { n: 2 }], { route: undefined, routes: ['a', 'b'] }),
      { signal: signal() },
    );
    expect(lines(readFileSync(join(config.root, 'all.ndjson'), 'utf8'))).toEqual([
      { n: 1 },
      { n: 2 },
    ]);
  });
});

describe('file destination capabilities', () => {
  it("declares idempotency 'batch' in both modes, except for paths with the write date", () => {
    const caps = (raw: Record<string, unknown>) => {
      const config = parseConfig(fileDestination.configSchema, { root: base, ...raw });
      return typeof fileDestination.capabilities === 'function'
        ? fileDestination.capabilities(config)
        : fileDestination.capabilities;
    };
    expect(caps({ path: '{{batch.id}}.ndjson' })).toMatchObject({
      idempotent: true,
      idempotency: 'batch',
    });
    expect(caps({ path: 'out/{{record.date}}/log.ndjson', mode: 'append' })).toMatchObject({
      idempotent: true,
      idempotency: 'batch',
    });
    expect(caps({ path: 'out/{{date}}/{{batch.id}}.ndjson' }).idempotency).toBeUndefined();
    expect(caps({ path: 'out/{{ date }}/log.ndjson', mode: 'append' }).idempotency).toBeUndefined();
  });
});

describe('file destination, append mode under kill -9', () => {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const BATCHES = 60;

  /** Runs the appending child until it acknowledged `killAfter` batches (plus a moment), then kills it. */
  async function appendUntilKilled(config: FileConfig, killAfter: number): Promise<number> {
    const child = spawn(
      process.execPath,
      [
        '--experimental-transform-types',
        '--conditions=@sluice/source',
        '--import',
        join(here, '__fixtures__/ts-hooks.mjs'),
        '--no-warnings',
        join(here, '__fixtures__/append-child.ts'),
        JSON.stringify(config),
        String(BATCHES),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let acked = -1;
    let output = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        for (const match of buffered.matchAll(/ack (\d+)\n/g))
          acked = Math.max(acked, Number(match[1]));
        buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
        if (acked >= killAfter) {
          // 0–6 ms later: often inside the next append (its data written, its state not yet).
          setTimeout(() => {
            child.kill('SIGKILL');
            resolve();
          }, Math.random() * 6);
        }
      });
      void exited.then(() =>
        acked >= killAfter
          ? resolve()
          : reject(new Error(`the appending child exited early:\n${output}`)),
      );
    });
    await exited;
    return acked;
  }

  for (const variant of [
    {
      label: 'ndjson',
      raw: { path: 'out/data.ndjson' },
      read: (b: Buffer) => lines(b.toString('utf8')),
    },
    {
      label: 'json, gzip',
      raw: { path: 'out/data.json.gz', format: 'json', gzip: true },
      read: (b: Buffer) => JSON.parse(gunzipSync(b).toString('utf8')) as SluiceRecord[],
    },
  ]) {
    it(`${variant.label}: every record exactly once after kills and take-overs that resend from a checkpoint`, async () => {
      const config = configOf(variant.raw);
      const file = join(config.root, variant.raw.path);
      let resumeFrom = 0;
      for (const killAfter of [3, 10, 17, 24, 31, 38]) {
        const acked = await appendUntilKilled(config, killAfter);
        expect(acked).toBeGreaterThanOrEqual(killAfter);
        // The take-over resumes at the last checkpoint before what was acknowledged: batches that
        // already landed are sent again (repeats), then the unacknowledged ones.
        const takeOver = await open(config);
        for (let n = resumeFrom; n <= acked + 1 && n < BATCHES; n++)
          await takeOver.write(batchOf(n), { signal: signal() });
        resumeFrom = Math.max(0, acked - 3);
        // The child may have committed a batch or two more than the parent saw acknowledged: the
        // file holds whole batches from the first on, each once, in order, at least up to acked + 1.
        const seqs = variant.read(readFileSync(file)).map((r) => r.seq as number);
        expect(seqs.length % PER_BATCH).toBe(0);
        expect(seqs.length).toBeGreaterThanOrEqual(Math.min(BATCHES, acked + 2) * PER_BATCH);
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
      }
    }, 120_000);
  }
});

describe('append mode: several destinations under one root', () => {
  it("one destination's open never cuts a file another is appending to (the routing bench's ten destinations under one root)", async () => {
    const config = configOf({ path: 'shared.ndjson', format: 'ndjson' });
    const writer = await open(config);
    const records = Array.from({ length: 20_000 }, (_, i) => ({ i, pad: 'x'.repeat(200) }));
    for (let round = 0; round < 5; round++) {
      // A second destination on the same root opens (and repairs) while the first appends.
      const appending = writer.write(routed(`b${round}`, records, round * records.length + 1), {
        signal: signal(),
      });
      const other = await open(
        parseConfig(fileDestination.configSchema, {
          ...config,
          path: 'other.ndjson',
        }) as FileConfig,
      );
      await appending;
      await other.close?.();
    }
    await writer.close?.();
    const text = readFileSync(join(config.root, 'shared.ndjson'), 'utf8');
    expect(lines(text).map((r) => r.i)).toEqual(
      Array.from({ length: 5 }, () => records.map((r) => r.i)).flat(),
    );
  });
});
