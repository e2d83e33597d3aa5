import type { Logger, NewRunLogEntry } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { createRunLogger } from './run-log.js';

/** Writes lines the way pino does: bindings first, as text, never merged with later keys. */
function textLogger(lines: string[], bound = ''): Logger {
  const pairs = (o: object) =>
    Object.entries(o).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  const log = (obj: object | string, msg?: string) => {
    const fields = typeof obj === 'string' ? [] : pairs(obj);
    lines.push(
      `{${[bound, ...fields, `"msg":${JSON.stringify(typeof obj === 'string' ? obj : msg)}`].filter(Boolean).join(',')}}`,
    );
  };
  return {
    trace: log,
    debug: log,
    info: log,
    warn: log,
    error: log,
    fatal: log,
    child: (bindings) => textLogger(lines, [bound, ...pairs(bindings)].filter(Boolean).join(',')),
    bindings: () => JSON.parse(`{${bound}}`) as Record<string, unknown>,
  };
}

describe('run logger', () => {
  it('binds runId, pipeline and runAttempt once, and children never bind a key again', async () => {
    const lines: string[] = [];
    const stored: NewRunLogEntry[] = [];
    const runs = {
      appendLog: async (_id: string, entries: NewRunLogEntry[]) => void stored.push(...entries),
    };
    const log = createRunLogger(textLogger(lines), runs, 'r1', {
      pipeline: 'daily',
      runAttempt: 1,
    });
    // What the router does under a run's logger: its own component, the run's keys again.
    const router = log.child({ component: 'router', pipeline: 'daily', runId: 'r1' });
    router.child({ destination: 'files' }).warn({ batch: 'b1' }, 'batch write failed; retrying');
    log.child({ component: 'scheduler' }).info({ counts: { read: 3 } }, 'run succeeded');
    expect(lines).toEqual([
      '{"runId":"r1","pipeline":"daily","runAttempt":1,"component":"router","destination":"files","batch":"b1","msg":"batch write failed; retrying"}',
      '{"runId":"r1","pipeline":"daily","runAttempt":1,"component":"scheduler","counts":{"read":3},"msg":"run succeeded"}',
    ]);
    expect(router.bindings?.()).toEqual({
      runId: 'r1',
      pipeline: 'daily',
      runAttempt: 1,
      component: 'router',
    });
    // Lines of children are stored in the run's one queue: flushing the run's logger waits for them.
    await log.flush();
    expect(stored.map((e) => e.message)).toEqual(['batch write failed; retrying', 'run succeeded']);
  });

  it('deferLine logs on the host at once and hands the stored form back instead of storing it', async () => {
    const lines: string[] = [];
    const stored: NewRunLogEntry[] = [];
    const runs = {
      appendLog: async (_id: string, entries: NewRunLogEntry[]) => void stored.push(...entries),
    };
    const log = createRunLogger(textLogger(lines), runs, 'r1', { pipeline: 'daily' });
    log.info('page read');
    const entry = log
      .child({ component: 'scheduler' })
      .deferLine('info', { counts: { read: 3 } }, 'run succeeded');
    await log.flush();
    expect(lines.at(-1)).toBe(
      '{"runId":"r1","pipeline":"daily","component":"scheduler","counts":{"read":3},"msg":"run succeeded"}',
    );
    expect(stored.map((e) => e.message)).toEqual(['page read']);
    expect(entry).toMatchObject({
      level: 'info',
      message: 'run succeeded',
      fields: { counts: { read: 3 } },
    });
    expect(typeof entry.at).toBe('string');
    expect(log.deferLine('error', 'run cancelled')).toMatchObject({
      level: 'error',
      message: 'run cancelled',
    });
    expect(log.deferLine('error', 'run cancelled').fields).toBeUndefined();
  });

  it('does not bind what the base logger binds already', () => {
    const lines: string[] = [];
    const base = textLogger(lines).child({ pipeline: 'daily' });
    createRunLogger(base, { appendLog: async () => {} }, 'r1', { pipeline: 'daily' }).debug(
      'hello',
    );
    expect(lines).toEqual(['{"pipeline":"daily","runId":"r1","msg":"hello"}']);
  });
});
