import { ConfigError } from '@sluice/core';
import { describe, expect, it } from 'vitest';
import { splitDateRange } from './backfill.js';
import { isPipelineScheduling, parsePipelineScheduling } from './config.js';
import { cronRunId, deterministicUuid } from './ids.js';
import { nulSafeParams, restoreParams, runSlotKey } from './run-queue.js';
import { parseWebhookBody, payloadRecords } from './webhooks/payload.js';

const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('parsePipelineScheduling', () => {
  it('applies defaults', () => {
    const parsed = parsePipelineScheduling({
      name: 'daily',
      cron: { expression: '0 8 * * *', timezone: 'Europe/Berlin' },
    });
    expect(parsed).toMatchObject({
      name: 'daily',
      concurrency: 1,
      allowOverlap: false,
      timeoutMs: 3_600_000,
      retry: { maxAttempts: 1, initialDelayMs: 1_000, maxDelayMs: 60_000, multiplier: 2 },
    });
    expect(parsed.cron[0]).toMatchObject({ name: 'cron', jitterMs: 0, missed: { kind: 'skip' } });
    expect(isPipelineScheduling(parsed)).toBe(true);
    expect(isPipelineScheduling({ ...parsed })).toBe(false);
  });

  it("keeps a pipeline's maxQueuedRuns, absent means the scheduler's, and refuses one below 1 (issue 20)", () => {
    expect(parsePipelineScheduling({ name: 'daily' }).maxQueuedRuns).toBeUndefined();
    expect(parsePipelineScheduling({ name: 'daily', maxQueuedRuns: 2 }).maxQueuedRuns).toBe(2);
    expect(() => parsePipelineScheduling({ name: 'daily', maxQueuedRuns: 0 })).toThrow(
      /maxQueuedRuns/,
    );
  });

  it("retries a failed run only with a retry policy, whose keys left out are core's run defaults", () => {
    expect(parsePipelineScheduling({ name: 'daily', retry: {} }).retry).toEqual({
      maxAttempts: 3,
      initialDelayMs: 1_000,
      maxDelayMs: 60_000,
      multiplier: 2,
    });
    expect(
      parsePipelineScheduling({ name: 'daily', retry: { maxAttempts: 5, multiplier: 3 } }).retry,
    ).toEqual({ maxAttempts: 5, initialDelayMs: 1_000, maxDelayMs: 60_000, multiplier: 3 });
    expect(parsePipelineScheduling({ name: 'daily' }).retry.maxAttempts).toBe(1);
    expect(
      issuesOf(() =>
        parsePipelineScheduling({
          name: 'x',
          retry: { maxAttempts: 102, multiplier: 0.5, limit: 2 },
        }),
      ),
    ).toEqual([
      expect.objectContaining({ path: 'pipelines.x.retry.maxAttempts' }),
      expect.objectContaining({ path: 'pipelines.x.retry.multiplier' }),
      expect.objectContaining({ path: 'pipelines.x.retry.limit' }),
    ]);
  });

  it('reads catch-up, several schedules and overlap', () => {
    const parsed = parsePipelineScheduling({
      name: 'events',
      cron: [
        { expression: '0 8 * * *', missed: 'catch-up', catchUpMax: 5 },
        { name: 'evening', expression: '0 20 * * *', jitterMs: 60_000 },
      ],
      allowOverlap: true,
      concurrency: 3,
    });
    expect(parsed.cron.map((c) => [c.name, c.missed, c.jitterMs])).toEqual([
      ['cron', { kind: 'catch-up', max: 5 }, 0],
      ['evening', { kind: 'skip' }, 60_000],
    ]);
    expect(parsed.concurrency).toBe(3);
  });

  it('names every invalid field', () => {
    expect(
      issuesOf(() =>
        parsePipelineScheduling({ name: 'x', timeoutMs: 5, retry: { maxAttempts: 0 }, extra: 1 }),
      ),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'pipelines.x.timeoutMs' }),
        expect.objectContaining({ path: 'pipelines.x.retry.maxAttempts' }),
        expect.objectContaining({ path: 'pipelines.x.extra' }),
      ]),
    );
    expect(
      issuesOf(() =>
        parsePipelineScheduling({
          name: 'x',
          cron: [{ expression: '* *' }, { expression: '0 8 * * *', timezone: 'Nowhere/City' }],
        }),
      ),
    ).toEqual([
      {
        path: 'pipelines.x.cron[0].expression',
        message: expect.stringContaining('exactly five, six, or seven'),
      },
      { path: 'pipelines.x.cron[1].timezone', message: 'unknown IANA time zone "Nowhere/City"' },
    ]);
    expect(
      issuesOf(() => parsePipelineScheduling({ name: 'x', webhook: { scheme: 'slack' } })),
    ).toEqual([{ path: 'pipelines.x.webhook.secret', message: 'required by scheme slack' }]);
    expect(
      issuesOf(() =>
        parsePipelineScheduling({
          name: 'x',
          cron: [{ expression: '0 8 * * *' }, { name: 'cron', expression: '0 9 * * *' }],
        }),
      )[0]!.message,
    ).toBe('duplicate schedule name "cron"');
  });
});

