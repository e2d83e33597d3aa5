import { describe, expect, it } from 'vitest';
import { createDeliveryLedger } from './delivery-ledger.js';
import { createMemoryPluginState, type PluginStateStore } from './plugin-state.js';

const clock = { now: () => 1_700_000_000_000 };

describe('createDeliveryLedger', () => {
  it('knows a key another instance on the same store delivered (a take-over), not one it never saw', async () => {
    const state = createMemoryPluginState({ clock });
    await createDeliveryLedger({ state, clock, remember: 10 }).add(
      'daily-hooks-r1-3f9c0a21be-r000001',
    );
    const next = createDeliveryLedger({ state, clock, remember: 10 });
    expect(await next.has('daily-hooks-r1-3f9c0a21be-r000001')).toBe(true);
    expect(await next.has('daily-hooks-r1-3f9c0a21be-r000002')).toBe(false);
  });

  it('still skips its own repeats when the store cannot be written, and says so', async () => {
    const memory = createMemoryPluginState({ clock });
    const readOnly: PluginStateStore = {
      ...memory,
      set: async () => Promise.reject(new Error('disk full')),
    };
    const ledger = createDeliveryLedger({ state: readOnly, clock, remember: 10 });
    expect(await ledger.add('k')).toBe(false);
    expect(await ledger.has('k')).toBe(true);
  });

  it('turns a store read failure into a RetryableError, and is off with remember: 0', async () => {
    const broken: PluginStateStore = {
      ...createMemoryPluginState(),
      get: async () => Promise.reject(new Error('connection reset')),
    };
    await expect(
      createDeliveryLedger({ state: broken, clock, remember: 10 }).has('k'),
    ).rejects.toMatchObject({ name: 'RetryableError', message: /connection reset/ });
    const off = createDeliveryLedger({ state: createMemoryPluginState(), clock, remember: 0 });
    await off.add('k');
    expect(await off.has('k')).toBe(false);
  });
});
