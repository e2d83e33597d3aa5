import { describe, expect, it } from 'vitest';
import {
  childLogger,
  createMemoryMetrics,
  createNoopLogger,
  createPluginContext,
  systemClock,
  type Logger,
} from './context.js';

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

describe('context', () => {
  it('fills defaults', () => {
    const ctx = createPluginContext();
    expect(ctx.signal.aborted).toBe(false);
    expect(ctx.clock).toBe(systemClock);
    expect(() => ctx.logger.child({ a: 1 }).info({ x: 1 }, 'msg')).not.toThrow();
    const logger = createNoopLogger();
    expect(createPluginContext({ logger }).logger).toBe(logger);
  });

  it('records memory metrics per label set', () => {
    const m = createMemoryMetrics();
    const c = m.counter({ name: 'c_total', help: 'c' });
    c.inc({ b: 2, a: 1 });
    c.inc({ a: 1, b: 2 }, 2);
    c.inc();
    expect(m.get('c_total', { a: 1, b: 2 })).toBe(3);
    expect(m.get('c_total')).toBe(1);
    const g = m.gauge({ name: 'g', help: 'g' });
    g.set({ x: 'y' }, 5);
    g.inc({ x: 'y' });
    g.dec({ x: 'y' }, 3);
    expect(m.get('g', { x: 'y' })).toBe(3);
    const h = m.histogram({ name: 'h', help: 'h' });
    h.observe({}, 1);
    h.observe({}, 2);
    expect(m.get('h', {})).toEqual([1, 2]);
    expect(m.get('missing')).toBe(0);
  });

  it('sleeps, and aborts a sleep', async () => {
    const t0 = Date.now();
    await systemClock.sleep(20);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
    const ac = new AbortController();
    const p = systemClock.sleep(10_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    await expect(systemClock.sleep(10, ac.signal)).rejects.toThrow('stop');
  });

  it('childLogger binds only the keys a logger does not bind yet', () => {
    const lines: string[] = [];
    const run = textLogger(lines).child({ runId: 'r1', pipeline: 'daily' });
    // A plain child writes the key twice: the reason childLogger exists.
    run.child({ runId: 'r1' }).info('plain');
    childLogger(run, { component: 'router', runId: 'r1', pipeline: 'daily' }).info(
      { n: 1 },
      'once',
    );
    expect(lines).toEqual([
      '{"runId":"r1","pipeline":"daily","runId":"r1","msg":"plain"}',
      '{"runId":"r1","pipeline":"daily","component":"router","n":1,"msg":"once"}',
    ]);
    // Nothing missing: the same logger; a logger that cannot tell its bindings gets every key.
    expect(childLogger(run, { runId: 'r1' })).toBe(run);
    const seen: Record<string, unknown>[] = [];
    const opaque: Logger = { ...createNoopLogger(), child: (b) => (seen.push(b), opaque) };
    childLogger(opaque, { component: 'router', runId: 'r1' });
    expect(seen).toEqual([{ component: 'router', runId: 'r1' }]);
  });
});
