import { describe, expect, it } from 'vitest';
import { createPluginContext } from './context.js';
import { ConfigError } from './errors.js';
import { checkPluginStateWrite, createMemoryPluginState } from './plugin-state.js';

function fakeClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe('createMemoryPluginState', () => {
  it('gets, sets, replaces and deletes JSON values', async () => {
    const state = createMemoryPluginState();
    expect(await state.get('a')).toBeUndefined();
    await state.set('a', { n: 1, tags: ['x'] });
    expect(await state.get('a')).toEqual({ n: 1, tags: ['x'] });
    await state.set('a', null);
    expect(await state.get('a')).toBeNull();
    expect(await state.delete('a')).toBe(true);
    expect(await state.delete('a')).toBe(false);
    expect(await state.get('a')).toBeUndefined();
  });

  it('copies values in and out, as a database would', async () => {
    const state = createMemoryPluginState();
    const value = { list: [1] };
    await state.set('k', value);
    value.list.push(2);
    const read = (await state.get('k')) as { list: number[] };
    read.list.push(3);
    expect(await state.get('k')).toEqual({ list: [1] });
  });

  it('setIfAbsent stores only when the key is absent or expired', async () => {
    const clock = fakeClock();
    const state = createMemoryPluginState({ clock });
    expect(await state.setIfAbsent('lock', 1, { ttlMs: 1000 })).toBe(true);
    expect(await state.setIfAbsent('lock', 2)).toBe(false);
    expect(await state.get('lock')).toBe(1);
    clock.advance(1000);
    expect(await state.setIfAbsent('lock', 3)).toBe(true);
    expect(await state.get('lock')).toBe(3);
    const results = await Promise.all([
      state.setIfAbsent('race', 'a'),
      state.setIfAbsent('race', 'b'),
    ]);
    expect(results.sort()).toEqual([false, true]);
  });

  it('expired keys read as absent; set without ttl clears an earlier expiry', async () => {
    const clock = fakeClock();
    const state = createMemoryPluginState({ clock });
    await state.set('short', 'x', { ttlMs: 500 });
    clock.advance(499);
    expect(await state.get('short')).toBe('x');
    clock.advance(1);
    expect(await state.get('short')).toBeUndefined();
    expect(await state.delete('short')).toBe(false);
    await state.set('k', 1, { ttlMs: 10 });
    await state.set('k', 2);
    clock.advance(1_000_000);
    expect(await state.get('k')).toBe(2);
  });

  it('forgets the least recently written key beyond maxKeys', async () => {
    const state = createMemoryPluginState({ maxKeys: 2 });
    await state.set('a', 1);
    await state.set('b', 2);
    await state.set('c', 3);
    expect(await state.get('a')).toBeUndefined();
    expect(await state.get('c')).toBe(3);
  });

  it('rejects bad keys, values and ttls with a ConfigError naming the argument', async () => {
    const state = createMemoryPluginState();
    await expect(state.get('')).rejects.toThrow(ConfigError);
    await expect(state.set('x'.repeat(1001), 1)).rejects.toMatchObject({
      issues: [{ path: 'key' }],
    });
    await expect(state.set('k', undefined as never)).rejects.toMatchObject({
      issues: [{ path: 'value' }],
    });
    await expect(state.setIfAbsent('k', 1, { ttlMs: 0 })).rejects.toMatchObject({
      issues: [{ path: 'options.ttlMs' }],
    });
    expect(() => checkPluginStateWrite('k', 1, { ttlMs: Number.NaN })).toThrow(
      /ttlMs.*positive number/,
    );
  });
});

describe('PluginContext.state', () => {
  it('is absent by default and passed through when given', () => {
    expect(createPluginContext().state).toBeUndefined();
    expect('state' in createPluginContext()).toBe(false);
    const state = createMemoryPluginState();
    expect(createPluginContext({ state }).state).toBe(state);
  });
});
