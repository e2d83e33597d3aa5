// The group commit of concurrent appends: arrivals while statements are in flight share the
// next one, each caller gets its own item's outcome, a failed statement fails only its items.
import { describe, expect, it } from 'vitest';
import { createGroupCommit, createKeyedGroupCommit } from './group-commit.js';

/** A commit whose statements the test finishes by hand. */
function manualCommit() {
  const statements: { items: readonly number[]; finish(error?: Error): void }[] = [];
  const commit = (items: readonly number[]) =>
    new Promise<readonly string[]>((resolve, reject) => {
      statements.push({
        items,
        finish: (error) => (error ? reject(error) : resolve(items.map((n) => `ok ${n}`))),
      });
    });
  return { statements, commit };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('createGroupCommit', () => {
  it('send the arrivals of one I/O turn together, and those arriving while it is in flight in the next statement', async () => {
    const { statements, commit } = manualCommit();
    const add = createGroupCommit({ maxInFlight: 1, maxItems: 100, commit });
    const first = [1, 2, 3].map((n) => add(n));
    await turn();
    expect(statements.map((s) => s.items)).toEqual([[1, 2, 3]]);
    const later = [4, 5].map((n) => add(n));
    await turn();
    // One statement in flight: 4 and 5 wait for it.
    expect(statements).toHaveLength(1);
    statements[0]!.finish();
    expect(await Promise.all(first)).toEqual(['ok 1', 'ok 2', 'ok 3']);
    await turn();
    expect(statements.map((s) => s.items)).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
    statements[1]!.finish();
    expect(await Promise.all(later)).toEqual(['ok 4', 'ok 5']);
  });

  it('keep at most maxInFlight statements of at most maxItems items', async () => {
    const { statements, commit } = manualCommit();
    const add = createGroupCommit({ maxInFlight: 2, maxItems: 2, commit });
    const all = [1, 2, 3, 4, 5, 6, 7].map((n) => add(n));
    await turn();
    expect(statements.map((s) => s.items)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    statements[1]!.finish();
    await turn();
    expect(statements.map((s) => s.items)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    statements[0]!.finish();
    statements[2]!.finish();
    await turn();
    statements[3]!.finish();
    expect(await Promise.all(all)).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => `ok ${n}`));
    expect(statements).toHaveLength(4);
  });

  it('reject the items of a failed statement only, and go on with the next', async () => {
    const { statements, commit } = manualCommit();
    const add = createGroupCommit({ maxInFlight: 1, maxItems: 100, commit });
    const failing = [add(1), add(2)];
    await turn();
    const next = add(3);
    statements[0]!.finish(new Error('connection lost'));
    await expect(failing[0]).rejects.toThrow('connection lost');
    await expect(failing[1]).rejects.toThrow('connection lost');
    await turn();
    statements[1]!.finish();
    expect(await next).toBe('ok 3');
  });

  it('reject every item of a statement that answers for a different number of items', async () => {
    const add = createGroupCommit<number, string>({
      maxInFlight: 1,
      maxItems: 100,
      commit: async () => ['only one'],
    });
    const results = await Promise.allSettled([add(1), add(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/1 outcomes for 2 items/);
  });

  it('turn a commit that throws synchronously into rejected items', async () => {
    const add = createGroupCommit<number, string>({
      maxInFlight: 1,
      maxItems: 100,
      commit: () => {
        throw new Error('bad statement');
      },
    });
    await expect(add(1)).rejects.toThrow('bad statement');
    // The slot is free again.
    await expect(add(2)).rejects.toThrow('bad statement');
  });
});

// Keyed (the scheduler's run records and pg-boss jobs): calls of one key made together share one
// write, a lone call goes alone, keys do not mix, and a failed group rejects its own calls only.
describe('createKeyedGroupCommit', () => {
  it('sends items of one key made in the same turn, and those made while it is written, as groups', async () => {
    const writes: [string, number[]][] = [];
    let release: (() => void) | undefined;
    const double = createKeyedGroupCommit({
      maxInFlight: 1,
      maxItems: 500,
      commit: async (key: string, inputs: readonly number[]) => {
        writes.push([key, [...inputs]]);
        if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return inputs.map((n) => n * 2);
      },
    });
    const first = [double('a', 1), double('a', 2), double('b', 10)];
    await turn();
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

  it('caps a group at maxItems and rejects only the items of a group that failed', async () => {
    const sizes: number[] = [];
    const write = createKeyedGroupCommit({
      maxInFlight: 1,
      maxItems: 2,
      commit: async (_: string, inputs: readonly number[]) => {
        sizes.push(inputs.length);
        if (inputs.includes(0)) throw new Error('bad group');
        return inputs;
      },
    });
    const results = await Promise.allSettled([write('k', 0), write('k', 1), write('k', 2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect(sizes).toEqual([2, 1]);
  });
});
