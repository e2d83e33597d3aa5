// The store view the engine writes through: error text is redacted before it reaches the
// database, including the log lines a run's outcome carries (the scheduler stores a run's last
// line with its transition, issue 20).
import { createRedactor } from '@sluice/core';
import { createStore, type Store } from '@sluice/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactingStore } from './store-redaction.js';

const SECRET = 'pa55-w0rd-secret';

describe('redactingStore', () => {
  let store: Store;

  beforeAll(async () => {
    store = await createStore({ dataDir: 'memory://' });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
  });

  it("redacts a finished run's error, the log lines given with the outcome and appended lines", async () => {
    const view = redactingStore(store, createRedactor([SECRET]));
    const run = await view.runs.create({ pipeline: 'p', trigger: 'api' });
    await view.runs.markRunning(run.id);
    await view.runs.appendLog(run.id, [
      { level: 'warn', message: `retrying ${SECRET}`, fields: { url: `https://x/${SECRET}` } },
    ]);
    await view.runs.markFinished(run.id, {
      status: 'failed',
      error: { name: 'Error', message: `database "db_${SECRET}" does not exist` },
      log: [
        {
          level: 'error',
          message: 'run failed',
          fields: { err: { message: `database "db_${SECRET}" does not exist` } },
        },
      ],
    });
    const stored = await store.runs.get(run.id);
    expect(stored?.error?.message).toBe('database "db_[redacted]" does not exist');
    const logs = await store.runs.listLogs(run.id);
    expect(JSON.stringify(logs)).not.toContain(SECRET);
    expect(logs.map((l) => [l.message, l.fields])).toEqual([
      ['retrying [redacted]', { url: 'https://x/[redacted]' }],
      ['run failed', { err: { message: 'database "db_[redacted]" does not exist' } }],
    ]);
  });

  it('redacts the outcomes of runs finished together (markManyFinished, issue 20)', async () => {
    const view = redactingStore(store, createRedactor([SECRET]));
    const runs = await Promise.all(
      [1, 2].map(() => view.runs.create({ pipeline: 'p', trigger: 'api' })),
    );
    await view.runs.markManyFinished(
      runs.map((run) => ({
        id: run.id,
        outcome: {
          status: 'failed',
          error: { name: 'Error', message: `token ${SECRET} refused` },
          log: [{ level: 'error', message: `run failed: ${SECRET}` }],
        },
      })),
    );
    for (const run of runs) {
      expect((await store.runs.get(run.id))?.error?.message).toBe('token [redacted] refused');
      expect((await store.runs.listLogs(run.id)).map((l) => l.message)).toEqual([
        'run failed: [redacted]',
      ]);
    }
  });
});
