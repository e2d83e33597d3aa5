import { describe, expect, it } from 'vitest';
import { SourcePositions } from './source-position.js';

describe('SourcePositions', () => {
  it('names positions after the checkpoint they follow, whatever the key order of the state', () => {
    const a = new SourcePositions();
    a.after({ cursor: '2026-01-01', page: 3 });
    const b = new SourcePositions();
    b.after({ page: 3, cursor: '2026-01-01' }); // as a jsonb column may hand it back
    expect([a.next(), a.next()]).toEqual([b.next(), b.next()]);
    expect(a.next()).toMatch(/^[0-9a-f]{10}-000003$/);
  });

  it('restarts offsets at each new checkpoint, and keeps counting when a page repeats the state', () => {
    const p = new SourcePositions();
    p.after(undefined);
    const start = p.segment;
    p.next();
    expect(p.after({ page: 1 })).toBe(true);
    expect(p.next()).toBe(`${p.segment}-000001`);
    expect(p.segment).not.toBe(start);
    expect(p.after({ page: 1 })).toBe(false); // same state again: one position
    expect(p.next()).toBe(`${p.segment}-000002`);
  });

  it('never gives two segments of one run the same name when a state comes back later', () => {
    const p = new SourcePositions();
    p.after({ page: 1 });
    const first = p.segment;
    p.after({ page: 2 });
    p.after({ page: 1 });
    expect(p.segment).toBe(`${first}x1`);
    expect(p.next()).toBe(`${first}x1-000001`);
  });
});
