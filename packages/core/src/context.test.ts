import { describe, expect, it } from 'vitest';
import {
  createMemoryMetrics,
  createNoopLogger,
  createPluginContext,
  systemClock,
} from './context.js';

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
});
