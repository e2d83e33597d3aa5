import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import type { Clock } from './context.js';
import { FatalError, RetryableError } from './errors.js';
import {
  RETRY_DEFAULTS,
  abortable,
  backoffDelay,
  backoffPolicySchema,
  resolveBackoffPolicy,
  retryWithBackoff,
  type RetryWithBackoffOptions,
} from './retry.js';

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

const settings = { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 1_000 };

function options(
  extra: Partial<RetryWithBackoffOptions> = {},
): RetryWithBackoffOptions & { clock: ReturnType<typeof fakeClock> } {
  return {
    ...settings,
    clock: fakeClock(),
    signal: new AbortController().signal,
    random: () => 0.5,
    ...extra,
  } as never;
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
    const { operation, calls } = flaky([
      new RetryableError('a'),
      new RetryableError('b'),
      new RetryableError('c'),
    ]);
    const retries: [string, number, number][] = [];
    await expect(
      retryWithBackoff(operation, {
        ...opts,
        onRetry: (e, n, w) => retries.push([e.message, n, w]),
      }),
    ).resolves.toBe('ok');
    expect(calls).toEqual([1, 2, 3, 4]);
    // half (random 0.5) of 100, 200, 400
    expect(opts.clock.waits).toEqual([50, 100, 200]);
    expect(retries).toEqual([
      ['a', 1, 50],
      ['b', 2, 100],
      ['c', 3, 200],
    ]);
  });

  it('caps the exponential at maxDelayMs and spreads waits over [0, ceiling)', async () => {
    const opts = options({ maxAttempts: 10, random: () => 0.999 });
    await retryWithBackoff(
      flaky(Array.from({ length: 9 }, () => new RetryableError('x'))).operation,
      opts,
    );
    expect(Math.max(...opts.clock.waits)).toBeLessThan(settings.maxDelayMs);
    expect(opts.clock.waits.at(-1)).toBeCloseTo(999, 0);
    const zero = options({ random: () => 0 });
    await retryWithBackoff(flaky([new RetryableError('x')]).operation, zero);
    expect(zero.clock.waits).toEqual([0]);
  });

  it('waits at least retryAfterMs', async () => {
    const opts = options();
    await retryWithBackoff(
      flaky([new RetryableError('slow down', { retryAfterMs: 700 })]).operation,
      opts,
    );
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
    await expect(
      retryWithBackoff(flaky([new Error('plain')]).operation, options()),
    ).rejects.toThrow('plain');
    await expect(retryWithBackoff(flaky(['text']).operation, options())).rejects.toThrow('text');

    const mapped = options();
    const { operation, calls } = flaky([{ status: 503 }, { status: 401 }]);
    const mapError = (e: unknown) =>
      (e as { status: number }).status >= 500
        ? new RetryableError('unavailable')
        : new FatalError('denied');
    await expect(retryWithBackoff(operation, { ...mapped, mapError })).rejects.toThrow('denied');
    expect(calls).toEqual([1, 2]);
  });

  it('stops at once on abort: before, during a call and during a wait', async () => {
    const before = new AbortController();
    before.abort(new Error('shutdown'));
    const { operation, calls } = flaky([]);
    await expect(retryWithBackoff(operation, options({ signal: before.signal }))).rejects.toThrow(
      'shutdown',
    );
    expect(calls).toEqual([]);

    const during = new AbortController();
    const pending = retryWithBackoff(
      () => new Promise<string>(() => {}),
      options({ signal: during.signal }),
    );
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
    await expect(
      retryWithBackoff(retried.operation, options({ signal: waiting.signal, clock })),
    ).rejects.toThrow('cancelled while waiting');
    expect(retried.calls).toEqual([1]);
  });

  it('rethrows the abort reason, not the mapped error, when the call fails because of the abort', async () => {
    const controller = new AbortController();
    const operation = () => {
      controller.abort(new Error('run cancelled'));
      return Promise.reject(new RetryableError('socket closed'));
    };
    await expect(
      retryWithBackoff(operation, options({ signal: controller.signal })),
    ).rejects.toThrow('run cancelled');
  });
});

describe('backoffDelay', () => {
  const policy = { maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 1_000, multiplier: 2 };

  it('is exponential with full jitter, capped at maxDelayMs', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, undefined, () => 0.5))).toEqual([
      100, 200, 400, 500, 500,
    ]);
    expect(backoffDelay(policy, 3, undefined, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, undefined, () => 0.999_999)).toBe(799);
    expect(backoffDelay({ ...policy, multiplier: 3 }, 3, undefined, () => 0.5)).toBe(500);
    expect(backoffDelay({ ...policy, multiplier: 1 }, 9, undefined, () => 0.5)).toBe(100);
    expect(backoffDelay(policy, 1_000_000, undefined, () => 0.5)).toBe(500);
  });

  it('never waits less than Retry-After, which may exceed maxDelayMs', () => {
    expect(backoffDelay(policy, 1, 5_000, () => 0.5)).toBe(5_000);
    expect(backoffDelay(policy, 4, 10, () => 0.5)).toBe(500);
    expect(backoffDelay(policy, 1, Number.NaN, () => 0.5)).toBe(100);
  });
});

