// Issue 13, point 6: the file destination never follows a symbolic link inside its root. Drives
// the REAL server process (built `apps/server/dist/cli.js serve`, PGlite store in a temp folder)
// with four file destinations whose roots hold links a config author or a local user planted:
// a folder the path template names (`{{channel}}` = email) linked to an outside folder, the
// appended file symlinked to a file outside, the appended file hard-linked to that file, and a
// static folder linked outside on a route that fails the run. The records aimed at a link are dead-lettered (or fail the run) with a reason
// naming the path and the link; the others are written; the outside folder stays exactly as it
// was (no new entry, the linked file's bytes and mtime unchanged) and no byte of it is copied
// into a root.
import {
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  listDeadLetters,
  startServer,
  tempDir,
  triggerRun,
  waitForRun,
  writeConfig,
  type ServerProcess,
} from '../e2e/harness.js';

const ADMIN = 'file-links-admin-key-0123456789';
const SECRET = '{"secret":"outside-the-root-7f3a9c"}\n';

let server: ServerProcess | undefined;
let dir: string;
let outside: string;
let victim: string;
const roots = { channels: '', appended: '', folder: '', hardlinked: '' };

/** Every entry under `at`, relative, links not followed. */
function everything(at: string): string[] {
  const out: string[] = [];
  const walk = (folder: string, prefix: string) => {
    for (const name of readdirSync(folder).sort()) {
      out.push(prefix + name);
      if (lstatSync(join(folder, name)).isDirectory())
        walk(join(folder, name), `${prefix}${name}/`);
    }
  };
  walk(at, '');
  return out;
}

/** The text of every regular file under `at` (links not followed). */
function textUnder(at: string): string {
  return everything(at)
    .filter((rel) => lstatSync(join(at, rel)).isFile())
    .map((rel) => readFileSync(join(at, rel), 'utf8'))
    .join('');
}

const fingerprint = () => {
  const stats = lstatSync(victim);
  return { bytes: readFileSync(victim, 'utf8'), mtimeMs: stats.mtimeMs, ino: stats.ino };
};
let before: ReturnType<typeof fingerprint>;
const tally = { deadLettered: 0, delivered: 0, failedRuns: 0 };

