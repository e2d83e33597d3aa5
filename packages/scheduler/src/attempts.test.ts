import { describe, expect, it } from 'vitest';
import { RunAbandonedError, RunTakeoverLimitError, takeoversSoFar } from './attempts.js';
import { queueFailureReason } from './abandoned-runs.js';
import { toRunError } from './run-worker.js';

describe('takeoversSoFar', () => {
  it("adds the take-overs of the run's earlier jobs to this job's re-claims", () => {
    expect(takeoversSoFar({}, 0)).toBe(0);
    expect(takeoversSoFar({ failures: 2 }, 1)).toBe(1);
    expect(takeoversSoFar({ failures: 1, takeovers: 2 }, 1)).toBe(3);
  });
});

describe('run errors of the take-over limit and of abandoned jobs', () => {
  it('say why the run failed', () => {
    expect(toRunError(new RunTakeoverLimitError(4, 3))).toEqual({
      name: 'RunTakeoverLimitError',
      code: 'SLUICE_ERR_FATAL',
      message:
        "the run's worker stopped or died before finishing it 4 time(s); it is not taken over again (maxTakeovers: 3), so a run that crashes its worker cannot loop forever",
    });
    expect(toRunError(new RunAbandonedError('job timed out', 2))).toEqual({
      name: 'RunAbandonedError',
      code: 'SLUICE_ERR_FATAL',
      message:
        'the job queue gave up on the run after 2 attempt(s) without an outcome (last: job timed out)',
    });
  });

  it('read the reason from any output pg-boss stores', () => {
    expect(queueFailureReason({ value: { message: 'job heartbeat timeout' } })).toBe(
      'job heartbeat timeout',
    );
    expect(queueFailureReason({ value: 'pg-boss shut down while active' })).toBe(
      'pg-boss shut down while active',
    );
    expect(
      queueFailureReason({ name: 'Error', message: 'connection terminated', stack: '…' }),
    ).toBe('connection terminated');
    expect(queueFailureReason(null)).toBe('unknown');
    expect(queueFailureReason({ value: 42 })).toBe('unknown');
  });
});