describe('resolveBackoffPolicy', () => {
  it('fills what is left out from the defaults and brings values into range', () => {
    expect(resolveBackoffPolicy({ maxAttempts: 3 }, RETRY_DEFAULTS.delivery)).toEqual({
      maxAttempts: 3,
      initialDelayMs: 200,
      maxDelayMs: 30_000,
      multiplier: 2,
    });
    expect(resolveBackoffPolicy(undefined, RETRY_DEFAULTS.run)).toEqual({
      maxAttempts: 3,
      initialDelayMs: 1_000,
      maxDelayMs: 60_000,
      multiplier: 2,
    });
    expect(
      resolveBackoffPolicy(
        { maxAttempts: 0.5, initialDelayMs: -1, maxDelayMs: Number.NaN, multiplier: 0 },
        RETRY_DEFAULTS.request,
      ),
    ).toEqual({
      maxAttempts: 1,
      initialDelayMs: 0,
      maxDelayMs: 60_000,
      multiplier: 1,
    });
  });

  it('has one set of defaults, frozen', () => {
    expect(RETRY_DEFAULTS).toEqual({
      delivery: { maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 30_000, multiplier: 2 },
      run: { maxAttempts: 3, initialDelayMs: 1_000, maxDelayMs: 60_000, multiplier: 2 },
      request: { maxAttempts: 5, initialDelayMs: 1_000, maxDelayMs: 60_000, multiplier: 2 },
    });
    expect(Object.isFrozen(RETRY_DEFAULTS.delivery)).toBe(true);
  });
});

describe('backoffPolicySchema', () => {
  const schema = v.object({
    retry: backoffPolicySchema(RETRY_DEFAULTS.request, 'one API request', { maxAttempts: 20 }),
  });

  it('fills the policy from the defaults, and reads the deprecated baseDelayMs', () => {
    expect(v.parse(schema, {}).retry).toEqual(RETRY_DEFAULTS.request);
    expect(v.parse(schema, { retry: { maxAttempts: 3, multiplier: 3 } }).retry).toEqual({
      maxAttempts: 3,
      initialDelayMs: 1_000,
      maxDelayMs: 60_000,
      multiplier: 3,
    });
    expect(v.parse(schema, { retry: { baseDelayMs: 250 } }).retry).toEqual({
      ...RETRY_DEFAULTS.request,
      initialDelayMs: 250,
    });
    expect(
      v.parse(schema, { retry: { baseDelayMs: 250, initialDelayMs: 500 } }).retry.initialDelayMs,
    ).toBe(500);
  });

  it('refuses values out of range, naming the key', () => {
    const result = v.safeParse(schema, {
      retry: { maxAttempts: 21, initialDelayMs: -1, multiplier: 0.5 },
    });
    expect(result.issues?.map((i) => i.path?.map((p) => p.key).join('.'))).toEqual([
      'retry.maxAttempts',
      'retry.initialDelayMs',
      'retry.multiplier',
    ]);
  });
});

describe('retryWithBackoff options for plugins that wait out only some failures', () => {
  it('retries what shouldRetry says, with the remote wait it reports, through its own wait', async () => {
    const opts = options({ maxAttempts: 5, multiplier: 3 });
    const paused: number[] = [];
    const { operation, calls } = flaky([
      { status: 429, after: 300 },
      { status: 429 },
      { status: 503 },
    ]);
    const mapError = (e: unknown) =>
      new RetryableError(`status ${(e as { status: number }).status}`);
    const result = retryWithBackoff(operation, {
      ...opts,
      mapError,
      shouldRetry: (_error, raw) => (raw as { status: number }).status === 429,
      retryAfterMs: (_error, raw) => (raw as { after?: number }).after,
      wait: async (ms) => void paused.push(ms),
    });
    await expect(result).rejects.toThrow('status 503');
    expect(calls).toEqual([1, 2, 3]);
    // 300 asked for (above half of 100), then half of 100 * 3
    expect(paused).toEqual([300, 150]);
    expect(opts.clock.waits).toEqual([]);
  });

  it('fills a policy left out from the request defaults', async () => {
    const clock = fakeClock();
    const errors = Array.from({ length: 10 }, () => new RetryableError('x'));
    const { operation, calls } = flaky(errors);
    await expect(
      retryWithBackoff(operation, {
        clock,
        signal: new AbortController().signal,
        random: () => 0.5,
      }),
    ).rejects.toThrow('x');
    expect(calls).toEqual([1, 2, 3, 4, 5]);
    expect(clock.waits).toEqual([500, 1_000, 2_000, 4_000]);
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
    await expect(abortable(Promise.reject(new Error('ignored')), aborted.signal)).rejects.toThrow(
      'gone',
    );

    const later = new AbortController();
    let fail!: (e: Error) => void;
    const pending = abortable(new Promise((_, reject) => (fail = reject)), later.signal);
    later.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    fail(new Error('too late'));
  });
});