beforeAll(async () => {
  dir = tempDir('file-links');
  mkdirSync(join(dir, 'outside'));
  outside = realpathSync(join(dir, 'outside'));
  victim = join(outside, 'victim.ndjson');
  writeFileSync(victim, SECRET);
  utimesSync(victim, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
  before = fingerprint();
  for (const name of Object.keys(roots) as (keyof typeof roots)[]) {
    mkdirSync(join(dir, `root-${name}`));
    // Messages name the real root (the temp folder may itself be under a link, e.g. macOS /tmp).
    roots[name] = realpathSync(join(dir, `root-${name}`));
  }
  symlinkSync(outside, join(roots.channels, 'email'));
  symlinkSync(victim, join(roots.appended, 'all.ndjson'));
  symlinkSync(outside, join(roots.folder, 'linked'));
  linkSync(victim, join(roots.hardlinked, 'all.ndjson'));
  const config = writeConfig(
    dir,
    `
store:
  dataDir: ${join(dir, 'data')}
server:
  apiKeys:
    - { name: admin, key: ${ADMIN}, scopes: [admin] }
destinations:
  channels:
    kind: file
    root: ${roots.channels}
    path: '{{channel}}/{{batch.id}}.ndjson'
    retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 }
  appended:
    kind: file
    root: ${roots.appended}
    path: all.ndjson
    mode: append
    retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 }
  folder:
    kind: file
    root: ${roots.folder}
    path: 'linked/{{date}}/{{batch.id}}.ndjson'
    retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 }
  hardlinked:
    kind: file
    root: ${roots.hardlinked}
    path: all.ndjson
    mode: append
    retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 }
pipelines:
  by-channel:
    source: { kind: sample, channels: [organic, email], perRun: 40, pageSize: 20 }
    routes:
      - { name: all, to: [channels] }
  appending:
    source: { kind: sample, perRun: 10, pageSize: 10 }
    routes:
      - { name: all, to: [appended] }
  appending-hardlinked:
    source: { kind: sample, perRun: 10, pageSize: 10 }
    routes:
      - { name: all, to: [hardlinked] }
  fail-on-link:
    source: { kind: sample, perRun: 5, pageSize: 5 }
    routes:
      - { name: all, to: [folder], onError: fail-run }
`,
  );
  server = await startServer({ config, adminKey: ADMIN });
});

afterAll(async () => {
  console.log(
    JSON.stringify({
      fileSymlinks: {
        ...tally,
        outsideEntries: everything(outside).length - 1,
        victimUnchanged: fingerprint().mtimeMs === before.mtimeMs,
      },
    }),
  );
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('file destination with links in its root (real server)', () => {
  it('dead-letters the records whose folder is a link, writes the others, and writes nothing outside', async () => {
    const run = await waitForRun(server!, await triggerRun(server!, 'by-channel'));
    const letters = await listDeadLetters(server!, { pipeline: 'by-channel', runId: run.id });
    expect(run.status).toBe('succeeded');
    expect(letters.length).toBeGreaterThan(0);
    expect(letters.every((l) => l.record.channel === 'email')).toBe(true);
    expect(run.counts.deadLettered).toBe(letters.length);
    expect(run.counts.delivered).toBe(40 - letters.length);
    tally.deadLettered += letters.length;
    tally.delivered += run.counts.delivered ?? 0;
    for (const letter of letters as unknown as {
      error: { code?: string; message: string };
      attempts: number;
    }[]) {
      expect(letter.error.code).toBe('SLUICE_ERR_FATAL');
      expect(letter.error.message).toContain(
        `"email" under ${roots.channels} is a symbolic link (to ${outside})`,
      );
      // Refused at once: a link is not an outage, so it is not retried.
      expect(letter.attempts).toBe(1);
    }
    expect(
      everything(roots.channels).filter((f) => f.startsWith('organic/')).length,
    ).toBeGreaterThan(0);
    expect(everything(outside)).toEqual(['victim.ndjson']);
    expect(fingerprint()).toEqual(before);
  });

  it('dead-letters appends to a linked file without changing it or copying it into the root', async () => {
    const run = await waitForRun(server!, await triggerRun(server!, 'appending'));
    const letters = await listDeadLetters(server!, { pipeline: 'appending', runId: run.id });
    expect(run.status).toBe('succeeded');
    expect(letters).toHaveLength(10);
    tally.deadLettered += letters.length;
    for (const letter of letters as unknown as { error: { message: string } }[]) {
      expect(letter.error.message).toContain(
        `refusing to write all.ndjson: "all.ndjson" under ${roots.appended} is a symbolic link (to ${victim})`,
      );
    }
    expect(fingerprint()).toEqual(before);
    expect(lstatSync(join(roots.appended, 'all.ndjson')).isSymbolicLink()).toBe(true);
    expect(textUnder(roots.appended)).not.toContain('outside-the-root');
    expect(everything(outside)).toEqual(['victim.ndjson']);
  });

  it('dead-letters appends to a file hard-linked to one outside, without reading it into the root', async () => {
    const run = await waitForRun(server!, await triggerRun(server!, 'appending-hardlinked'));
    const letters = await listDeadLetters(server!, {
      pipeline: 'appending-hardlinked',
      runId: run.id,
    });
    expect(run.status).toBe('succeeded');
    expect(letters).toHaveLength(10);
    tally.deadLettered += letters.length;
    for (const letter of letters as unknown as { error: { message: string } }[]) {
      expect(letter.error.message).toContain(
        `"all.ndjson" under ${roots.hardlinked} has 2 hard links`,
      );
    }
    expect(fingerprint()).toEqual(before);
    // Only the planted name: no copy, no temporary file, no state file.
    expect(everything(roots.hardlinked)).toEqual(['all.ndjson']);
  });

  it('fails a fail-run route with the reason naming the linked folder, writing nothing outside', async () => {
    const run = await waitForRun(server!, await triggerRun(server!, 'fail-on-link'));
    expect(run.status).toBe('failed');
    tally.failedRuns++;
    expect(run.error?.message).toContain(
      `"linked" under ${roots.folder} is a symbolic link (to ${outside})`,
    );
    expect(everything(outside)).toEqual(['victim.ndjson']);
    expect(fingerprint()).toEqual(before);
  });
});
