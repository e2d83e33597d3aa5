import { describe, expect, it } from 'vitest';
import type { Clock } from './context.js';
import { FatalError, RetryableError } from './errors.js';
import { abortable, retryWithBackoff, type RetryWithBackoffOptions } from './retry.js';

/** A clock that records every wait and returns at once (or rejects when the signal aborts). */
function fakeClock(): Clock & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    now: () => 0,
    sleep: (ms, signal) => {
      waits.push(ms);
      return signal?.aborted ? Promise.reject(signal.reason as Error) : Promise.resolve();
    },
  };
}

const settings = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };

function options(extra: Partial<RetryWithBackoffOptions> = {}): RetryWithBackoffOptions & { clock: ReturnType<typeof fakeClock> } {
  return { ...settings, clock: fakeClock(), signal: new AbortController().signal, random: () => 0.5, ...extra } as never;
}

/** An operation failing with `errors` in turn, then answering `ok`. */
function flaky(errors: unknown[]) {
  const calls: number[] = [];
  const operation = (attempt: number) => {
    calls.push(attempt);
    const error = errors.shift();
    return error === undefined ? Promise.resolve('ok') : Promise.reject(error);
  };
  return { operation, calls };
}

describe('retryWithBackoff', () => {
  it('retries RetryableErrors with exponential backoff and full jitter', async () => {
    const opts = options();
    const { operation, calls } = flaky([new RetryableError('a'), new RetryableError('b'), new RetryableError('c')]);
    const retries: [string, number, number][] = [];
    await expect(retryWithBackoff(operation, { ...opts, onRetry: (e, n, w) => retries.push([e.message, n, w]) })).resolves.toBe('ok');
    expect(calls).toEqual([1, 2, 3, 4]);
    // half (random 0.5) of 100, 200, 400
    expect(opts.clock.waits).toEqual([50, 100, 200]);
    expect(retries).toEqual([['a', 1, 50], ['b', 2, 100], ['c', 3, 200]]);
  });

  it('caps the exponential at maxDelayMs and spreads waits over [0, ceiling)', async () => {
    const opts = options({ maxAttempts: 10, random: () => 0.999 });
    await retryWithBackoff(flaky(Array.from({ length: 9 }, () => new RetryableError('x'))).operation, opts);
    expect(Math.max(...opts.clock.waits)).toBeLessThan(settings.maxDelayMs);
    expect(opts.clock.waits.at(-1)).toBeCloseTo(999, 0);
    const zero = options({ random: () => 0 });
    await retryWithBackoff(flaky([new RetryableError('x')]).operation, zero);
    expect(zero.clock.waits).toEqual([0]);
  });

  it('waits at least retryAfterMs', async () => {
    const opts = options();
    await retryWithBackoff(flaky([new RetryableError('slow down', { retryAfterMs: 700 })]).operation, opts);
    expect(opts.clock.waits).toEqual([700]);
  });

  it('hands up an error asking for a longer wait than maxDelayMs at once', async () => {
    const opts = options();
    const error = new RetryableError('quota', { retryAfterMs: 60_000 });
    const { operation, calls } = flaky([error]);
    await expect(retryWithBackoff(operation, opts)).rejects.toBe(error);
    expect(calls).toEqual([1]);
    expect(opts.clock.waits).toEqual([]);
  });

  it('throws the last error after maxAttempts', async () => {
    const opts = options({ maxAttempts: 2 });
    const last = new RetryableError('second');
    const { operation, calls } = flaky([new RetryableError('first'), last]);
    await expect(retryWithBackoff(operation, opts)).rejects.toBe(last);
    expect(calls).toEqual([1, 2]);
  });

  it('does not retry other errors, and maps errors first', async () => {
    const fatal = new FatalError('bad token');
    await expect(retryWithBackoff(flaky([fatal]).operation, options())).rejects.toBe(fatal);
    await expect(retryWithBackoff(flaky([new Error('plain')]).operation, options())).rejects.toThrow('plain');
    await expect(retryWithBackoff(flaky(['text']).operation, options())).rejects.toThrow('text');

    const mapped = options();
    const { operation, calls } = flaky([{ status: 503 }, { status: 401 }]);
    const mapError = (e: unknown) => ((e as { status: number }).status >= 500 ? new RetryableError('unavailable') : new FatalError('denied'));
    await expect(retryWithBackoff(operation, { ...mapped, mapError })).rejects.toThrow('denied');
    expect(calls).toEqual([1, 2]);
  });

  it('stops at once on abort: before, during a call and during a wait', async () => {
    const before = new AbortController();
    before.abort(new Error('shutdown'));
    const { operation, calls } = flaky([]);
    await expect(retryWithBackoff(operation, options({ signal: before.signal }))).rejects.toThrow('shutdown');
    expect(calls).toEqual([]);

    const during = new AbortController();
    const pending = retryWithBackoff(() => new Promise<string>(() => {}), options({ signal: during.signal }));
    during.abort(new Error('stopped'));
    await expect(pending).rejects.toThrow('stopped');

    const waiting = new AbortController();
    const clock = fakeClock();
    clock.sleep = (ms) => {
      clock.waits.push(ms);
      waiting.abort(new Error('cancelled while waiting'));
      return Promise.reject(waiting.signal.reason as Error);
    };
    const retried = flaky([new RetryableError('x'), new RetryableError('y')]);
    await expect(retryWithBackoff(retried.operation, options({ signal: waiting.signal, clock }))).rejects.toThrow('cancelled while waiting');
    expect(retried.calls).toEqual([1]);
  });

  it('rethrows the abort reason, not the mapped error, when the call fails because of the abort', async () => {
    const controller = new AbortController();
    const operation = () => {
      controller.abort(new Error('run cancelled'));
      return Promise.reject(new RetryableError('socket closed'));
    };
    await expect(retryWithBackoff(operation, options({ signal: controller.signal }))).rejects.toThrow('run cancelled');
  });
});

describe('abortable', () => {
  it('settles like the promise', async () => {
    const signal = new AbortController().signal;
    await expect(abortable(Promise.resolve(1), signal)).resolves.toBe(1);
    await expect(abortable(Promise.reject(new Error('no')), signal)).rejects.toThrow('no');
  });

  it('rejects with the reason when aborted, and swallows the late result', async () => {
    const aborted = new AbortController();
    aborted.abort(new Error('gone'));
    await expect(abortable(Promise.reject(new Error('ignored')), aborted.signal)).rejects.toThrow('gone');

    const later = new AbortController();
    let fail!: (e: Error) => void;
    const pending = abortable(new Promise((_, reject) => (fail = reject)), later.signal);
    later.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    fail(new Error('too late'));
  });
});
