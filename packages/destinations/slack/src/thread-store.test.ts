import { describe, expect, it } from 'vitest';
import type { Clock } from '@sluice/core';
import { BoundedMap, createMemoryThreadStore } from './thread-store.js';
import { createPacer } from './pacer.js';

describe('BoundedMap', () => {
  it('forgets the least recently used entry first: get counts as a use, has does not', () => {
    const map = new BoundedMap<string, string>(2);
    map.set('a', '1');
    map.set('b', '2');
    expect(map.get('a')).toBe('1');
    map.set('c', '3');
    expect([map.get('a'), map.get('b'), map.get('c')]).toEqual(['1', undefined, '3']);
    expect(map.has('a')).toBe(true);
    map.set('d', '4');
    expect([map.has('a'), map.has('c'), map.has('d')]).toEqual([false, true, true]);
    expect(map.size).toBe(2);
    map.clear();
    expect(map.size).toBe(0);
  });

  it('keeps nothing with a capacity of zero', () => {
    const map = new BoundedMap<string, string>(0);
    map.set('a', '1');
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('backs the memory thread store with at most maxKeys threads', () => {
    const store = createMemoryThreadStore(1);
    store.set('C1:x', '1.0');
    store.set('C1:y', '2.0');
    expect([store.get('C1:x'), store.get('C1:y')]).toEqual([undefined, '2.0']);
  });
});

describe('createPacer', () => {
  const signal = new AbortController().signal;

  it('forgets the least recently recorded channel first; waiting does not keep one remembered', async () => {
    let now = 0;
    const slept: number[] = [];
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => void (slept.push(ms), (now += ms)),
    };
    const pacer = createPacer(1_000, clock, 2);
    pacer.record('a');
    pacer.record('b');
    await pacer.wait('a', signal);
    expect(slept).toEqual([1_000]);
    pacer.record('c'); // forgets 'a' (recorded first), although it was waited on last
    pacer.record('a', 5_000);
    await pacer.wait('b', signal);
    expect(slept).toEqual([1_000]); // 'b' was forgotten when 'a' came back
    await pacer.wait('a', signal);
    expect(slept).toEqual([1_000, 5_000]);
  });
});