describe('ids and slots', () => {
  it('derives stable RFC 9562 v8 UUIDs', () => {
    const id = cronRunId('daily', Date.parse('2026-01-01T08:00:00Z'));
    expect(id).toBe(cronRunId('daily', Date.parse('2026-01-01T08:00:00Z')));
    expect(id).not.toBe(cronRunId('daily', Date.parse('2026-01-01T08:00:01Z')));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicUuid('a')).not.toBe(deterministicUuid('b'));
  });

  it('keeps a serial pipeline on one key and spreads an overlapping one over its slots', () => {
    expect(runSlotKey('daily', 1, 'r1')).toBe('daily');
    const keys = new Set(
      Array.from({ length: 100 }, (_, i) => runSlotKey('events', 3, `run-${i}`)),
    );
    expect(keys).toEqual(new Set(['events#0', 'events#1', 'events#2']));
  });
});

describe('splitDateRange', () => {
  it('splits inclusively and across month ends', () => {
    expect(splitDateRange('2026-01-30', '2026-02-02', 3)).toEqual([
      { index: 0, from: '2026-01-30', to: '2026-02-01' },
      { index: 1, from: '2026-02-02', to: '2026-02-02' },
    ]);
    expect(splitDateRange('2026-03-01', '2026-03-01')).toEqual([
      { index: 0, from: '2026-03-01', to: '2026-03-01' },
    ]);
  });

  it('names invalid fields', () => {
    expect(issuesOf(() => splitDateRange('2026-02-30', 'tomorrow', 0))).toEqual([
      { path: 'from', message: '2026-02-30 is not a calendar date' },
      { path: 'to', message: 'expected a date YYYY-MM-DD' },
      { path: 'chunkDays', message: 'expected a whole number >= 1' },
    ]);
    expect(issuesOf(() => splitDateRange('2000-01-01', '2030-01-01', 1))[0]!.path).toBe(
      'chunkDays',
    );
  });
});

describe('webhook payloads', () => {
  const json = { 'content-type': 'application/json; charset=utf-8' };
  it('parses JSON, NDJSON, forms and text', () => {
    expect(parseWebhookBody(json, Buffer.from('{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
    expect(
      parseWebhookBody(
        { 'content-type': 'application/x-ndjson' },
        Buffer.from('{"a":1}\n{"a":2}\n'),
      ),
    ).toEqual({ ok: true, value: [{ a: 1 }, { a: 2 }] });
    expect(
      parseWebhookBody(
        { 'content-type': 'application/x-www-form-urlencoded' },
        Buffer.from('command=%2Fsync&text=now'),
      ),
    ).toEqual({ ok: true, value: { command: '/sync', text: 'now' } });
    expect(parseWebhookBody({ 'content-type': 'text/plain' }, Buffer.from('hello'))).toEqual({
      ok: true,
      value: { text: 'hello' },
    });
    expect(parseWebhookBody(json, Buffer.alloc(0))).toEqual({ ok: true, value: {} });
    const bad = parseWebhookBody(json, Buffer.from('{"a":'));
    expect(bad.ok).toBe(false);
  });

  // Regression (found by test/fuzz): a signed payload nested thousands of levels deep answered
  // 500, because storing it as run parameters overflowed JSON.stringify's stack.
  it('refuses payloads nested deeper than the limit', () => {
    const nested = (depth: number) =>
      Buffer.from(`[${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}]`);
    expect(parseWebhookBody(json, nested(500)).ok).toBe(true);
    expect(parseWebhookBody(json, nested(20_000))).toEqual({
      ok: false,
      message: 'body nests deeper than 512 levels',
    });
    expect(parseWebhookBody({ 'content-type': 'application/x-ndjson' }, nested(600))).toEqual({
      ok: false,
      message: 'body nests deeper than 512 levels',
    });
  });

  it('extracts records', () => {
    expect(payloadRecords({ records: [{ id: 1 }] })).toEqual({ ok: true, records: [{ id: 1 }] });
    expect(payloadRecords({ id: 1 })).toEqual({ ok: true, records: [{ id: 1 }] });
    expect(payloadRecords([{ id: 1 }, 'x'])).toEqual({
      ok: false,
      message: 'records[1]: expected a JSON object',
    });
  });
});

// Regression (found by test/fuzz): a signed webhook whose records held U+0000 answered 500,
// because pg-boss stores job data in jsonb, which refuses that character.
describe('job parameters holding U+0000', () => {
  it('travel as JSON text and come back unchanged; other parameters are untouched', () => {
    const params = { records: [{ 'k\u0000': 'a\u0000b' }], note: 'x' };
    const wrapped = nulSafeParams(params);
    expect(JSON.stringify(wrapped)).not.toContain('\\u0000"');
    expect(Object.keys(wrapped)).toEqual(['$sluice:json-text']);
    expect(restoreParams(wrapped)).toEqual(params);
    const plain = { records: [{ id: 1 }] };
    expect(nulSafeParams(plain)).toBe(plain);
    const lookalike = { '$sluice:json-text': '{"a":1}' };
    expect(restoreParams(nulSafeParams(lookalike))).toEqual(lookalike);
  });
});
