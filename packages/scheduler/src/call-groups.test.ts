// Grouped calls (issue 20): calls of one key made together share one write, a lone call goes
// alone, keys do not mix, and a failed group rejects its own calls only.
import { describe, expect, it } from 'vitest';
import { groupCalls } from './call-groups.js';

describe('groupCalls', () => {
  it('sends calls of one key made in the same turn, and those made while it is written, as groups', async () => {
    const writes: [string, number[]][] = [];
    let release: (() => void) | undefined;
    const double = groupCalls(async (key: string, inputs: readonly number[]) => {
      writes.push([key, [...inputs]]);
      if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return inputs.map((n) => n * 2);
    });
    const first = [double('a', 1), double('a', 2), double('b', 10)];
    await new Promise((resolve) => setImmediate(resolve));
    // While key a's group is written, its next calls wait and go together.
    const later = [double('a', 3), double('a', 4)];
    release!();
    expect(await Promise.all([...first, ...later])).toEqual([2, 4, 20, 6, 8]);
    expect(writes).toEqual([
      ['a', [1, 2]],
      ['b', [10]],
      ['a', [3, 4]],
    ]);
  });

  it('caps a group at maxGroup and rejects only the calls of a group that failed', async () => {
    const sizes: number[] = [];
    const write = groupCalls(async (_: string, inputs: readonly number[]) => {
      sizes.push(inputs.length);
      if (inputs.includes(0)) throw new Error('bad group');
      return inputs;
    }, 2);
    const results = await Promise.allSettled([write('k', 0), write('k', 1), write('k', 2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect(sizes).toEqual([2, 1]);
  });

  it('rejects every call of a group whose write returned too few results', async () => {
    const write = groupCalls(async () => [1]);
    const results = await Promise.allSettled([write('k', 1), write('k', 2)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
  });
});
