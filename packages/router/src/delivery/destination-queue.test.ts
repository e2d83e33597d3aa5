import { describe, expect, it } from 'vitest';
import { resolveQueueSettings } from './destination-queue.js';

describe('resolveQueueSettings: batch size and wait', () => {
  it('uses the router defaults (500 records, 1000 ms) when neither side sets them', () => {
    const settings = resolveQueueSettings({}, { idempotent: true });
    expect(settings).toMatchObject({ maxRecords: 500, maxWaitMs: 1000 });
  });

  it("uses the destination's preferred batch where the policy sets none", () => {
    const settings = resolveQueueSettings(
      {},
      {
        idempotent: true,
        maxBatch: 10_000,
        preferredBatch: { maxRecords: 10_000, maxWaitMs: 250 },
      },
    );
    expect(settings).toMatchObject({ maxRecords: 10_000, maxWaitMs: 250 });
  });

  it("lets the policy override the preferred batch, and caps both at the destination's maxBatch", () => {
    const capabilities = {
      idempotent: true,
      maxBatch: 2_000,
      preferredBatch: { maxRecords: 5_000, maxWaitMs: 250 },
    };
    expect(resolveQueueSettings({}, capabilities)).toMatchObject({ maxRecords: 2_000 });
    expect(
      resolveQueueSettings({ batch: { maxRecords: 100, maxWaitMs: 0 } }, capabilities),
    ).toMatchObject({ maxRecords: 100, maxWaitMs: 0 });
  });

  it('ignores a preferred batch that is not a positive size or a non-negative wait', () => {
    const settings = resolveQueueSettings(
      {},
      { idempotent: true, preferredBatch: { maxRecords: 0, maxWaitMs: -5 } },
    );
    expect(settings).toMatchObject({ maxRecords: 500, maxWaitMs: 1000 });
  });
});
